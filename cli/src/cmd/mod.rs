pub mod account;
pub mod community;
pub mod consult;
pub mod demo;
pub mod doctor;
pub mod event;
pub mod export;
pub mod federation;
pub mod init;
pub mod report;
pub mod resource;
pub mod search;
pub mod status;
pub mod story;
pub mod survey;
pub mod up;

use crate::client::Client;
use crate::output;

/// GETs a listing and prints it as JSON or as a table of `columns`.
pub async fn list(
    client: &Client,
    path: &str,
    json: bool,
    columns: &[(&str, &str)],
) -> anyhow::Result<()> {
    let v = client.get(path).await?;
    if json {
        output::json(&v);
    } else {
        output::table(&v, columns);
    }
    Ok(())
}

/// Puts each flag that was given into a request body. A flag not given is left out, so the node
/// keeps (or defaults) that field.
pub fn put_given<const N: usize>(
    m: &mut serde_json::Map<String, serde_json::Value>,
    fields: [(&str, Option<String>); N],
) {
    for (k, v) in fields {
        if let Some(v) = v {
            m.insert(k.into(), serde_json::Value::String(v));
        }
    }
}

/// Prints the `id` of a created item: the contract scripts rely on.
pub fn print_id(v: &serde_json::Value) -> anyhow::Result<()> {
    let id = v
        .get("id")
        .and_then(|i| i.as_str())
        .ok_or_else(|| anyhow::anyhow!("the node's answer has no id"))?;
    println!("{id}");
    Ok(())
}

/// Prints a document's history: who changed which fields, when.
pub async fn history(client: &Client, path: &str, json: bool) -> anyhow::Result<()> {
    let v = client.get(path).await?;
    if json {
        output::json(&v);
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = v
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut h| {
            let who = h["author_org"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| output::field(&h, "author"));
            h["who"] = serde_json::json!(who);
            h
        })
        .collect();
    output::table(
        &serde_json::Value::Array(rows),
        &[("at", "WHEN"), ("who", "WHO"), ("fields", "CHANGED")],
    );
    Ok(())
}
