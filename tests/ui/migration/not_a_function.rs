use cofferdam::prelude::*;

#[migration]
struct CreateUsers;

fn main() {}
