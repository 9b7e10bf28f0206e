use cofferdam::prelude::*;

#[migration]
async fn swap(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE logs_v2 (id INT); DROP TABLE logs CASCADE").await
}

fn main() {}
