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
    let client = Client::connect(data)?;
    let v = client.get("/status").await?;
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
    if v.get("federation").is_some_and(|f| !f.is_null()) {
        to_do(&client, &output::field(&v, "node_id")).await?;
    }
    Ok(())
}

/// What is waiting for this organisation: its consults due a follow-up ("what happened?") and
/// resources past their review date.
async fn to_do(client: &Client, node: &str) -> anyhow::Result<()> {
    let due = client.get("/consults?follow_up_due=true").await?;
    let ours = due
        .as_array()
        .map_or(0, |a| a.iter().filter(|c| c["creator"] == node).count());
    let overdue = client
        .get("/resources?overdue=true")
        .await?
        .as_array()
        .map_or(0, Vec::len);
    if ours > 0 {
        println!(
            "       to do: {ours} of your consults {} due a follow-up: what happened? (`copnet consult list --follow-up-due`, then `copnet consult outcome ID --text ...`)",
            if ours == 1 { "is" } else { "are" }
        );
    }
    if overdue > 0 {
        println!(
            "       to do: {overdue} resource{} past {} review date (`copnet resource list --overdue`)",
            if overdue == 1 { " is" } else { "s are" },
            if overdue == 1 { "its" } else { "their" }
        );
    }
    Ok(())
}
