//! Decides when to run a sync session with which peer, and when to announce.
//!
//! Of two nodes, only the one with the lower node id starts sessions between them: a session
//! carries changes both ways, and two sessions at once (one started by each side) would each carry
//! every change, doubling the traffic of a first replication and of every catch-up. The other side
//! asks for a session by announcing, and learns that the two are in sync from the digests the
//! session's `Digest` request carries ([`SyncerEvent::InSync`]). Addresses are not left to the
//! starting side: a node asks any peer it does not start sessions with where the roster nodes it
//! cannot reach are, or two nodes that joined through a third, both with higher ids, would never
//! find each other.
//!
//! The starting side runs a session with a peer when it connects, when the peer's announcement
//! differs from our state, when our documents or roster change, and every [`ANTI_ENTROPY`] as a
//! safety net. At most one session per peer runs at a time; requests that arrive meanwhile
//! coalesce into one rerun. Announcements are debounced by [`ANNOUNCE_DEBOUNCE`] so a burst of
//! writes costs one message.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use copnet_protocol::wire::{self, Announce};
use copnet_protocol::{DocId, NodeId, Role};
use libp2p::PeerId;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinSet;

use super::{NetHandle, node_id};
use crate::replica::{Replica, ReplicaEvent, may_read, now_ms};
use crate::session::{self, SessionError, SessionReport};

pub const ANTI_ENTROPY: Duration = Duration::from_secs(30);
pub const ANNOUNCE_DEBOUNCE: Duration = Duration::from_millis(20);
/// First retry delay after a session that failed (peer not ready, link dropped); doubles up to
/// [`ANTI_ENTROPY`].
pub const RETRY_MIN: Duration = Duration::from_millis(200);
const PARKED: Duration = Duration::from_secs(24 * 3600);

pub(crate) enum SyncerEvent {
    PeerUp(PeerId),
    Announced(PeerId, Box<Announce>),
    /// A connected node just left or was removed: deliver the roster ops that say so.
    Farewell(PeerId),
    /// A session the peer started found both sides holding the same documents.
    InSync(PeerId),
}

pub(super) struct Syncer {
    replica: Arc<Replica>,
    net: NetHandle,
    events: mpsc::Receiver<SyncerEvent>,
    stopped: watch::Receiver<bool>,
    running: HashSet<NodeId>,
    again: HashSet<NodeId>,
    /// Documents changed since the last session that ended in sync, per peer.
    dirty: HashMap<NodeId, HashSet<DocId>>,
    sessions: JoinSet<(NodeId, Result<SessionReport, SessionError>)>,
    /// The running session with each peer, to abort it when the peer reconnects.
    session_tasks: HashMap<NodeId, tokio::task::AbortHandle>,
    /// Address lookups in flight (see [`Syncer::learn_addresses_from`]), by peer asked.
    lookups: JoinSet<NodeId>,
    looking_up: HashSet<NodeId>,
    /// Each connected peer's last announcement, to notice when we catch up with it.
    last_announced: HashMap<NodeId, Box<Announce>>,
    announce_due: Option<tokio::time::Instant>,
    /// Per peer: when to retry a failed session, and the next delay.
    retries: HashMap<NodeId, (tokio::time::Instant, Duration)>,
}

impl Syncer {
    pub(super) fn new(
        replica: Arc<Replica>,
        net: NetHandle,
        events: mpsc::Receiver<SyncerEvent>,
        stopped: watch::Receiver<bool>,
    ) -> Self {
        Self {
            replica,
            net,
            events,
            stopped,
            running: HashSet::new(),
            again: HashSet::new(),
            dirty: HashMap::new(),
            sessions: JoinSet::new(),
            session_tasks: HashMap::new(),
            lookups: JoinSet::new(),
            looking_up: HashSet::new(),
            last_announced: HashMap::new(),
            announce_due: None,
            retries: HashMap::new(),
        }
    }

    pub(super) async fn run(mut self) {
        let mut replica_events = self.replica.subscribe();
        let mut tick = tokio::time::interval(ANTI_ENTROPY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        let mut stopped = self.stopped.clone();
        loop {
            let announce_at = self.announce_due;
            let retry_at = self.retries.values().map(|(at, _)| *at).min();
            tokio::select! {
                changed = stopped.changed() => if changed.is_err() || *stopped.borrow() { break },
                Some(event) = self.events.recv() => self.on_event(event),
                event = replica_events.recv() => self.on_replica_event(event),
                Some(done) = self.sessions.join_next_with_id() => match done {
                    Ok((_, (node, result))) => self.on_session_done(node, result).await,
                    Err(e) => {
                        // Aborted (the peer reconnected) or panicked: run it again.
                        let node = self.session_tasks.iter().find(|(_, h)| h.id() == e.id()).map(|(n, _)| *n);
                        if let Some(node) = node {
                            self.session_tasks.remove(&node);
                            self.running.remove(&node);
                            self.again.remove(&node);
                            if e.is_panic() {
                                tracing::error!(peer = %node.fmt_short(), "a sync session panicked");
                            } else {
                                self.request_session(node);
                            }
                        }
                    }
                },
                Some(Ok(node)) = self.lookups.join_next() => {
                    self.looking_up.remove(&node);
                }
                _ = async { tokio::time::sleep_until(announce_at.unwrap()).await }, if announce_at.is_some() => {
                    self.announce_due = None;
                    self.announce().await;
                }
                _ = async { tokio::time::sleep_until(retry_at.unwrap()).await }, if retry_at.is_some() => {
                    let now = tokio::time::Instant::now();
                    let due: Vec<NodeId> = self.retries.iter().filter(|(_, (at, _))| *at <= now).map(|(n, _)| *n).collect();
                    for n in due {
                        // Parked until the session it starts reports back.
                        if let Some(r) = self.retries.get_mut(&n) {
                            r.0 = now + PARKED;
                        }
                        self.request_session(n);
                    }
                }
                _ = tick.tick() => {
                    tracing::debug!(peers = self.connected_peers().len(), "anti-entropy");
                    self.sync_all_connected();
                }
            }
        }
        self.sessions.shutdown().await;
        self.lookups.shutdown().await;
        tracing::debug!("syncer stopped");
    }

    fn connected_peers(&self) -> Vec<NodeId> {
        self.net
            .peer_status()
            .into_iter()
            .filter(|(_, s)| s.connected)
            .map(|(n, _)| n)
            .collect()
    }

    /// A session with every connected peer we start sessions with; from the others, where the
    /// roster nodes we cannot reach are (their sessions bring us content, not addresses).
    fn sync_all_connected(&mut self) {
        for n in self.connected_peers() {
            self.sync_with(n);
        }
    }

    /// A session with `peer` if we start sessions with it; else, where the roster nodes we
    /// cannot reach are.
    fn sync_with(&mut self, peer: NodeId) {
        if self.starts_sessions_with(&peer) {
            self.request_session(peer);
        } else if self.replica.peer_role(&peer).is_some() {
            self.learn_addresses_from(peer);
        }
    }

    /// Whether this node starts the sessions with `peer`: the lower node id does.
    fn starts_sessions_with(&self, peer: &NodeId) -> bool {
        self.replica.node_id() < *peer
    }

    fn request_session(&mut self, node: NodeId) {
        if self.replica.peer_role(&node).is_none() || self.replica.own_role().is_none() {
            return;
        }
        if !self.starts_sessions_with(&node) {
            return;
        }
        if self.running.contains(&node) {
            self.again.insert(node);
            return;
        }
        self.running.insert(node);
        tracing::debug!(peer = %node.fmt_short(), "session starts");
        let replica = self.replica.clone();
        let link = self.net.link(node);
        let task = self.sessions.spawn(async move {
            let result = session::run(replica, node, &link).await;
            (node, result)
        });
        self.session_tasks.insert(node, task);
    }

    /// Asks `node` for the addresses of roster nodes we cannot reach yet, if there are any.
    fn learn_addresses_from(&mut self, node: NodeId) {
        if !self.looking_up.insert(node) {
            return;
        }
        let (replica, net) = (self.replica.clone(), self.net.clone());
        self.lookups.spawn(async move {
            let link = net.link(node);
            match session::learn_addresses(&replica, node, &link).await {
                Ok(found) => {
                    for (peer, addrs) in found.unwrap_or_default() {
                        net.add_addresses(peer, addrs).await;
                    }
                }
                Err(e) => {
                    tracing::debug!(peer = %node.fmt_short(), error = %e, "could not learn addresses");
                }
            }
            node
        });
    }

    fn on_event(&mut self, event: SyncerEvent) {
        match event {
            SyncerEvent::PeerUp(p) => {
                if let Some(n) = node_id(&p) {
                    self.init_behind(&n);
                    self.last_announced.remove(&n);
                    // A session still running is waiting on the old connection, which may be
                    // dead (the peer restarted): start afresh on the new one.
                    if let Some(task) = self.session_tasks.get(&n) {
                        task.abort();
                        self.again.insert(n);
                        return;
                    }
                    self.sync_with(n);
                }
            }
            SyncerEvent::Farewell(p) => {
                let Some(n) = node_id(&p) else { return };
                let (replica, net) = (self.replica.clone(), self.net.clone());
                tokio::spawn(async move {
                    let link = net.link(n);
                    if let Err(e) = session::deliver_roster(&replica, &link).await {
                        tracing::debug!(peer = %n.fmt_short(), error = %e, "could not tell a departed node");
                    }
                    net.disconnect(p).await;
                });
            }
            SyncerEvent::InSync(p) => {
                if let Some(n) = node_id(&p) {
                    tracing::debug!(peer = %n.fmt_short(), "the peer's session found us in sync");
                    self.mark_in_sync(n);
                }
            }
            SyncerEvent::Announced(p, a) => {
                let Some(n) = node_id(&p) else { return };
                if self.differs(&n, &a) {
                    self.bump_behind(&n);
                    self.request_session(n);
                } else {
                    self.mark_in_sync(n);
                }
                self.last_announced.insert(n, a);
            }
        }
    }

    /// Whether an announcement shows state we do not share.
    fn differs(&self, peer: &NodeId, a: &Announce) -> bool {
        let mut ours = self.replica.roster_heads();
        ours.sort();
        let mut theirs = a.roster_heads.clone();
        theirs.sort();
        let (fed, members) = self.replica.digests();
        ours != theirs
            || fed != a.federation_digest
            || (session::both_members(&self.replica, peer) && members != a.members_digest)
    }

    fn on_replica_event(&mut self, event: Result<ReplicaEvent, broadcast::error::RecvError>) {
        match event {
            Ok(ReplicaEvent::DocChanged(doc, audience)) => {
                let mut status = self.net.state.lock().unwrap_or_else(|e| e.into_inner());
                for (node, st) in status.peers.iter_mut() {
                    let role = self.replica.peer_role(node);
                    if role.is_some_and(|r| may_read(r, audience)) {
                        let dirty = self.dirty.entry(*node).or_default();
                        dirty.insert(doc);
                        st.docs_behind = st.docs_behind.max(dirty.len());
                    }
                }
                drop(status);
                self.schedule_announce();
                // The peers this node starts sessions with hear of it from a session at once;
                // the others from the announcement, and start one themselves.
                for n in self.connected_peers() {
                    // `request_session` skips the peers we do not start sessions with.
                    if self
                        .replica
                        .peer_role(&n)
                        .is_some_and(|r| may_read(r, audience))
                    {
                        self.request_session(n);
                    }
                }
                self.caught_up_with_announced();
            }
            Ok(ReplicaEvent::RosterChanged) => {
                self.schedule_announce();
                self.sync_all_connected();
            }
            Err(broadcast::error::RecvError::Lagged(_)) => {
                self.schedule_announce();
                self.sync_all_connected();
            }
            Err(broadcast::error::RecvError::Closed) => {}
        }
    }

    /// Marks in sync the peers whose last announcement shows what we now hold. A change that
    /// reached us from a third node, or after the peer's session had already found us in sync,
    /// leaves the peer marked behind; if the peer announced that same state, we are not.
    fn caught_up_with_announced(&mut self) {
        if self.last_announced.is_empty() {
            return;
        }
        let connected = self.connected_peers();
        let equal: Vec<NodeId> = self
            .last_announced
            .iter()
            .filter(|(n, a)| connected.contains(n) && !self.differs(n, a))
            .map(|(n, _)| *n)
            .collect();
        for n in equal {
            self.mark_in_sync(n);
        }
    }

    fn schedule_announce(&mut self) {
        if self.announce_due.is_none() {
            self.announce_due = Some(tokio::time::Instant::now() + ANNOUNCE_DEBOUNCE);
        }
    }

    async fn announce(&mut self) {
        let Some(federation) = self.replica.federation_id() else {
            return;
        };
        if self.replica.own_role().is_none() {
            return;
        }
        let (federation_digest, members_digest) = self.replica.digests();
        let a = Announce {
            federation,
            roster_heads: self.replica.roster_heads(),
            federation_digest,
            members_digest,
        };
        self.net.publish(wire::encode(&a)).await;
    }

    /// Before the first session with a peer, every document it may read is "behind".
    fn init_behind(&mut self, node: &NodeId) {
        let Some(role) = self.replica.peer_role(node) else {
            return;
        };
        let mut status = self.net.state.lock().unwrap_or_else(|e| e.into_inner());
        let st = status.peers.entry(*node).or_default();
        if st.last_in_sync_ms.is_none() {
            let fed = self
                .replica
                .docs_of_audience(copnet_protocol::docs::Audience::Federation)
                .len();
            let members = if role == Role::Member {
                self.replica
                    .docs_of_audience(copnet_protocol::docs::Audience::Members)
                    .len()
            } else {
                0
            };
            st.docs_behind = (fed + members).max(1);
        }
    }

    fn bump_behind(&mut self, node: &NodeId) {
        let mut status = self.net.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(st) = status.peers.get_mut(node) {
            st.docs_behind = st.docs_behind.max(1);
        }
    }

    /// A session (ours or the peer's) ended with both sides' digests equal.
    fn mark_in_sync(&mut self, node: NodeId) {
        self.dirty.remove(&node);
        let mut status = self.net.state.lock().unwrap_or_else(|e| e.into_inner());
        let st = status.peers.entry(node).or_default();
        st.docs_behind = 0;
        st.last_in_sync_ms = Some(now_ms());
    }

    async fn on_session_done(&mut self, node: NodeId, result: Result<SessionReport, SessionError>) {
        self.running.remove(&node);
        self.session_tasks.remove(&node);
        match result {
            Ok(report) => {
                self.retries.remove(&node);
                tracing::debug!(peer = %node.fmt_short(), ?report, "session done");
                for (peer, addrs) in &report.addresses {
                    self.net.add_addresses(*peer, addrs.clone()).await;
                }
                if report.in_sync {
                    self.mark_in_sync(node);
                } else {
                    let dirty = self.dirty.get(&node).map_or(0, HashSet::len);
                    let mut status = self.net.state.lock().unwrap_or_else(|e| e.into_inner());
                    status.peers.entry(node).or_default().docs_behind =
                        dirty.max(report.unsynced).max(1);
                    // Something is still moving: look again soon.
                    self.again.insert(node);
                }
            }
            Err(SessionError::Offence(why)) => {
                tracing::warn!(peer = %node.fmt_short(), %why, "peer misbehaved during sync");
                self.net.offence(super::peer_id(&node)).await;
            }
            Err(e) => {
                tracing::debug!(peer = %node.fmt_short(), error = %e, "session ended early; will retry");
                let delay = self
                    .retries
                    .get(&node)
                    .map_or(RETRY_MIN, |(_, d)| (*d * 2).min(ANTI_ENTROPY));
                self.retries
                    .insert(node, (tokio::time::Instant::now() + delay, delay));
            }
        }
        if self.again.remove(&node) && self.connected_peers().contains(&node) {
            self.request_session(node);
        }
    }
}
