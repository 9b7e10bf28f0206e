use cofferdam::prelude::*;

#[migration]
async fn purge(m: &mut Migration<'_>) -> Result<()> {
    m.exec(Query::delete().from_table("sessions")).await
}

fn main() {}
