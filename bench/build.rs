//! Writes `$OUT_DIR/generated.rs`: one `#[cofferdam::migration]` function per
//! revision, each after the previous one, running the statements of `src/sql.rs`.

use std::fmt::Write as _;

#[path = "src/sql.rs"]
mod sql;

fn main() {
    println!("cargo::rerun-if-changed=src/sql.rs");
    println!("cargo::rerun-if-changed=build.rs");
    let mut out = String::new();
    for i in 0..sql::REVISIONS {
        let id = sql::revision_id(i);
        let after = if i == 0 {
            String::new()
        } else {
            format!(", after = {}", sql::revision_id(i - 1))
        };
        writeln!(
            out,
            "#[cofferdam::migration(set = \"bench\"{after})]\n\
             async fn {id}(m: &mut cofferdam::Migration<'_>) -> cofferdam::Result<()> {{\n    \
             m.execute({table:?}).await?;\n    \
             m.execute({index:?}).await\n\
             }}\n",
            table = sql::create_table(i),
            index = sql::create_index(i),
        )
        .expect("writing to a String cannot fail");
    }
    let dir = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    let path = std::path::Path::new(&dir).join("generated.rs");
    std::fs::write(&path, out).expect("writing generated.rs");
    std::fs::write(std::path::Path::new(&dir).join("noop.rs"), noop_sets())
        .expect("writing noop.rs");
}

/// For the no-op bench: one set per size of trivial revisions (an empty
/// body), each after the previous one, and `set_name(size)`.
fn noop_sets() -> String {
    let mut out = String::new();
    for size in [100, 1000, 5000] {
        for i in 0..size {
            let after = if i == 0 {
                String::new()
            } else {
                format!(", after = noop{size}_{:04}", i - 1)
            };
            writeln!(
                out,
                "#[cofferdam::migration(set = \"noop_{size}\"{after})]\n\
                 async fn noop{size}_{i:04}(_m: &mut cofferdam::Migration<'_>) -> cofferdam::Result<()> {{ Ok(()) }}"
            )
            .expect("writing to a String cannot fail");
        }
    }
    out.push_str(
        "/// The set of `size` generated revisions.\n\
         pub fn set_name(size: usize) -> &'static str {\n    \
         match size { 100 => \"noop_100\", 1000 => \"noop_1000\", _ => \"noop_5000\" }\n}\n",
    );
    out
}
