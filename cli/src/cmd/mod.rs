pub mod community;
pub mod consult;
pub mod doctor;
pub mod event;
pub mod federation;
pub mod init;
pub mod resource;
pub mod status;
pub mod up;

/// Prints the `id` of a created item: the contract scripts rely on.
pub fn print_id(v: &serde_json::Value) -> anyhow::Result<()> {
    let id = v
        .get("id")
        .and_then(|i| i.as_str())
        .ok_or_else(|| anyhow::anyhow!("the node's answer has no id"))?;
    println!("{id}");
    Ok(())
}
