use cofferdam::prelude::*;

#[migration]
async fn create(conn: &str) -> Result<()> {
    let _ = conn;
    Ok(())
}

fn main() {}
