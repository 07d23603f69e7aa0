//! The network (DESIGN §6): libp2p transport, admission, announcements and the scheduling of sync
//! sessions. What is said in a session is decided in `crate::session` and `crate::replica`.
//!
//! Two tasks, both owned by [`Network`] and stopped by [`Network::shutdown`]:
//! - the **swarm task** ([`swarm`]) owns the libp2p `Swarm`; everything else talks to it through
//!   [`NetHandle`], a cloneable client that sends [`Command`]s over a bounded channel and gets
//!   answers on oneshots;
//! - the **syncer task** ([`syncer`]) decides when to run a session with which peer and when to
//!   announce, from connection events, announcements and the replica's own events.

mod codec;
mod swarm;
mod syncer;
mod wire_count;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use copnet_protocol::NodeId;
use copnet_protocol::wire::{self, JoinRequest, JoinResponse, SyncRequest, SyncResponse};
use libp2p::{Multiaddr, PeerId};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::replica::Replica;
use crate::session::{Link, LinkError};

/// Capacity of the command channel into the swarm task.
pub const COMMAND_CHANNEL_CAPACITY: usize = 256;
/// Capacity of the event channel from the swarm task to the syncer.
pub const SYNCER_CHANNEL_CAPACITY: usize = 1024;
/// How long one request may take before it counts as failed.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Network settings (part of the node's `Config`).
#[derive(Debug, Clone)]
pub struct NetConfig {
    pub listen: Vec<Multiaddr>,
    pub mdns: bool,
}

/// The libp2p peer id of a node.
pub fn peer_id(node: &NodeId) -> PeerId {
    let pk = libp2p::identity::ed25519::PublicKey::try_from_bytes(node.as_bytes())
        .expect("a NodeId is a valid ed25519 key");
    PeerId::from_public_key(&libp2p::identity::PublicKey::from(pk))
}

/// The node behind a libp2p peer id, if it is an ed25519 peer.
pub fn node_id(peer: &PeerId) -> Option<NodeId> {
    NodeId::from_peer_id_bytes(&peer.to_bytes())
}

pub(crate) enum Command {
    Request {
        peer: PeerId,
        bytes: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>, LinkError>>,
    },
    Join {
        issuer: PeerId,
        addrs: Vec<Multiaddr>,
        bytes: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>, String>>,
    },
    Publish(Vec<u8>),
    /// Addresses learned from an invite or a peer.
    AddAddresses(PeerId, Vec<Multiaddr>),
    /// A peer misbehaved in a session this node ran.
    Offence(PeerId),
    /// The roster changed: re-derive the allow-list, subscriptions and dial targets.
    RosterChanged,
    Disconnect(PeerId),
    DisconnectAll,
    /// Block these peers (empty: none) until told otherwise; fault injection.
    Partition(Vec<PeerId>),
}

/// What `copnet status` shows about one peer.
#[derive(Debug, Clone, Serialize, Default)]
pub struct PeerStatus {
    pub connected: bool,
    /// Documents not yet known to be in sync with this peer.
    pub docs_behind: usize,
    /// Unix ms of the last session that ended with both sides' digests equal.
    pub last_in_sync_ms: Option<i64>,
}

/// Observability shared by the two tasks; short critical sections only.
#[derive(Debug, Default)]
pub struct NetState {
    pub listen: Vec<Multiaddr>,
    pub peers: BTreeMap<NodeId, PeerStatus>,
    pub traffic: Traffic,
    /// Bytes on the wire, counted by every TCP connection as it reads and writes.
    pub wire: Arc<wire_count::WireCounters>,
}

/// Traffic since the node started. `requests_*` and `bytes_*` are sync and join payloads alone;
/// `wire_bytes_*` are everything on TCP, read from [`NetState::wire`] when the traffic is asked
/// for (they stay zero in `NetState::traffic`).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Traffic {
    pub requests_sent: u64,
    pub requests_received: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Requests refused because their sender had too many in flight.
    pub refused_busy: u64,
    /// Invalid messages and floods, from any peer.
    pub offences: u64,
    /// Peers banned after repeated offences.
    pub bans: u64,
    /// Every byte of every TCP connection, below noise and yamux: handshakes, identify, ping,
    /// gossip and framing included (QUIC connections are not counted).
    pub wire_bytes_sent: u64,
    pub wire_bytes_received: u64,
}

/// A cloneable client of the swarm task.
#[derive(Clone)]
pub struct NetHandle {
    commands: mpsc::Sender<Command>,
    state: Arc<Mutex<NetState>>,
    local: PeerId,
}

impl NetHandle {
    async fn send(&self, cmd: Command) -> Result<(), LinkError> {
        self.commands
            .send(cmd)
            .await
            .map_err(|_| LinkError::Unreachable("the network is shutting down".into()))
    }

    pub async fn request(
        &self,
        peer: PeerId,
        req: &SyncRequest,
    ) -> Result<SyncResponse, LinkError> {
        let bytes = self.request_bytes(peer, wire::encode(req)).await?;
        let resp: SyncResponse =
            wire::decode(&bytes).map_err(|e| LinkError::Protocol(e.to_string()))?;
        match resp {
            SyncResponse::Refused { code, message } => Err(LinkError::Refused { code, message }),
            other => Ok(other),
        }
    }

    /// Sends `bytes` as a `/copnet/sync/1` request, whatever they are, and returns the answer's
    /// bytes. [`NetHandle::request`] is the typed form; this one lets tests speak out of protocol.
    pub async fn request_bytes(&self, peer: PeerId, bytes: Vec<u8>) -> Result<Vec<u8>, LinkError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Request { peer, bytes, reply }).await?;
        tokio::time::timeout(REQUEST_TIMEOUT, rx)
            .await
            .map_err(|_| LinkError::Unreachable("request timed out".into()))?
            .map_err(|_| LinkError::Unreachable("the network is shutting down".into()))?
    }

    /// Stops talking to `nodes` (disconnects them and refuses their connections) until
    /// [`NetHandle::heal`]: a network partition, for fault-injection tests.
    pub async fn partition(&self, nodes: Vec<NodeId>) {
        let _ = self
            .send(Command::Partition(nodes.iter().map(peer_id).collect()))
            .await;
    }

    /// Ends a partition started with [`NetHandle::partition`].
    pub async fn heal(&self) {
        let _ = self.send(Command::Partition(Vec::new())).await;
    }

    /// Asks the node at `addrs` to admit this node.
    pub async fn join(
        &self,
        issuer: PeerId,
        addrs: Vec<Multiaddr>,
        req: &JoinRequest,
    ) -> Result<JoinResponse, String> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Join {
            issuer,
            addrs,
            bytes: wire::encode(req),
            reply,
        })
        .await
        .map_err(|e| e.to_string())?;
        let bytes = tokio::time::timeout(REQUEST_TIMEOUT, rx)
            .await
            .map_err(|_| "the inviting node did not answer in time".to_string())?
            .map_err(|_| "the network is shutting down".to_string())??;
        wire::decode(&bytes).map_err(|e| format!("the inviting node answered out of protocol: {e}"))
    }

    /// Remembers where `node` can be reached (it must be in the roster to be kept).
    pub async fn add_addresses(&self, node: NodeId, addrs: Vec<String>) {
        let addrs: Vec<Multiaddr> = addrs.iter().filter_map(|a| a.parse().ok()).collect();
        if !addrs.is_empty() {
            let _ = self
                .send(Command::AddAddresses(peer_id(&node), addrs))
                .await;
        }
    }

    pub async fn roster_changed(&self) {
        let _ = self.send(Command::RosterChanged).await;
    }

    pub async fn disconnect_all(&self) {
        let _ = self.send(Command::DisconnectAll).await;
    }

    pub(crate) async fn disconnect(&self, peer: PeerId) {
        let _ = self.send(Command::Disconnect(peer)).await;
    }

    pub(crate) async fn offence(&self, peer: PeerId) {
        let _ = self.send(Command::Offence(peer)).await;
    }

    pub(crate) async fn publish(&self, bytes: Vec<u8>) {
        let _ = self.send(Command::Publish(bytes)).await;
    }

    /// Addresses this node listens on, each with `/p2p/<id>`, dialable ones first.
    pub fn dialable_addrs(&self) -> Vec<String> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut addrs: Vec<&Multiaddr> = state.listen.iter().collect();
        addrs.sort_by_key(|a| {
            a.to_string().contains("/127.0.0.1/") || a.to_string().contains("/::1/")
        });
        addrs
            .into_iter()
            .map(|a| format!("{a}/p2p/{}", self.local))
            .collect()
    }

    pub fn listen_addrs(&self) -> Vec<String> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.listen.iter().map(ToString::to_string).collect()
    }

    pub fn traffic(&self) -> Traffic {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (sent, received) = state.wire.totals();
        Traffic {
            wire_bytes_sent: sent,
            wire_bytes_received: received,
            ..state.traffic
        }
    }

    pub fn peer_status(&self) -> BTreeMap<NodeId, PeerStatus> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .peers
            .clone()
    }

    pub fn link(&self, peer: NodeId) -> NetLink {
        NetLink {
            handle: self.clone(),
            peer: peer_id(&peer),
        }
    }
}

/// A [`Link`] to one peer over the swarm.
pub struct NetLink {
    handle: NetHandle,
    peer: PeerId,
}

impl Link for NetLink {
    async fn request(&self, req: SyncRequest) -> Result<SyncResponse, LinkError> {
        self.handle.request(self.peer, &req).await
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("cannot build the network: {0}")]
    Build(String),
    #[error("cannot listen on {addr}: {why}")]
    Listen { addr: Multiaddr, why: String },
}

/// The running network.
pub struct Network {
    handle: NetHandle,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Network {
    pub async fn start(
        replica: Arc<Replica>,
        config: NetConfig,
        span: tracing::Span,
    ) -> Result<Self, NetError> {
        let (stop, stopped) = watch::channel(false);
        let (commands, command_rx) = mpsc::channel(COMMAND_CHANNEL_CAPACITY);
        let (syncer_tx, syncer_rx) = mpsc::channel(SYNCER_CHANNEL_CAPACITY);
        let state = Arc::new(Mutex::new(NetState::default()));
        let (listening_tx, mut listening) = watch::channel(0usize);
        let swarm_task = swarm::SwarmTask::new(
            replica.clone(),
            &config,
            command_rx,
            syncer_tx,
            state.clone(),
            listening_tx,
            stopped.clone(),
        )?;
        let handle = NetHandle {
            commands,
            state,
            local: swarm_task.local_peer_id(),
        };
        use tracing::Instrument;
        let mut tasks = vec![tokio::spawn(swarm_task.run().instrument(span.clone()))];
        let syncer = syncer::Syncer::new(replica, handle.clone(), syncer_rx, stopped);
        tasks.push(tokio::spawn(syncer.run().instrument(span)));
        // Wait until every listener is up, so its address can go into invites at once.
        let wanted = config.listen.len();
        let _ = tokio::time::timeout(
            Duration::from_secs(10),
            listening.wait_for(|n| *n >= wanted),
        )
        .await;
        Ok(Self {
            handle,
            stop,
            tasks,
        })
    }

    pub fn handle(&self) -> &NetHandle {
        &self.handle
    }

    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}
