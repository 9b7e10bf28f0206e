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
}
