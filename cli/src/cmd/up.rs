use std::net::SocketAddr;
use std::path::Path;

use copnet_node::{Node, NodeOptions};
use tracing_subscriber::EnvFilter;

#[derive(clap::Args)]
pub struct Args {
    /// Organisation name, used only if this starts a fresh data directory [default: host name]
    #[arg(long)]
    org: Option<String>,
    /// Organisation sector, used only if this starts a fresh data directory
    #[arg(long)]
    sector: Option<String>,
    /// Address for the HTTP API and web UI [default: from config.json, else 127.0.0.1:7700]
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,
    /// libp2p listen address (repeatable) [default: /ip4/0.0.0.0/tcp/7701 and /ip4/0.0.0.0/udp/7701/quic-v1]
    #[arg(long, value_name = "MULTIADDR")]
    listen: Vec<String>,
    /// Discover federation peers on the local network with mDNS
    #[arg(long)]
    mdns: bool,
}

pub async fn run(data: &Path, a: Args) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let node = Node::start(NodeOptions {
        data: data.to_owned(),
        org: a.org,
        sector: a.sector,
        http: a.http,
        listen: a.listen,
        mdns: a.mdns,
    })
    .await?;
    eprintln!(
        "copnet node {} is up. API: http://{}/api/v1  data: {}  (Ctrl-C to stop)",
        node.replica().node_id(),
        node.http_addr(),
        data.display()
    );
    node.run_until_signal().await;
    Ok(())
}
