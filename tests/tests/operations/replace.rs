//! Replaceable objects: views, functions and triggers whose `down` puts back
//! what its revision replaced.

use super::*;

// Replaceable objects: each `down` puts back what its revision replaced.
#[migration(set = "ops_view")]
async fn create_items(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, price INTEGER NOT NULL)")
        .await?;
    m.execute("INSERT INTO items (id, price) VALUES (1, 3), (2, 7), (3, 12)")
        .await
}

#[migration(set = "ops_view", after = create_items, down = unview_cheap)]
async fn view_cheap(m: &mut Migration<'_>) -> Result<()> {
    m.create_or_replace_view("cheap_items", "SELECT id FROM items WHERE price < 10")
        .await
}

async fn unview_cheap(m: &mut Migration<'_>) -> Result<()> {
    m.restore_view("cheap_items").await
}

#[migration(set = "ops_view", after = view_cheap, down = unview_cheaper)]
async fn view_cheaper(m: &mut Migration<'_>) -> Result<()> {
    m.create_or_replace_view("cheap_items", "SELECT id FROM items WHERE price < 5")
        .await
}

async fn unview_cheaper(m: &mut Migration<'_>) -> Result<()> {
    m.restore_view("cheap_items").await
}

async fn cheap(db: &TestDb) -> usize {
    db.query("SELECT id FROM cheap_items").await.len()
}

async fn views_are_replaced_and_restored(db: TestDb) {
    let migrator = Migrator::new("ops_view");
    migrator.up(&db.url).await.unwrap();
    assert_eq!(cheap(&db).await, 1, "the second definition");
    migrator
        .down(&db.url, cofferdam::Down::Steps(1))
        .await
        .unwrap();
    assert_eq!(cheap(&db).await, 2, "the first definition, restored");
    migrator
        .down(&db.url, cofferdam::Down::Steps(1))
        .await
        .unwrap();
    assert!(!db.tables().await.iter().any(|t| t == "cheap_items"));
    let views = match db.backend {
        Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'view'",
        Backend::Postgres => "SELECT viewname FROM pg_views WHERE schemaname = current_schema()",
        Backend::MySql => {
            "SELECT table_name FROM information_schema.views WHERE table_schema = DATABASE()"
        }
    };
    assert!(
        db.query(views).await.is_empty(),
        "no view before the first revision, none after its down"
    );
    migrator.up(&db.url).await.unwrap();
    assert_eq!(cheap(&db).await, 1);
}

backend_tests!(views_are_replaced_and_restored);

#[migration(set = "ops_function")]
async fn function_twice(m: &mut Migration<'_>) -> Result<()> {
    m.create_or_replace_function(
        "scale(integer)",
        "CREATE OR REPLACE FUNCTION scale(x integer) RETURNS integer LANGUAGE sql AS $$ SELECT x * 2 $$",
    )
    .await
}

#[migration(set = "ops_function", after = function_twice, down = unscale)]
async fn function_thrice(m: &mut Migration<'_>) -> Result<()> {
    m.create_or_replace_function(
        "scale(integer)",
        "CREATE OR REPLACE FUNCTION scale(x integer) RETURNS integer LANGUAGE sql AS $$ SELECT x * 3 $$",
    )
    .await
}

async fn unscale(m: &mut Migration<'_>) -> Result<()> {
    m.restore_function("scale(integer)").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_are_replaced_and_restored_postgres() {
    let Some(db) = fresh_database(Backend::Postgres).await else {
        return;
    };
    let migrator = Migrator::new("ops_function");
    migrator.up(&db.url).await.unwrap();
    assert_eq!(
        db.query("SELECT scale(2)").await[0][0].as_deref(),
        Some("6")
    );
    migrator
        .down(&db.url, cofferdam::Down::Steps(1))
        .await
        .unwrap();
    assert_eq!(
        db.query("SELECT scale(2)").await[0][0].as_deref(),
        Some("4"),
        "the old body is back"
    );
}

#[migration(set = "ops_trigger")]
async fn create_priced(m: &mut Migration<'_>) -> Result<()> {
    m.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, price INTEGER NOT NULL)")
        .await
}

/// A trigger adding `bonus` to the price of each new item, in the engine's syntax.
async fn bonus_trigger(m: &mut Migration<'_>, bonus: u32) -> Result<()> {
    let definition = match m.backend() {
        cofferdam::Backend::Postgres => {
            m.create_or_replace_function(
                &format!("add_bonus_{bonus}()"),
                &format!("CREATE OR REPLACE FUNCTION add_bonus_{bonus}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.price := NEW.price + {bonus}; RETURN NEW; END $$"),
            )
            .await?;
            format!(
                "CREATE TRIGGER bonus BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION add_bonus_{bonus}()"
            )
        }
        cofferdam::Backend::MySql => format!(
            "CREATE TRIGGER bonus BEFORE INSERT ON items FOR EACH ROW SET NEW.price = NEW.price + {bonus}"
        ),
        // Written over several lines, as people do: the kept definition
        // holds `;` and newlines.
        _ => format!(
            "CREATE TRIGGER bonus AFTER INSERT ON items\nBEGIN\n  UPDATE items SET price = price + {bonus} WHERE id = NEW.id;\nEND"
        ),
    };
    m.create_or_replace_trigger("items", "bonus", &definition)
        .await
}

#[migration(set = "ops_trigger", after = create_priced)]
async fn bonus_100(m: &mut Migration<'_>) -> Result<()> {
    bonus_trigger(m, 100).await
}

#[migration(set = "ops_trigger", after = bonus_100, down = unbonus_1000)]
async fn bonus_1000(m: &mut Migration<'_>) -> Result<()> {
    bonus_trigger(m, 1000).await
}

async fn unbonus_1000(m: &mut Migration<'_>) -> Result<()> {
    m.restore_trigger("items", "bonus").await
}

async fn triggers_are_replaced_and_restored(db: TestDb) {
    let migrator = Migrator::new("ops_trigger");
    migrator.up(&db.url).await.unwrap();
    db.execute("INSERT INTO items (id, price) VALUES (1, 1)")
        .await;
    migrator
        .down(&db.url, cofferdam::Down::Steps(1))
        .await
        .unwrap();
    db.execute("INSERT INTO items (id, price) VALUES (2, 1)")
        .await;
    let prices = db.query("SELECT price FROM items ORDER BY id").await;
    let prices: Vec<Option<&str>> = prices.iter().map(|row| row[0].as_deref()).collect();
    assert_eq!(
        prices,
        [Some("1001"), Some("101")],
        "the replaced trigger, then the restored one"
    );
}

backend_tests!(triggers_are_replaced_and_restored);
