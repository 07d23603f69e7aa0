//! Decides when to run a sync session with which peer, and when to announce.
//!
//! A session runs with a peer when it connects, when its announcement differs from our state, when
//! our roster changes (to deliver the new ops), and every [`ANTI_ENTROPY`] as a safety net. At most
//! one session per peer runs at a time; requests that arrive meanwhile coalesce into one rerun.
//! Announcements are debounced by [`ANNOUNCE_DEBOUNCE`] so a burst of writes costs one message.
//! A session the peer started that ends with equal digests also marks the peer in sync
//! ([`SyncerEvent::InSync`]).

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
                Some(done) = self.sessions.join_next() => {
                    if let Ok((node, result)) = done {
                        self.on_session_done(node, result).await;
                    }
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
                _ = tick.tick() => self.sync_all_connected(),
            }
        }
        self.sessions.shutdown().await;
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

    fn sync_all_connected(&mut self) {
        for n in self.connected_peers() {
            self.request_session(n);
        }
    }

    fn request_session(&mut self, node: NodeId) {
        if self.replica.peer_role(&node).is_none() || self.replica.own_role().is_none() {
            return;
        }
        if self.running.contains(&node) {
            self.again.insert(node);
            return;
        }
        self.running.insert(node);
        let replica = self.replica.clone();
        let link = self.net.link(node);
        self.sessions.spawn(async move {
            let result = session::run(replica, node, &link).await;
            (node, result)
        });
    }

    fn on_event(&mut self, event: SyncerEvent) {
        match event {
            SyncerEvent::PeerUp(p) => {
                if let Some(n) = node_id(&p) {
                    self.init_behind(&n);
                    self.request_session(n);
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
                    self.mark_in_sync(n);
                }
            }
            SyncerEvent::Announced(p, a) => {
                let Some(n) = node_id(&p) else { return };
                if self.differs(&n, &a) {
                    self.bump_behind(&n);
                    self.request_session(n);
                }
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
