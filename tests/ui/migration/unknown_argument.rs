use cofferdam::prelude::*;

#[migration(afterr = something)]
async fn create(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE t (id INTEGER)").await
}

fn main() {}
