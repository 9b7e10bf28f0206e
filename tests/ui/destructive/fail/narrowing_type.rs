use cofferdam::prelude::*;

#[migration]
async fn shorten_names(m: &mut Migration<'_>) -> Result<()> {
    m.exec(Table::alter().table("users").modify_column(ColumnDef::new("name").string_len(20))).await
}

fn main() {}
