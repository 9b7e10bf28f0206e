use cofferdam::prelude::*;

#[migration]
#[destructive(reviewd)]
async fn drop_old(m: &mut Migration<'_>) -> Result<()> {
    m.execute("DROP TABLE old").await
}

#[migration]
#[destructive(reviewed, reason = "")]
async fn drop_older(m: &mut Migration<'_>) -> Result<()> {
    m.execute("DROP TABLE older").await
}

fn main() {}
