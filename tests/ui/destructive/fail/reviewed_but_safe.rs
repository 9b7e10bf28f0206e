use cofferdam::prelude::*;

#[migration]
#[destructive(reviewed, reason = "copied from the previous migration")]
async fn add_index(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE INDEX users_email ON users (email)").await
}

fn main() {}
