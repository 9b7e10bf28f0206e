use cofferdam::prelude::*;

#[migration(lock_timeout = "2", statement_timeout = 30, retries = "3", phase = later)]
async fn create(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)").await
}

fn main() {}
