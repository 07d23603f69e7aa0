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
    let listen = output::field(&v, "listen");
    if !listen.is_empty() {
        println!("   listening: {listen}");
    }
    let peers = v.get("peers").cloned().unwrap_or_default();
    println!("       peers: {}", peers.as_array().map_or(0, Vec::len));
    if peers.as_array().is_some_and(|p| !p.is_empty()) {
        output::table(
            &peers,
            &[
                ("org", "ORGANISATION"),
                ("role", "ROLE"),
                ("connected", "CONNECTED"),
                ("docs_behind", "DOCS BEHIND"),
                ("node_id", "NODE"),
            ],
        );
    }
    Ok(())
}
