use std::path::Path;

use serde_json::Value;

use crate::client::{Client, query_value};
use crate::output;

#[derive(clap::Args)]
pub struct Args {
    /// Words to look for; may be empty with filters
    #[arg(default_value = "")]
    query: String,
    /// community, resource, consult or event (repeat for several)
    #[arg(long = "kind")]
    kinds: Vec<String>,
    #[arg(long)]
    community: Option<String>,
    #[arg(long)]
    topic: Option<String>,
    /// From this date, YYYY-MM-DD
    #[arg(long)]
    from: Option<String>,
    /// Before this date, YYYY-MM-DD
    #[arg(long)]
    to: Option<String>,
    #[arg(long, default_value_t = 20)]
    limit: usize,
    #[arg(long)]
    json: bool,
}

pub async fn run(data: &Path, a: Args) -> anyhow::Result<()> {
    let client = Client::connect(data)?;
    let mut q = vec![format!("q={}", query_value(&a.query))];
    for k in &a.kinds {
        q.push(format!("kind={}", query_value(k)));
    }
    for (k, v) in [
        ("community", &a.community),
        ("topic", &a.topic),
        ("from", &a.from),
        ("to", &a.to),
    ] {
        if let Some(v) = v {
            q.push(format!("{k}={}", query_value(v)));
        }
    }
    q.push(format!("limit={}", a.limit));
    let v = client.get(&format!("/search?{}", q.join("&"))).await?;
    if a.json {
        output::json(&v);
        return Ok(());
    }
    let hits = v.get("hits").cloned().unwrap_or(Value::Array(vec![]));
    output::table(
        &hits,
        &[
            ("id", "ID"),
            ("kind", "KIND"),
            ("title", "TITLE"),
            ("snippet", "MATCH"),
        ],
    );
    Ok(())
}
