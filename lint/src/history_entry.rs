//! The hash of one history entry, shared by the macro (which computes it at
//! compile time for each revision, as "applied") and the runtime (which
//! computes it for rows read from the history table), so that a start-up
//! at head can compare sums without hashing anything at run time.

use sha2::{Digest, Sha256};

/// The first 128 bits of SHA-256 over `id`, `checksum` and `state`, each
/// followed by a NUL (none of them holds one). Stable across versions: the
/// digests stored in databases depend on it.
pub fn history_entry_hash(id: &str, checksum: &str, state: &str) -> u128 {
    let mut hash = Sha256::new();
    for part in [id, checksum, state] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    let bytes: [u8; 16] = hash.finalize()[..16]
        .try_into()
        .expect("SHA-256 is longer than 16 bytes");
    u128::from_be_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_counts_and_the_value_is_stable() {
        let a = history_entry_hash("a", "1", "applied");
        assert_ne!(a, history_entry_hash("a", "1", "failed"));
        assert_ne!(a, history_entry_hash("a", "2", "applied"));
        assert_ne!(a, history_entry_hash("a1", "", "applied"));
        // Stored in databases: must never change.
        assert_eq!(a, history_entry_hash("a", "1", "applied"));
    }
}
