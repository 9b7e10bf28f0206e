use cofferdam::prelude::*;

#[migration]
async fn reset_phones(m: &mut Migration<'_>) -> Result<()> {
    m.execute("UPDATE users SET phone = NULL").await
}

fn main() {}
