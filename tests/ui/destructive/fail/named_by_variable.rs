use cofferdam::prelude::*;

#[migration]
async fn drop_year(m: &mut Migration<'_>) -> Result<()> {
    let name = "audit_2019";
    m.exec(Table::drop().table(name)).await
}

fn main() {}
