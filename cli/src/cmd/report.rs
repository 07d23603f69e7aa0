use std::path::Path;

use crate::client::{Client, query_value, segment};

/// The facilitator report: activity, contributions by organisation and level, consult response,
/// attendance and rhythm, resources, surveys, value-creation stories and who is missing. Counts
/// of people from 1 to 4 are shown as "<5", so the report can be shared.
#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    community: String,
    /// First day, YYYY-MM-DD [default: 90 days before --until]
    #[arg(long)]
    since: Option<String>,
    /// Last day, YYYY-MM-DD [default: today]
    #[arg(long)]
    until: Option<String>,
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// One row per figure: section,item,measure,value
    #[arg(long)]
    csv: bool,
}

pub async fn run(data: &Path, a: Args) -> anyhow::Result<()> {
    let client = Client::connect(data)?;
    let format = if a.json {
        "json"
    } else if a.csv {
        "csv"
    } else {
        "text"
    };
    let mut path = format!(
        "/communities/{}/report?format={format}",
        segment(&a.community)
    );
    for (k, v) in [("since", a.since), ("until", a.until)] {
        if let Some(v) = v {
            path.push_str(&format!("&{k}={}", query_value(&v)));
        }
    }
    let body = client.get_bytes(&path).await?;
    if a.json {
        let v: serde_json::Value = serde_json::from_slice(&body)?;
        crate::output::json(&v);
    } else {
        print!("{}", String::from_utf8_lossy(&body));
    }
    Ok(())
}
