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
    let path = std::path::Path::new(&dir).join("models.rs");
    std::fs::write(&path, models()).expect("writing models.rs");
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

/// The autogenerate benchmark's model: 200 `#[derive(Model)]` structs of 10
/// columns, 2 indexes and 1 foreign key each (to the previous table).
fn models() -> String {
    let mut out = String::new();
    for i in 0..200 {
        let parent = if i == 0 { 0 } else { i - 1 };
        writeln!(
            out,
            "#[allow(dead_code)]\n\
             #[derive(cofferdam::Model)]\n\
             #[model(table = \"m_{i}\", set = \"bench_models\", index(columns = [parent_id, created_at]))]\n\
             pub struct M{i} {{\n    \
             #[model(primary_key, auto_increment)] pub id: i64,\n    \
             #[model(references(m_{parent}.id, on_delete = cascade))] pub parent_id: Option<i64>,\n    \
             #[model(len = 100, unique)] pub name: String,\n    \
             pub email: Option<String>,\n    \
             pub score: f64,\n    \
             #[model(default = 0)] pub views: i32,\n    \
             #[model(default = true)] pub active: bool,\n    \
             pub body: Option<String>,\n    \
             #[model(default_sql = \"CURRENT_TIMESTAMP\")] pub created_at: NaiveDateTime,\n    \
             pub flag: i16,\n\
             }}\n"
        )
        .expect("writing to a String cannot fail");
    }
    out
}
