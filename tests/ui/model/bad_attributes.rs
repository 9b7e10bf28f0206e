use cofferdam::Model;

#[derive(Model)]
#[model(table = "articles", index(columns = [author, title]))]
struct Article {
    #[model(primary_key, lenght = 20)]
    id: i64,
    #[model(default = now())]
    created_at: String,
    #[model(references(authors))]
    author_id: i64,
    title: String,
}

fn main() {}
