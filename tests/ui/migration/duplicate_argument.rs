use cofferdam::prelude::*;

#[migration(id = "one", id = "two")]
async fn create(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE t (id INTEGER)").await
}

fn main() {}
