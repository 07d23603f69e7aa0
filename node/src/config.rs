//! The node's configuration: one serde struct with documented defaults, stored as
//! `<data>/config.json` by `copnet init`. Command-line flags of `copnet up` override it for one run.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The HTTP API's default address: loopback only, port 7700.
pub const DEFAULT_HTTP: &str = "127.0.0.1:7700";

/// Where a node keeps its data when neither `--data` nor `COPNET_DATA` says otherwise:
/// `$XDG_DATA_HOME/copnet`, else `~/.local/share/copnet`, else `./copnet-data`.
pub fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("copnet");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(h).join(".local/share/copnet");
    }
    PathBuf::from("copnet-data")
}

/// Settings of one node.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The organisation this node speaks for, as other agencies will see it.
    pub org: String,
    /// The organisation's sector, e.g. "youth homelessness" (optional).
    #[serde(default)]
    pub sector: Option<String>,
    /// Address of the HTTP API and web UI. Default `127.0.0.1:7700`; port 0 picks a free port.
    #[serde(default = "default_http")]
    pub http: SocketAddr,
    /// libp2p listen addresses. Default: TCP and QUIC on port 7701 on all interfaces.
    #[serde(default = "default_listen")]
    pub listen: Vec<String>,
    /// Discover federation peers on the local network with mDNS. Off by default: it announces
    /// the node's presence to everyone on the LAN.
    #[serde(default)]
    pub mdns: bool,
}

/// Default libp2p listen addresses.
pub const DEFAULT_LISTEN: [&str; 2] = ["/ip4/0.0.0.0/tcp/7701", "/ip4/0.0.0.0/udp/7701/quic-v1"];

fn default_listen() -> Vec<String> {
    DEFAULT_LISTEN.iter().map(|s| s.to_string()).collect()
}

fn default_http() -> SocketAddr {
    DEFAULT_HTTP.parse().expect("valid default")
}

impl Config {
    pub fn new(org: String, sector: Option<String>) -> Self {
        Self {
            org,
            sector,
            http: default_http(),
            listen: default_listen(),
            mdns: false,
        }
    }

    pub fn path(data: &Path) -> PathBuf {
        data.join("config.json")
    }
}
