use cofferdam::prelude::*;

#[migration]
async fn create_users(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE users (id INTEGER)").await
}

#[migration(after = create_user)]
async fn add_email(m: &mut Migration<'_>) -> Result<()> {
    m.execute("ALTER TABLE users ADD COLUMN email TEXT").await
}

fn main() {}
