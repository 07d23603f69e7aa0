pub mod community;
pub mod consult;
pub mod doctor;
pub mod event;
pub mod federation;
pub mod init;
pub mod resource;
pub mod status;
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

/// GETs one item and prints it as JSON or as `label: value` lines of `fields`.
pub async fn show(
    client: &Client,
    path: &str,
    json: bool,
    fields: &[(&str, &str)],
) -> anyhow::Result<()> {
    let v = client.get(path).await?;
    if json {
        output::json(&v);
    } else {
        output::block(&v, fields);
    }
    Ok(())
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
