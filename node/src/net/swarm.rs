//! The task that owns the libp2p `Swarm`: transport, admission, request routing, announcements,
//! dialling with backoff and the persisted address book.
//!
//! Admission is derived from the roster (DESIGN §6). Any peer may connect and speak identify, ping
//! and `/copnet/join/1`; a peer that is not an active roster node is refused on `/copnet/sync/1`,
//! ignored on gossip, and disconnected once [`JOIN_GRACE`] has passed. Peers that keep sending
//! invalid content are banned for [`BAN_DURATION`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use copnet_protocol::wire::{
    self, Announce, JOIN_PROTOCOL, JoinRefusal, JoinRequest, JoinResponse, MAX_ANNOUNCE_BYTES,
    MAX_MESSAGE_BYTES, RefusalCode, SYNC_PROTOCOL, SyncRequest, SyncResponse,
};
use futures::StreamExt;
use libp2p::core::ConnectedPoint;
use libp2p::core::muxing::StreamMuxerBox;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance};
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm, Transport, allow_block_list, identify, mdns, noise,
    ping, tcp, yamux,
};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

use super::codec::FrameCodec;
use super::syncer::SyncerEvent;
use super::wire_count::Counted;
use super::{Command, NetConfig, NetError, NetState, node_id, peer_id};
use crate::replica::Replica;
use crate::session::{self, LinkError};

/// How long a peer outside the roster may stay connected (to join).
pub const JOIN_GRACE: Duration = Duration::from_secs(60);
/// How long a departed node is kept connected to be told so.
pub const FAREWELL_TIMEOUT: Duration = Duration::from_secs(5);
/// Offences before a peer is banned.
pub const MAX_OFFENCES: u32 = 3;
pub const BAN_DURATION: Duration = Duration::from_secs(600);
/// Inbound requests answered concurrently; beyond this a peer is told `Busy`.
pub const MAX_INBOUND_IN_FLIGHT: usize = 32;
/// Inbound requests one peer may have in flight. An honest node runs one session with a peer at a
/// time and each session asks one thing at a time, so more than this is a flood: refused `Busy`,
/// and an offence.
pub const MAX_INBOUND_PER_PEER: usize = 4;
/// Join requests answered concurrently, from everyone.
pub const MAX_JOINS_IN_FLIGHT: usize = 4;
/// Join requests one connection may make; an honest joiner needs one.
pub const MAX_JOIN_ATTEMPTS: u32 = 3;
/// Capacity of the channel on which responder tasks hand answers back.
const RESPONSE_CHANNEL_CAPACITY: usize = 64;
const MIN_BACKOFF: Duration = Duration::from_millis(500);
/// Most peers whose addresses are kept.
const MAX_ADDRESS_BOOK: usize = 4096;
const MAX_BACKOFF: Duration = Duration::from_secs(60);

#[derive(NetworkBehaviour)]
pub(super) struct Behaviour {
    blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    sync: request_response::Behaviour<FrameCodec>,
    join: request_response::Behaviour<FrameCodec>,
    gossip: gossipsub::Behaviour,
    mdns: Toggle<mdns::tokio::Behaviour>,
}

enum Answer {
    Sync {
        peer: PeerId,
        channel: ResponseChannel<Vec<u8>>,
        bytes: Vec<u8>,
        offence: bool,
    },
    Join {
        peer: PeerId,
        channel: ResponseChannel<Vec<u8>>,
        bytes: Vec<u8>,
        admitted: bool,
    },
}

struct Conn {
    since: Instant,
    /// Sync requests of this peer being answered.
    in_flight: usize,
    join_attempts: u32,
}

impl Conn {
    fn new() -> Self {
        Self {
            since: Instant::now(),
            in_flight: 0,
            join_attempts: 0,
        }
    }
}

struct Backoff {
    next: Instant,
    delay: Duration,
}

pub(super) struct SwarmTask {
    swarm: Swarm<Behaviour>,
    replica: Arc<Replica>,
    commands: mpsc::Receiver<Command>,
    syncer: mpsc::Sender<SyncerEvent>,
    state: Arc<Mutex<NetState>>,
    listening: watch::Sender<usize>,
    stopped: watch::Receiver<bool>,
    answers_tx: mpsc::Sender<Answer>,
    answers: mpsc::Receiver<Answer>,
    inbound: Arc<Semaphore>,
    joins_in_flight: Arc<Semaphore>,
    requests: HashMap<OutboundRequestId, oneshot::Sender<Result<Vec<u8>, LinkError>>>,
    joins: HashMap<OutboundRequestId, oneshot::Sender<Result<Vec<u8>, String>>>,
    connected: HashMap<PeerId, Conn>,
    backoff: HashMap<PeerId, Backoff>,
    banned: HashMap<PeerId, Instant>,
    /// Offences per peer, until its ban (if any) is lifted.
    offences: HashMap<PeerId, u32>,
    /// Peers this node will not talk to while a (test-injected) partition lasts.
    partitioned: std::collections::HashSet<PeerId>,
    to_block: Vec<PeerId>,
    /// Departed nodes being told they are out, and when to disconnect them regardless.
    farewells: HashMap<PeerId, Instant>,
    addresses: HashMap<PeerId, Vec<Multiaddr>>,
    topic: Option<IdentTopic>,
}

impl SwarmTask {
    pub(super) fn new(
        replica: Arc<Replica>,
        config: &NetConfig,
        commands: mpsc::Receiver<Command>,
        syncer: mpsc::Sender<SyncerEvent>,
        state: Arc<Mutex<NetState>>,
        listening: watch::Sender<usize>,
        stopped: watch::Receiver<bool>,
    ) -> Result<Self, NetError> {
        let build = |e: &dyn std::fmt::Display| NetError::Build(e.to_string());
        let keypair = libp2p::identity::Keypair::ed25519_from_bytes(replica.key().secret_bytes())
            .map_err(|e| build(&e))?;
        let mdns_on = config.mdns;
        let wire = state.lock().unwrap_or_else(|e| e.into_inner()).wire.clone();
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_quic()
            // TCP as `with_tcp` builds it, with every byte of the connection counted.
            .with_other_transport(
                |key| -> Result<_, Box<dyn std::error::Error + Send + Sync>> {
                    Ok(
                        tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
                            .map(move |stream, _| Counted::new(stream, wire.clone()))
                            .upgrade(libp2p::core::upgrade::Version::V1Lazy)
                            .authenticate(noise::Config::new(key)?)
                            .multiplex(yamux::Config::default())
                            .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer))),
                    )
                },
            )
            .map_err(|e| build(&e))?
            .with_behaviour(|key| {
                let gossip_config = gossipsub::ConfigBuilder::default()
                    .max_transmit_size(MAX_ANNOUNCE_BYTES)
                    .validation_mode(gossipsub::ValidationMode::Strict)
                    .validate_messages()
                    .heartbeat_interval(Duration::from_secs(1))
                    .build()
                    .map_err(|e| e.to_string())?;
                let gossip = gossipsub::Behaviour::new(
                    gossipsub::MessageAuthenticity::Signed(key.clone()),
                    gossip_config,
                )?;
                let rr = |proto: &'static str, codec: FrameCodec| {
                    request_response::Behaviour::with_codec(
                        codec,
                        [(StreamProtocol::new(proto), ProtocolSupport::Full)],
                        request_response::Config::default()
                            .with_request_timeout(super::REQUEST_TIMEOUT)
                            .with_max_concurrent_streams(MAX_INBOUND_IN_FLIGHT * 2),
                    )
                };
                let mdns = if mdns_on {
                    Some(mdns::tokio::Behaviour::new(
                        mdns::Config::default(),
                        key.public().to_peer_id(),
                    )?)
                } else {
                    None
                };
                Ok(Behaviour {
                    blocked: Default::default(),
                    identify: identify::Behaviour::new(
                        identify::Config::new("/copnet/1".into(), key.public())
                            .with_agent_version(format!("copnet/{}", env!("CARGO_PKG_VERSION"))),
                    ),
                    ping: ping::Behaviour::default(),
                    sync: rr(SYNC_PROTOCOL, FrameCodec::sync()),
                    join: rr(JOIN_PROTOCOL, FrameCodec::join()),
                    gossip,
                    mdns: Toggle::from(mdns),
                })
            })
            .map_err(|e| build(&e))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
            .build();
        for addr in &config.listen {
            swarm
                .listen_on(addr.clone())
                .map_err(|e| NetError::Listen {
                    addr: addr.clone(),
                    why: e.to_string(),
                })?;
        }
        let mut addresses: HashMap<PeerId, Vec<Multiaddr>> = HashMap::new();
        for (node, addrs) in replica.store().address_book().unwrap_or_default() {
            let parsed: Vec<Multiaddr> = addrs.iter().filter_map(|a| a.parse().ok()).collect();
            addresses.insert(peer_id(&node), parsed);
        }
        let (answers_tx, answers) = mpsc::channel(RESPONSE_CHANNEL_CAPACITY);
        let mut task = Self {
            swarm,
            replica,
            commands,
            syncer,
            state,
            listening,
            stopped,
            answers_tx,
            answers,
            inbound: Arc::new(Semaphore::new(MAX_INBOUND_IN_FLIGHT)),
            joins_in_flight: Arc::new(Semaphore::new(MAX_JOINS_IN_FLIGHT)),
            requests: HashMap::new(),
            joins: HashMap::new(),
            connected: HashMap::new(),
            backoff: HashMap::new(),
            banned: HashMap::new(),
            offences: HashMap::new(),
            partitioned: Default::default(),
            to_block: Vec::new(),
            farewells: HashMap::new(),
            addresses,
            topic: None,
        };
        task.on_roster_changed();
        Ok(task)
    }

    pub(super) fn local_peer_id(&self) -> PeerId {
        *self.swarm.local_peer_id()
    }

    pub(super) async fn run(mut self) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut roster_events = self.replica.subscribe();
        let mut stopped = self.stopped.clone();
        loop {
            tokio::select! {
                changed = stopped.changed() => if changed.is_err() || *stopped.borrow() { break },
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                Some(cmd) = self.commands.recv() => self.on_command(cmd),
                Some(answer) = self.answers.recv() => self.on_answer(answer),
                event = roster_events.recv() => {
                    if matches!(event, Ok(crate::replica::ReplicaEvent::RosterChanged)
                        | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)))
                    {
                        self.on_roster_changed();
                    }
                }
                _ = tick.tick() => self.on_tick(),
            }
        }
        tracing::debug!("swarm task stopped");
    }

    fn publish_state(&self) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for (node, status) in st.peers.iter_mut() {
            status.connected = self.connected.contains_key(&peer_id(node));
        }
    }

    fn is_active(&self, peer: &PeerId) -> bool {
        node_id(peer).is_some_and(|n| self.replica.peer_role(&n).is_some())
    }

    /// Re-derives everything that depends on the roster: topic subscription, who stays
    /// connected, who is dialled.
    fn on_roster_changed(&mut self) {
        let Some(fed) = self.replica.federation_id() else {
            return;
        };
        let own_active = self.replica.own_role().is_some();
        if own_active && self.topic.is_none() {
            let topic = IdentTopic::new(wire::announce_topic(&fed));
            if let Err(e) = self.swarm.behaviour_mut().gossip.subscribe(&topic) {
                tracing::warn!(error = %e, "cannot subscribe to the federation topic");
            }
            self.topic = Some(topic);
        }
        if !own_active && let Some(topic) = self.topic.take() {
            self.swarm.behaviour_mut().gossip.unsubscribe(&topic);
        }
        // Nodes that left or were removed: tell them (deliver the roster ops that say so), then
        // disconnect. When *we* are the one who left, `join::leave` delivers our departure and then
        // disconnects; when we were removed, the remover disconnects us after its farewell.
        // Cutting connections here would race that delivery.
        if own_active {
            let departed: Vec<PeerId> = self
                .connected
                .keys()
                .filter(|p| {
                    let was_known = node_id(p).is_some_and(|n| {
                        self.replica
                            .roster_state()
                            .is_some_and(|s| s.member(&n).is_some())
                    });
                    was_known && !self.is_active(p) && !self.farewells.contains_key(p)
                })
                .copied()
                .collect();
            let now = Instant::now();
            for p in departed {
                tracing::info!(peer = %p, "a node left the federation; telling it, then disconnecting");
                self.farewells.insert(p, now + FAREWELL_TIMEOUT);
                let _ = self.syncer.try_send(SyncerEvent::Farewell(p));
            }
        }
        // Nodes just admitted: their addresses, learned while they were joining, become part of
        // the persisted book.
        let known: Vec<PeerId> = self.addresses.keys().copied().collect();
        for p in known {
            self.persist_addresses(&p);
        }
        // Status rows for every other active node.
        let state = self.replica.roster_state();
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.peers
            .retain(|n, _| state.as_ref().is_some_and(|s| s.is_active(n)));
        if let Some(s) = state.as_ref().filter(|_| own_active) {
            for m in s.active() {
                if m.node != self.replica.node_id() {
                    st.peers.entry(m.node).or_default();
                }
            }
        }
        drop(st);
        self.publish_state();
    }

    fn on_tick(&mut self) {
        let now = Instant::now();
        for p in std::mem::take(&mut self.to_block) {
            self.swarm.behaviour_mut().blocked.block_peer(p);
        }
        // Lift expired bans.
        let expired: Vec<PeerId> = self
            .banned
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(p, _)| *p)
            .collect();
        for p in expired {
            self.banned.remove(&p);
            self.offences.remove(&p);
            if !self.partitioned.contains(&p) {
                self.swarm.behaviour_mut().blocked.unblock_peer(p);
            }
        }
        // Departed nodes had FAREWELL_TIMEOUT to hear the news.
        let done: Vec<PeerId> = self
            .farewells
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(p, _)| *p)
            .collect();
        for p in done {
            self.farewells.remove(&p);
            let _ = self.swarm.disconnect_peer_id(p);
        }
        // Outsiders get JOIN_GRACE to join.
        let stale: Vec<PeerId> = self
            .connected
            .iter()
            .filter(|(p, c)| {
                !self.is_active(p)
                    && !self.farewells.contains_key(p)
                    && c.since.elapsed() > JOIN_GRACE
            })
            .map(|(p, _)| *p)
            .collect();
        for p in stale {
            let _ = self.swarm.disconnect_peer_id(p);
        }
        // Keep connections to every active roster node, with backoff.
        if self.replica.own_role().is_none() {
            return;
        }
        let Some(state) = self.replica.roster_state() else {
            return;
        };
        let me = self.replica.node_id();
        for m in state.active() {
            if m.node == me {
                continue;
            }
            let p = peer_id(&m.node);
            if self.connected.contains_key(&p) || self.swarm.is_connected(&p) {
                continue;
            }
            let b = self.backoff.entry(p).or_insert(Backoff {
                next: now,
                delay: MIN_BACKOFF,
            });
            if b.next > now {
                continue;
            }
            b.next = now + b.delay;
            b.delay = (b.delay * 2).min(MAX_BACKOFF);
            let addrs = self.addresses.get(&p).cloned().unwrap_or_default();
            if addrs.is_empty() && !self.swarm.behaviour().mdns.is_enabled() {
                continue;
            }
            let opts = DialOpts::peer_id(p).addresses(addrs).build();
            if let Err(e) = self.swarm.dial(opts) {
                tracing::debug!(peer = %p, error = %e, "dial failed");
            }
        }
    }

    /// Keeps `addrs` for `peer` in memory (any peer: a joiner's addresses become useful the moment
    /// it is admitted) and in the persisted address book if it is in the roster.
    fn remember_addresses(&mut self, peer: PeerId, addrs: Vec<Multiaddr>) {
        let mut addrs: Vec<Multiaddr> = addrs
            .into_iter()
            .filter(|a| {
                !a.iter().any(|p| {
                    matches!(p, libp2p::multiaddr::Protocol::Ip4(ip) if ip.is_unspecified())
                        || matches!(p, libp2p::multiaddr::Protocol::Ip6(ip) if ip.is_unspecified())
                })
            })
            .collect();
        addrs.sort();
        addrs.dedup();
        addrs.truncate(copnet_protocol::wire::MAX_ADDRESSES_PER_PEER);
        if addrs.is_empty() || self.addresses.get(&peer) == Some(&addrs) {
            return;
        }
        if !self.addresses.contains_key(&peer) && self.addresses.len() >= MAX_ADDRESS_BOOK {
            // Forget peers outside the roster first.
            let outsiders: Vec<PeerId> = self
                .addresses
                .keys()
                .filter(|p| !self.is_active(p))
                .copied()
                .collect();
            for p in outsiders {
                self.addresses.remove(&p);
            }
        }
        self.addresses.insert(peer, addrs);
        self.persist_addresses(&peer);
    }

    fn persist_addresses(&self, peer: &PeerId) {
        let Some(node) = node_id(peer).filter(|n| self.replica.peer_role(n).is_some()) else {
            return;
        };
        let Some(addrs) = self.addresses.get(peer) else {
            return;
        };
        let text: Vec<String> = addrs.iter().map(ToString::to_string).collect();
        let mut batch = crate::store::WriteBatch::new();
        batch.put_addresses(&node, &text);
        // The address book is a hint; losing its last update to a crash is harmless, so this
        // does not wait for a flush.
        if let Err(e) = self.replica.store().apply(batch) {
            tracing::warn!(error = %e, "cannot store addresses");
        }
    }

    fn offence(&mut self, peer: PeerId) {
        // Counted per peer, not per connection: reconnecting does not wipe the slate. Many
        // identities offending once each cannot grow the table without bound.
        if self.offences.len() >= MAX_ADDRESS_BOOK && !self.offences.contains_key(&peer) {
            let banned = &self.banned;
            self.offences.retain(|p, _| banned.contains_key(p));
        }
        let count = self.offences.entry(peer).or_insert(0);
        *count += 1;
        let offences = *count;
        tracing::warn!(%peer, offences, "peer sent invalid data or flooded");
        self.count(|t| t.offences += 1);
        if offences >= MAX_OFFENCES && !self.banned.contains_key(&peer) {
            self.ban(peer);
        }
    }

    fn ban(&mut self, peer: PeerId) {
        // Blocked on the next tick, so the refusal just sent still reaches it.
        tracing::warn!(%peer, "banning peer after repeated offences");
        self.count(|t| t.bans += 1);
        self.banned.insert(peer, Instant::now() + BAN_DURATION);
        self.to_block.push(peer);
    }

    /// Starts (non-empty `peers`) or ends (empty) a partition.
    fn partition(&mut self, peers: Vec<PeerId>) {
        let old = std::mem::take(&mut self.partitioned);
        for p in old {
            if !self.banned.contains_key(&p) {
                self.swarm.behaviour_mut().blocked.unblock_peer(p);
            }
            // Reconnect at once, not after the backoff the partition built up.
            self.backoff.remove(&p);
        }
        for p in peers {
            tracing::warn!(peer = %p, "partitioned from peer (fault injection)");
            self.swarm.behaviour_mut().blocked.block_peer(p);
            self.partitioned.insert(p);
        }
    }

    fn count(&self, f: impl FnOnce(&mut super::Traffic)) {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()).traffic);
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Request { peer, bytes, reply } => {
                let n = bytes.len() as u64;
                self.count(|t| {
                    t.requests_sent += 1;
                    t.bytes_sent += n;
                });
                let id = self.swarm.behaviour_mut().sync.send_request(&peer, bytes);
                self.requests.insert(id, reply);
            }
            Command::Join {
                issuer,
                addrs,
                bytes,
                reply,
            } => {
                for a in addrs {
                    self.swarm.add_peer_address(issuer, a);
                }
                let id = self.swarm.behaviour_mut().join.send_request(&issuer, bytes);
                self.joins.insert(id, reply);
            }
            Command::Publish(bytes) => {
                if let Some(topic) = self.topic.clone() {
                    match self.swarm.behaviour_mut().gossip.publish(topic, bytes) {
                        Ok(_) | Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => {}
                        Err(e) => tracing::debug!(error = %e, "announcement not published"),
                    }
                }
            }
            Command::Offence(peer) => self.offence(peer),
            Command::Partition(peers) => self.partition(peers),
            Command::AddAddresses(peer, addrs) => {
                // Strip a trailing /p2p/<id>: the book is keyed by peer already.
                let addrs: Vec<Multiaddr> = addrs
                    .into_iter()
                    .map(|mut a| {
                        if matches!(a.iter().last(), Some(libp2p::multiaddr::Protocol::P2p(_))) {
                            a.pop();
                        }
                        a
                    })
                    .collect();
                let mut all = self.addresses.get(&peer).cloned().unwrap_or_default();
                all.extend(addrs);
                self.remember_addresses(peer, all);
            }
            Command::RosterChanged => self.on_roster_changed(),
            Command::Disconnect(peer) => {
                self.farewells.remove(&peer);
                let _ = self.swarm.disconnect_peer_id(peer);
            }
            Command::DisconnectAll => {
                let peers: Vec<PeerId> = self.connected.keys().copied().collect();
                for p in peers {
                    let _ = self.swarm.disconnect_peer_id(p);
                }
            }
        }
    }

    fn on_answer(&mut self, answer: Answer) {
        match answer {
            Answer::Sync {
                peer,
                channel,
                bytes,
                offence,
            } => {
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, bytes);
                if let Some(c) = self.connected.get_mut(&peer) {
                    c.in_flight = c.in_flight.saturating_sub(1);
                }
                if offence {
                    self.offence(peer);
                }
            }
            Answer::Join {
                peer,
                channel,
                bytes,
                admitted,
            } => {
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .join
                    .send_response(channel, bytes);
                if admitted {
                    let _ = self.syncer.try_send(SyncerEvent::PeerUp(peer));
                }
            }
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "listening");
                let n = {
                    let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
                    st.listen.push(address);
                    st.listen.len()
                };
                let _ = self.listening.send(n);
            }
            SwarmEvent::ConnectionEstablished {
                peer_id, endpoint, ..
            } => {
                self.connected.entry(peer_id).or_insert_with(Conn::new);
                self.backoff.remove(&peer_id);
                if let ConnectedPoint::Dialer { address, .. } = &endpoint {
                    let mut addrs = self.addresses.get(&peer_id).cloned().unwrap_or_default();
                    addrs.push(address.clone());
                    self.remember_addresses(peer_id, addrs);
                }
                if self.is_active(&peer_id) {
                    tracing::debug!(peer = %peer_id, "connected to a roster node");
                    let _ = self.syncer.try_send(SyncerEvent::PeerUp(peer_id));
                }
                self.publish_state();
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                self.connected.remove(&peer_id);
                if let Some(n) = node_id(&peer_id) {
                    self.replica.forget_peer(&n);
                }
                self.publish_state();
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                let mut addrs = self.addresses.get(&peer_id).cloned().unwrap_or_default();
                addrs.extend(info.listen_addrs);
                self.remember_addresses(peer_id, addrs);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(mdns::Event::Discovered(found))) => {
                for (peer, addr) in found {
                    let mut addrs = self.addresses.get(&peer).cloned().unwrap_or_default();
                    addrs.push(addr);
                    self.remember_addresses(peer, addrs);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossip(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => {
                let acceptance = self.on_announce(message.source, &message.data);
                self.swarm
                    .behaviour_mut()
                    .gossip
                    .report_message_validation_result(&message_id, &propagation_source, acceptance);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => self.on_sync_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::Join(event)) => self.on_join_event(event),
            _ => {}
        }
    }

    fn on_announce(&mut self, source: Option<PeerId>, data: &[u8]) -> MessageAcceptance {
        let Some(source) = source.filter(|s| self.is_active(s)) else {
            return MessageAcceptance::Reject;
        };
        if data.len() > MAX_ANNOUNCE_BYTES {
            return MessageAcceptance::Reject;
        }
        let Ok(announce) = wire::decode::<Announce>(data) else {
            return MessageAcceptance::Reject;
        };
        if Some(announce.federation) != self.replica.federation_id() {
            return MessageAcceptance::Reject;
        }
        let _ = self
            .syncer
            .try_send(SyncerEvent::Announced(source, Box::new(announce)));
        MessageAcceptance::Accept
    }

    fn on_sync_event(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    let n = request.len() as u64;
                    self.count(|t| {
                        t.requests_received += 1;
                        t.bytes_received += n;
                    });
                    self.answer_sync(peer, request, channel)
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    let n = response.len() as u64;
                    self.count(|t| t.bytes_received += n);
                    if let Some(reply) = self.requests.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => {
                if let Some(reply) = self.requests.remove(&request_id) {
                    let _ = reply.send(Err(LinkError::Unreachable(error.to_string())));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "inbound sync request failed");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn answer_sync(&mut self, peer: PeerId, request: Vec<u8>, channel: ResponseChannel<Vec<u8>>) {
        let refuse = |code: RefusalCode, message: &str| {
            wire::encode(&SyncResponse::Refused {
                code,
                message: message.into(),
            })
        };
        let Some(node) = node_id(&peer).filter(|n| self.replica.peer_role(n).is_some()) else {
            // Not an offence: it may be a member whose admission has not reached us yet. Peers
            // that stay outside the roster are disconnected after JOIN_GRACE.
            let bytes = refuse(
                RefusalCode::NotInRoster,
                "not an active member of this federation",
            );
            let _ = self
                .swarm
                .behaviour_mut()
                .sync
                .send_response(channel, bytes);
            return;
        };
        let flooding = self
            .connected
            .get(&peer)
            .is_some_and(|c| c.in_flight >= MAX_INBOUND_PER_PEER);
        let permit = if flooding {
            None
        } else {
            self.inbound.clone().try_acquire_owned().ok()
        };
        let Some(permit) = permit else {
            self.count(|t| t.refused_busy += 1);
            let _ = self
                .swarm
                .behaviour_mut()
                .sync
                .send_response(channel, refuse(RefusalCode::Busy, "busy; retry later"));
            if flooding {
                self.offence(peer);
            }
            return;
        };
        if let Some(c) = self.connected.get_mut(&peer) {
            c.in_flight += 1;
        }
        let replica = self.replica.clone();
        let answers = self.answers_tx.clone();
        let syncer = self.syncer.clone();
        tokio::spawn(async move {
            let (bytes, offence) =
                tokio::task::spawn_blocking(move || match wire::decode::<SyncRequest>(&request) {
                    Ok(req) => {
                        if session::asker_in_sync(&replica, &node, &req) {
                            let _ = syncer.try_send(SyncerEvent::InSync(peer));
                        }
                        let (resp, offence) = session::respond(&replica, &node, req);
                        let mut bytes = wire::encode(&resp);
                        if bytes.len() > MAX_MESSAGE_BYTES {
                            bytes = wire::encode(&SyncResponse::Refused {
                                code: RefusalCode::Internal,
                                message: "answer too large; ask for fewer documents".into(),
                            });
                        }
                        (bytes, offence)
                    }
                    Err(e) => (
                        wire::encode(&SyncResponse::Refused {
                            code: RefusalCode::BadRequest,
                            message: e.to_string(),
                        }),
                        true,
                    ),
                })
                .await
                .unwrap_or_else(|_| (Vec::new(), false));
            drop(permit);
            let _ = answers
                .send(Answer::Sync {
                    peer,
                    channel,
                    bytes,
                    offence,
                })
                .await;
        });
    }

    fn on_join_event(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    let Some(joiner) = node_id(&peer) else {
                        return;
                    };
                    let attempts = self.connected.get_mut(&peer).map_or(u32::MAX, |c| {
                        c.join_attempts += 1;
                        c.join_attempts
                    });
                    if attempts > MAX_JOIN_ATTEMPTS {
                        // Dropping the channel leaves the request unanswered; the ban ends the
                        // connection.
                        if !self.banned.contains_key(&peer) {
                            self.ban(peer);
                        }
                        return;
                    }
                    let Ok(permit) = self.joins_in_flight.clone().try_acquire_owned() else {
                        let bytes = wire::encode(&JoinResponse::Refused {
                            code: JoinRefusal::Busy,
                            message: "the inviting node is busy; try again in a minute".into(),
                        });
                        let _ = self
                            .swarm
                            .behaviour_mut()
                            .join
                            .send_response(channel, bytes);
                        return;
                    };
                    let replica = self.replica.clone();
                    let answers = self.answers_tx.clone();
                    tokio::spawn(async move {
                        let (bytes, admitted) = tokio::task::spawn_blocking(move || {
                            let resp = match wire::decode::<JoinRequest>(&request) {
                                Ok(req) => match replica.admit(&joiner, &req) {
                                    Ok(ops) => JoinResponse::Admitted { ops },
                                    Err((code, message)) => JoinResponse::Refused { code, message },
                                },
                                Err(e) => JoinResponse::Refused {
                                    code: JoinRefusal::BadProof,
                                    message: format!("malformed join request: {e}"),
                                },
                            };
                            let admitted = matches!(resp, JoinResponse::Admitted { .. });
                            (wire::encode(&resp), admitted)
                        })
                        .await
                        .unwrap_or_else(|_| (Vec::new(), false));
                        drop(permit);
                        let _ = answers
                            .send(Answer::Join {
                                peer,
                                channel,
                                bytes,
                                admitted,
                            })
                            .await;
                    });
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(reply) = self.joins.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => {
                if let Some(reply) = self.joins.remove(&request_id) {
                    let _ = reply.send(Err(format!("could not reach the inviting node: {error}")));
                }
            }
            _ => {}
        }
    }
}
