use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use copnet_node::config::Config;
use copnet_node::datadir::DataDir;

#[derive(clap::Args)]
pub struct Args {
    /// Your organisation's name, as other agencies will see it
    #[arg(long)]
    org: String,
    /// Your organisation's sector, e.g. "youth homelessness"
    #[arg(long)]
    sector: Option<String>,
    /// Address for the HTTP API and web UI
    #[arg(long, value_name = "ADDR", default_value = copnet_node::config::DEFAULT_HTTP)]
    http: SocketAddr,
}

pub fn run(data: &Path, a: Args) -> anyhow::Result<()> {
    let mut config = Config::new(
        a.org.trim().to_owned(),
        a.sector.map(|s| s.trim().to_owned()),
    );
    config.http = a.http;
    let key = DataDir::new(data)
        .init(&config)
        .with_context(|| format!("cannot initialise {}", data.display()))?;
    println!("{}", key.node_id());
    Ok(())
}
