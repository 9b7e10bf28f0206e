use cofferdam::prelude::*;

#[migration]
async fn drop_tenant(m: &mut Migration<'_>) -> Result<()> {
    let tenant = "acme";
    m.execute(&format!("DROP TABLE data_{tenant}")).await
}

fn main() {}
