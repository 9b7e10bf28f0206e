use cofferdam::testing::TestDatabase;

#[cofferdam::test(engines = [sqlite, oracle], timeout = 5)]
fn not_async(db: TestDatabase) {
    drop(db);
}

fn main() {}
