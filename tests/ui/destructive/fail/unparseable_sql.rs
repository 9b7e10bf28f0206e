use cofferdam::prelude::*;

#[migration]
async fn plpgsql(m: &mut Migration<'_>) -> Result<()> {
    m.execute("DO $$ BEGIN EXECUTE 'DROP TABLE x'; END $$").await
}

fn main() {}
