use cofferdam::prelude::*;

#[destructive(reviewed)]
async fn drop_old(m: &mut Migration<'_>) -> Result<()> {
    m.execute("DROP TABLE old").await
}

fn main() {}
