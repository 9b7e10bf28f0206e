use cofferdam::prelude::*;

#[migration]
async fn create<T: Send>(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE t (id INTEGER)").await
}

fn main() {}
