use cofferdam::prelude::*;

#[migration]
fn create(m: &mut Migration<'_>) -> Result<()> {
    let _ = m;
    Ok(())
}

fn main() {}
