use cofferdam::prelude::*;

#[migration(after = "create_users")]
async fn add_email(m: &mut Migration<'_>) -> Result<()> {
    m.execute("ALTER TABLE users ADD COLUMN email TEXT").await
}

fn main() {}
