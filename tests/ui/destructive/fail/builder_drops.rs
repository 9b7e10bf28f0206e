use cofferdam::prelude::*;

#[migration]
async fn cleanup(m: &mut Migration<'_>) -> Result<()> {
    m.exec(Table::drop().table("articles")).await?;
    m.exec(Table::alter().table("users").drop_column("email")).await?;
    m.exec(Table::truncate().table("sessions")).await
}

fn main() {}
