use std::path::Path;

use crate::client::Client;
use crate::output;

#[derive(clap::Args)]
pub struct Args {
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(data: &Path, a: Args) -> anyhow::Result<()> {
    let v = Client::connect(data)?.get("/status").await?;
    if a.json {
        output::json(&v);
        return Ok(());
    }
    output::block(
        &v,
        &[
            ("node_id", "node"),
            ("org", "organisation"),
            ("sector", "sector"),
            ("http", "api"),
            ("docs", "documents"),
        ],
    );
    match v.get("federation").filter(|f| !f.is_null()) {
        Some(f) => println!(
            "  federation: {} ({}), this node is {}",
            output::field(f, "name"),
            output::field(f, "id"),
            output::field(f, "role")
        ),
        None => {
            println!("  federation: none yet (create one with `copnet federation create NAME`)")
        }
    }
    let peers = v
        .get("peers")
        .and_then(|p| p.as_array())
        .map_or(0, Vec::len);
    println!("       peers: {peers}");
    Ok(())
}
