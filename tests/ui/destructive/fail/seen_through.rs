use cofferdam::prelude::*;

#[migration]
async fn cleanup(m: &mut Migration<'_>) -> Result<()> {
    let mut purge = Query::delete();
    purge.from_table("sessions");
    m.exec(&purge).await?;
    m.execute(include_str!("drop_old.sql")).await
}

fn main() {}
