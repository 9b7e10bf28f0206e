use cofferdam::Model;

struct Money;

#[derive(Model)]
#[model(table = "prices")]
struct Price {
    #[model(primary_key)]
    id: i64,
    amount: Money,
}

fn main() {}
