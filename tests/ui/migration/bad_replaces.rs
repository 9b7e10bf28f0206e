use cofferdam::prelude::*;

#[migration]
async fn create_users(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE users (id INTEGER)").await
}

#[migration(replaces = [])]
async fn squash_nothing(_m: &mut Migration<'_>) -> Result<()> {
    Ok(())
}

#[migration(replaces = [create_users, "create_users"])]
async fn squash_twice(_m: &mut Migration<'_>) -> Result<()> {
    Ok(())
}

#[migration(after = create_users, replaces = [create_users])]
async fn squash_own_parent(_m: &mut Migration<'_>) -> Result<()> {
    Ok(())
}

fn main() {}
