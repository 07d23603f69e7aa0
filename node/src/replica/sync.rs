//! The replica's side of synchronisation (DESIGN §6), free of any networking: what to tell a peer
//! and what to do with what a peer says. The network layer (`crate::net`) only carries these
//! messages; every decision about what may be sent, received, applied or stored is made here.
//!
//! Incoming document sync messages are never fed straight into a canonical document. Every change
//! they carry is extracted (a whole-document chunk is loaded into a scratch document for that),
//! checked against the validity rule with the signature sent beside it, and only when all of them
//! pass is the message received — into a *copy* of the canonical document, whose header is then
//! checked against the document rule before anything is stored.

use std::collections::HashMap;

use automerge::sync::{Message, State, SyncDoc};
use automerge::{Automerge, ChangeHash, ReadDoc};
use copnet_protocol::chunks::{carried_changes, guarded};
use copnet_protocol::collection::{ItemHash, SetDigest, item_hash};
use copnet_protocol::docs::{self, Audience};
use copnet_protocol::roster::Inserted;
use copnet_protocol::validity::check_document_rule;
use copnet_protocol::wire::DocSyncMessage;
use copnet_protocol::{
    ChangeRejection, DocId, FederationId, MemberStatus, NodeId, OpHash, Role, RosterLog,
    SignedChange, SignedRosterOp, Verdict, validate_change,
};

use super::{Replica, ReplicaError, ReplicaEvent, Result, now_ms};
use crate::store::{DocEntry, StoredChange, Ticket, WriteBatch};
use crate::views;

/// Most changes held while waiting for the roster ops they cite.
pub const MAX_PENDING_CHANGES: usize = 10_000;
/// Most per-(peer, document) sync sessions kept in memory.
pub const MAX_SYNC_SESSIONS: usize = 200_000;

/// Changes that cite roster ops this node does not have yet (DESIGN §4): kept, neither applied
/// nor rejected, and retried when the roster grows. Bounded in count and bytes, overall and per
/// peer, so that a member citing roster ops that do not exist cannot fill a node's memory or crowd
/// out the changes of honest peers; an entry is dropped after [`PENDING_TTL`] (the sender offers
/// it again in a later session if it still matters).
#[derive(Default)]
pub(super) struct Pending {
    by_doc: HashMap<DocId, HashMap<[u8; 64], Waiting>>,
    count: usize,
    bytes: usize,
    by_peer: HashMap<NodeId, usize>,
}

#[derive(Clone)]
pub(super) struct Waiting {
    signed: SignedChange,
    from: NodeId,
    since: std::time::Instant,
}

/// Bytes of pending changes a node keeps in all.
pub const MAX_PENDING_BYTES: usize = 64 * 1024 * 1024;
/// Bytes of pending changes a node keeps from any one peer.
pub const MAX_PENDING_BYTES_PER_PEER: usize = 16 * 1024 * 1024;
/// How long a pending change is kept.
pub const PENDING_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

impl Pending {
    /// Keeps `changes` from `from` if they all fit; returns whether they were kept.
    fn admit(&mut self, doc: DocId, from: NodeId, changes: Vec<SignedChange>) -> bool {
        self.expire();
        let slot = self.by_doc.get(&doc);
        let fresh: Vec<SignedChange> = changes
            .into_iter()
            .filter(|c| !slot.is_some_and(|s| s.contains_key(&c.signature.0)))
            .collect();
        let size: usize = fresh.iter().map(|c| c.bytes.len()).sum();
        let peer_bytes = self.by_peer.get(&from).copied().unwrap_or(0);
        if self.count + fresh.len() > MAX_PENDING_CHANGES
            || self.bytes + size > MAX_PENDING_BYTES
            || peer_bytes + size > MAX_PENDING_BYTES_PER_PEER
        {
            return false;
        }
        let since = std::time::Instant::now();
        for signed in fresh {
            self.insert(
                doc,
                Waiting {
                    signed,
                    from,
                    since,
                },
            );
        }
        true
    }

    fn insert(&mut self, doc: DocId, w: Waiting) {
        let size = w.signed.bytes.len();
        let from = w.from;
        if self
            .by_doc
            .entry(doc)
            .or_default()
            .insert(w.signed.signature.0, w)
            .is_none()
        {
            self.count += 1;
            self.bytes += size;
            *self.by_peer.entry(from).or_default() += size;
        }
    }

    /// Drops what has waited too long.
    fn expire(&mut self) {
        let now = std::time::Instant::now();
        if !self
            .by_doc
            .values()
            .flat_map(HashMap::values)
            .any(|w| now.duration_since(w.since) > PENDING_TTL)
        {
            return;
        }
        let all = self.take();
        for (doc, waiting) in all {
            for w in waiting {
                if now.duration_since(w.since) <= PENDING_TTL {
                    self.insert(doc, w);
                }
            }
        }
    }

    /// Everything pending, emptying the queue.
    fn take(&mut self) -> Vec<(DocId, Vec<Waiting>)> {
        self.count = 0;
        self.bytes = 0;
        self.by_peer.clear();
        std::mem::take(&mut self.by_doc)
            .into_iter()
            .map(|(doc, m)| (doc, m.into_values().collect()))
            .collect()
    }

    pub(super) fn len(&self) -> usize {
        self.count
    }
}

/// Which of the two conversations with a peer a sync message belongs to.
///
/// Both nodes start sessions (on connecting, on announcements, on a timer), so two sessions with
/// the same peer can run at once, one started by each side. Automerge's sync protocol assumes one
/// ordered conversation per sync state: sharing one state between the two lets a change arrive in
/// one conversation before the change it depends on arrives in the other, and the receiver is left
/// holding a change it cannot apply. Each conversation therefore has its own state; what the two
/// have in common (the heads both sides are known to share) is persisted once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// A session this node started.
    Initiated,
    /// A session the peer started.
    Answered,
}

/// What receiving a sync message did.
#[derive(Debug, Default)]
pub struct Received {
    /// New changes applied and stored.
    pub applied: usize,
    /// Roster ops the message's changes cite that this node lacks; its changes wait.
    pub missing_roster: Vec<OpHash>,
}

/// Whether a node with `role` may receive documents of `audience` (DESIGN §1).
pub fn may_read(role: Role, audience: Audience) -> bool {
    match audience {
        Audience::Federation => true,
        Audience::Members => role == Role::Member,
    }
}

impl Replica {
    /// The role of `peer` if it is an active member or peripheral node of our federation.
    pub fn peer_role(&self, peer: &NodeId) -> Option<Role> {
        let state = self.roster_state()?;
        state
            .member(peer)
            .filter(|m| m.status == MemberStatus::Active)
            .map(|m| m.role)
    }

    /// This node's own role, if it is an active participant.
    pub fn own_role(&self) -> Option<Role> {
        self.peer_role(&self.node_id)
    }

    fn peer_may_sync(&self, peer: &NodeId) -> Result<Role> {
        self.peer_role(peer).ok_or_else(|| {
            ReplicaError::Forbidden(format!("{peer} is not an active member of this federation"))
        })
    }

    pub fn federation_id(&self) -> Option<FederationId> {
        self.roster_read().as_ref().map(RosterLog::federation)
    }

    pub fn roster_heads(&self) -> Vec<OpHash> {
        self.roster_read()
            .as_ref()
            .map(RosterLog::heads)
            .unwrap_or_default()
    }

    /// The roster ops a peer at `heads` lacks.
    pub fn roster_ops_for(&self, heads: &[OpHash]) -> Vec<SignedRosterOp> {
        self.roster_read()
            .as_ref()
            .map(|l| {
                l.ops_missing_from(heads)
                    .into_iter()
                    .map(|o| o.signed.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every roster op, in fold order.
    pub fn roster_ops(&self) -> Vec<SignedRosterOp> {
        self.roster_ops_for(&[])
    }

    /// Verifies and stores roster ops from a peer. Returns how many were new.
    pub fn apply_roster_ops(&self, ops: Vec<SignedRosterOp>) -> Result<usize> {
        let (new, refused, ticket) = {
            let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            let mut guard = self.roster.write().unwrap_or_else(|e| e.into_inner());
            let log = guard.as_mut().ok_or(ReplicaError::NoFederation)?;
            let mut batch = WriteBatch::new();
            let mut new = 0;
            let mut refused = None;
            for op in ops {
                // The first refusal ends the message; what came before it is kept, on disk as in
                // memory.
                match op.verify().and_then(|v| log.insert(v)) {
                    Ok(Inserted::Duplicate) => {}
                    Ok(Inserted::Applied(_) | Inserted::Waiting(_)) => {
                        batch.put_roster_op(&op.hash(), &op);
                        new += 1;
                    }
                    Err(e) => {
                        refused = Some(e);
                        break;
                    }
                }
            }
            (new, refused, self.store.apply(batch)?)
        };
        self.store.wait_durable(ticket)?;
        if new > 0 {
            self.emit(ReplicaEvent::RosterChanged);
            self.retry_pending()?;
        }
        match refused {
            Some(e) => Err(ReplicaError::BadMessage(format!("roster op refused: {e}"))),
            None => Ok(new),
        }
    }

    /// Adopts the roster of a federation this node has just been admitted to.
    pub fn adopt_roster(&self, federation: FederationId, ops: Vec<SignedRosterOp>) -> Result<()> {
        {
            let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            let mut guard = self.roster.write().unwrap_or_else(|e| e.into_inner());
            if let Some(log) = guard.as_ref() {
                return Err(ReplicaError::AlreadyInFederation(log.federation()));
            }
            let mut log = RosterLog::new(federation);
            let mut batch = WriteBatch::new();
            for op in ops {
                let verified = op
                    .verify()
                    .map_err(|e| ReplicaError::BadMessage(format!("roster op refused: {e}")))?;
                batch.put_roster_op(&verified.hash, &op);
                log.insert(verified)
                    .map_err(|e| ReplicaError::BadMessage(format!("roster op refused: {e}")))?;
            }
            if !log.state().is_active(&self.node_id) {
                return Err(ReplicaError::BadMessage(
                    "the roster the inviting node sent does not admit this node".into(),
                ));
            }
            batch.put_meta("federation", federation.as_bytes());
            self.store.commit(batch)?;
            *guard = Some(log);
        }
        self.emit(ReplicaEvent::RosterChanged);
        Ok(())
    }

    // ---- collection reconciliation -------------------------------------------------------

    /// Digests of the two audiences' collections.
    pub fn digests(&self) -> (SetDigest, SetDigest) {
        let c = self.collections.read().unwrap_or_else(|e| e.into_inner());
        (c.federation.root(), c.members.root())
    }

    pub fn bucket_digests(&self, audience: Audience) -> Vec<SetDigest> {
        let c = self.collections.read().unwrap_or_else(|e| e.into_inner());
        c.of(audience).buckets().to_vec()
    }

    pub fn bucket_items(&self, audience: Audience, buckets: &[u8]) -> Vec<(DocId, ItemHash)> {
        let c = self.collections.read().unwrap_or_else(|e| e.into_inner());
        c.of(audience).items_in(buckets)
    }

    /// Every document of `audience` this node holds.
    pub fn docs_of_audience(&self, audience: Audience) -> Vec<DocId> {
        let c = self.collections.read().unwrap_or_else(|e| e.into_inner());
        c.of(audience).docs().copied().collect()
    }

    pub(super) fn index_entry(&self, entry: &DocEntry) {
        {
            let mut c = self.collections.write().unwrap_or_else(|e| e.into_inner());
            c.of_mut(entry.audience)
                .upsert(entry.id, item_hash(&entry.id, &entry.heads));
        }
        let index = self
            .search
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        super::index_for_search(&index, entry);
    }

    // ---- document sync -------------------------------------------------------------------

    pub(super) fn load_automerge(&self, doc: &DocId) -> Result<Automerge> {
        match self.store.automerge_bytes(doc)? {
            Some(bytes) => Automerge::load(&bytes).map_err(|e| ReplicaError::Damaged {
                id: *doc,
                why: e.to_string(),
            }),
            None => Ok(Automerge::new()),
        }
    }

    fn session(&self, peer: &NodeId, doc: &DocId, ch: Channel, peer_role: Role) -> Result<State> {
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let mut state = match sessions.get(&(*peer, *doc, ch)) {
            Some(s) => s.clone(),
            None => match self.store.sync_state(peer, doc)? {
                Some(bytes) => State::decode(&bytes).unwrap_or_default(),
                None => State::new(),
            },
        };
        // A peripheral peer's changes are never applied here (DESIGN §6).
        state.read_only = peer_role != Role::Member;
        Ok(state)
    }

    fn keep_session(&self, peer: &NodeId, doc: &DocId, ch: Channel, state: State) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        if sessions.len() >= MAX_SYNC_SESSIONS {
            sessions.clear();
        }
        sessions.insert((*peer, *doc, ch), state);
    }

    /// Starts a new conversation with `peer` on `ch`: the in-memory sync states of the last one
    /// are dropped and each document starts again from the persisted shared heads. A state left
    /// over from a conversation that broke off (the peer restarted, the session was aborted) may
    /// hold a message "in flight" that will never be answered, and automerge sends nothing more
    /// on such a state: the two sides would each wait for the other for good.
    pub fn begin_conversation(&self, peer: &NodeId, ch: Channel) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|(p, _, c), _| !(p == peer && *c == ch));
    }

    /// Drops the in-memory sync sessions with `peer` (its connection closed); the persisted
    /// shared heads stay.
    pub fn forget_peer(&self, peer: &NodeId) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|(p, _, _), _| p != peer);
    }

    /// The next automerge sync message for `doc` to `peer`, with a signature for every change it
    /// carries. A document `peer` may not read is never offered.
    pub fn sync_generate(&self, peer: &NodeId, doc: &DocId, ch: Channel) -> Result<DocSyncMessage> {
        Ok(self
            .sync_generate_within(peer, doc, ch, usize::MAX)?
            .expect("no budget to exceed"))
    }

    /// Like [`Replica::sync_generate`], but `None` — and the sync state left as it was, so that
    /// the same changes are offered next time — when the message would be larger than `budget`
    /// bytes. This is how a batch of large documents is spread over several messages.
    pub fn sync_generate_within(
        &self,
        peer: &NodeId,
        doc: &DocId,
        ch: Channel,
        budget: usize,
    ) -> Result<Option<DocSyncMessage>> {
        let role = self.peer_may_sync(peer)?;
        let empty = DocSyncMessage {
            doc: *doc,
            message: None,
            signatures: vec![],
        };
        if let Some(entry) = self.store.doc_entry(doc)?
            && !may_read(role, entry.audience)
        {
            return Ok(Some(empty));
        }
        let am = self.load_automerge(doc)?;
        let mut state = self.session(peer, doc, ch, role)?;
        let message = am.generate_sync_message(&mut state);
        let Some(message) = message else {
            self.keep_session(peer, doc, ch, state);
            return Ok(Some(empty));
        };
        let encoded = message.clone().encode();
        if encoded.len() > budget {
            return Ok(None);
        }
        self.keep_session(peer, doc, ch, state);
        let mut signatures = Vec::new();
        for change in carried_changes(&message).map_err(ReplicaError::BadMessage)? {
            let hash = change.hash();
            let stored = self
                .store
                .change(doc, &hash.0)?
                .ok_or_else(|| ReplicaError::Damaged {
                    id: *doc,
                    why: format!("no signature stored for change {hash}"),
                })?;
            signatures.push((hash.0, stored.signed.signature));
        }
        Ok(Some(DocSyncMessage {
            doc: *doc,
            message: Some(encoded),
            signatures,
        }))
    }

    /// Receives one automerge sync message from `peer`: verify every carried change, then apply to
    /// a copy, check the document rule, store. One invalid change rejects the whole message.
    /// Returns once what it stored is on disk.
    pub fn sync_receive(
        &self,
        peer: &NodeId,
        ch: Channel,
        incoming: DocSyncMessage,
    ) -> Result<Received> {
        let (received, ticket) = self.sync_receive_unflushed(peer, ch, incoming)?;
        if let Some(ticket) = ticket {
            self.store.wait_durable(ticket)?;
        }
        Ok(received)
    }

    /// Waits until every write that returned `ticket` (and all before it) is on disk.
    pub fn wait_durable(&self, ticket: Ticket) -> Result<()> {
        Ok(self.store.wait_durable(ticket)?)
    }

    /// [`Replica::sync_receive`] without waiting for the disk: the caller waits once, with
    /// [`Replica::wait_durable`], for the last ticket of a whole batch of documents (one fsync
    /// instead of one per document) before it answers or acknowledges anything.
    pub fn sync_receive_unflushed(
        &self,
        peer: &NodeId,
        ch: Channel,
        incoming: DocSyncMessage,
    ) -> Result<(Received, Option<Ticket>)> {
        let role = self.peer_may_sync(peer)?;
        let doc = incoming.doc;
        let Some(bytes) = incoming.message else {
            return Ok((Received::default(), None));
        };
        let own_role = self.own_role().ok_or(ReplicaError::NotActive)?;
        if let Some(entry) = self.store.doc_entry(&doc)?
            && !may_read(role, entry.audience)
        {
            return Err(ReplicaError::Forbidden(format!(
                "{peer} may not sync {doc}"
            )));
        }
        let message = guarded(|| Message::decode(&bytes).map_err(|e| e.to_string()))
            .map_err(|e| ReplicaError::BadMessage(format!("sync message: {e}")))?;
        let carried = carried_changes(&message).map_err(ReplicaError::BadMessage)?;
        let signatures: HashMap<[u8; 32], copnet_protocol::Signature> =
            incoming.signatures.into_iter().collect();

        // Verify everything before touching anything.
        let mut verified: Vec<(ChangeHash, SignedChange, NodeId)> = Vec::new();
        let mut missing_roster: Vec<OpHash> = Vec::new();
        let mut waiting: Vec<SignedChange> = Vec::new();
        {
            let guard = self.roster_read();
            let log = guard.as_ref().ok_or(ReplicaError::NoFederation)?;
            for change in &carried {
                let hash = change.hash();
                let signature = *signatures.get(&hash.0).ok_or_else(|| {
                    ReplicaError::Rejected(ChangeRejection::Malformed(format!(
                        "change {hash} arrived without a signature"
                    )))
                })?;
                let signed = SignedChange {
                    bytes: change.raw_bytes().to_vec(),
                    signature,
                };
                match validate_change(&signed, Some(&hash), log)? {
                    Verdict::Valid(v) => verified.push((hash, signed, v.author)),
                    Verdict::Pending { missing, .. } => {
                        missing_roster.extend(missing);
                        waiting.push(signed);
                    }
                }
            }
        }
        if !waiting.is_empty() {
            // Keep the verified-signature changes for later; the sender will resend on the next
            // round anyway, since we do not acknowledge them.
            let mut waiting = waiting;
            waiting.extend(verified.into_iter().map(|(_, s, _)| s));
            let kept = self
                .pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .admit(doc, *peer, waiting);
            if !kept {
                tracing::debug!(%peer, %doc, "pending queue full; the peer will offer these again");
            }
            missing_roster.sort();
            missing_roster.dedup();
            return Ok((
                Received {
                    applied: 0,
                    missing_roster,
                },
                None,
            ));
        }

        let (applied, applied_audience, ticket) = {
            let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            let canonical = self.load_automerge(&doc)?;
            let mut state = self.session(peer, &doc, ch, role)?;
            let mut candidate = canonical.clone();
            guarded(|| {
                candidate
                    .receive_sync_message(&mut state, message)
                    .map_err(|e| e.to_string())
            })
            .map_err(|e| ReplicaError::BadMessage(format!("sync message: {e}")))?;
            let new: Vec<&(ChangeHash, SignedChange, NodeId)> = verified
                .iter()
                .filter(|(h, _, _)| {
                    canonical.get_change_by_hash(h).is_none()
                        && candidate.get_change_by_hash(h).is_some()
                })
                .collect();
            let mut batch = WriteBatch::new();
            batch.put_sync_state(peer, &doc, state.encode());
            self.keep_session(peer, &doc, ch, state);
            if new.is_empty() {
                (0, None, self.store.apply(batch)?)
            } else {
                let entry = self.check_and_index(&doc, own_role, &canonical, &candidate)?;
                let ticket = self.store_remote(batch, &entry, &candidate, new.iter().copied())?;
                (new.len(), Some(entry.audience), ticket)
            }
        };
        if let Some(audience) = applied_audience {
            tracing::debug!(%doc, from = %peer.fmt_short(), applied, "applied remote changes");
            self.emit(ReplicaEvent::DocChanged(doc, audience));
        }
        Ok((
            Received {
                applied,
                missing_roster: vec![],
            },
            Some(ticket),
        ))
    }

    /// The document rule and read gating for a candidate document, then its index row.
    pub(super) fn check_and_index(
        &self,
        doc: &DocId,
        own_role: Role,
        canonical: &Automerge,
        candidate: &Automerge,
    ) -> Result<DocEntry> {
        let fed = self.federation_id().ok_or(ReplicaError::NoFederation)?;
        let damaged = |e: autosurgeon::HydrateError| {
            ReplicaError::Rejected(ChangeRejection::DocumentRule(format!(
                "document does not match its schema: {e}"
            )))
        };
        let before = docs::read_header(canonical).map_err(damaged)?;
        let after = docs::read_header(candidate).map_err(damaged)?;
        // For a new document, the rule is judged against the author of its first change.
        let author = match &before {
            Some(h) => h.creator,
            None => {
                let root = candidate.get_changes(&[]);
                let first = root.iter().find(|c| c.deps().is_empty()).ok_or_else(|| {
                    ReplicaError::Rejected(ChangeRejection::DocumentRule(
                        "document has no first change".into(),
                    ))
                })?;
                copnet_protocol::ActorId::from_automerge(first.actor_id())
                    .ok_or(ReplicaError::Rejected(ChangeRejection::NoAuthor))?
                    .node()
            }
        };
        check_document_rule(doc, &fed, &author, before.as_ref(), after.as_ref())?;
        let header = after.expect("the rule requires a header");
        if !may_read(own_role, header.audience) {
            return Err(ReplicaError::Forbidden(format!(
                "{doc} is for member nodes only; this node must not hold it"
            )));
        }
        let rendered = views::render(doc.kind(), candidate).map_err(damaged)?;
        Ok(rendered.into_entry(&candidate.get_heads()))
    }

    /// Adds verified remote changes with their signatures and the new state of their document to
    /// `batch`, applies it, and indexes the document. The caller holds the writer lock.
    pub(super) fn store_remote<'a>(
        &self,
        mut batch: WriteBatch,
        entry: &DocEntry,
        candidate: &Automerge,
        new: impl Iterator<Item = &'a (ChangeHash, SignedChange, NodeId)>,
    ) -> Result<crate::store::Ticket> {
        let now = now_ms();
        for (hash, signed, _) in new {
            batch.put_change(
                &entry.id,
                hash,
                &StoredChange {
                    signed: signed.clone(),
                    stored_at_ms: now,
                },
            );
        }
        batch.put_doc(entry, save(candidate));
        let ticket = self.store.apply(batch)?;
        self.index_entry(entry);
        Ok(ticket)
    }

    /// How many received changes wait for roster ops this node lacks.
    pub fn pending_changes(&self) -> usize {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Re-checks changes that were waiting for roster ops; applies those that are now valid.
    pub fn retry_pending(&self) -> Result<usize> {
        let waiting = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let mut applied = 0;
        for (doc, changes) in waiting {
            let mut ready = Vec::new();
            let mut still = Vec::new();
            {
                let guard = self.roster_read();
                let Some(log) = guard.as_ref() else { break };
                for w in changes {
                    match validate_change(&w.signed, None, log) {
                        Ok(Verdict::Valid(v)) => ready.push((v.hash, w.signed, v.author, v.change)),
                        Ok(Verdict::Pending { .. }) => still.push(w),
                        Err(e) => {
                            tracing::warn!(%doc, error = %e, "dropping a pending change that is invalid");
                        }
                    }
                }
            }
            if !still.is_empty() {
                let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
                for w in still {
                    pending.insert(doc, w);
                }
            }
            if ready.is_empty() {
                continue;
            }
            let own_role = self.own_role().ok_or(ReplicaError::NotActive)?;
            let ticket = {
                let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
                let canonical = self.load_automerge(&doc)?;
                let mut candidate = canonical.clone();
                candidate
                    .apply_changes(ready.iter().map(|(_, _, _, c)| c.clone()))
                    .map_err(|e| ReplicaError::BadMessage(e.to_string()))?;
                let new: Vec<(ChangeHash, SignedChange, NodeId)> = ready
                    .iter()
                    .filter(|(h, ..)| {
                        canonical.get_change_by_hash(h).is_none()
                            && candidate.get_change_by_hash(h).is_some()
                    })
                    .map(|(h, s, a, _)| (*h, s.clone(), *a))
                    .collect();
                if new.is_empty() {
                    continue;
                }
                let entry = match self.check_and_index(&doc, own_role, &canonical, &candidate) {
                    Ok(e) => e,
                    Err(e) => {
                        tracing::warn!(%doc, error = %e, "dropping pending changes");
                        continue;
                    }
                };
                let ticket =
                    self.store_remote(WriteBatch::new(), &entry, &candidate, new.iter())?;
                applied += new.len();
                (ticket, entry.audience)
            };
            self.store.wait_durable(ticket.0)?;
            self.emit(ReplicaEvent::DocChanged(doc, ticket.1));
        }
        Ok(applied)
    }
}

/// A document's bytes for the cache: never with changes whose dependencies are missing. Those
/// were not stored as changes either; the peer sends them again once their dependencies are here.
///
/// Only documents larger than [`DEFLATE_FROM_BYTES`] are compressed: most documents are a few
/// hundred bytes, where setting up DEFLATE costs more CPU than the few bytes it saves.
pub(super) fn save(doc: &Automerge) -> Vec<u8> {
    let options = |deflate| automerge::SaveOptions {
        deflate,
        retain_orphans: false,
    };
    let plain = doc.save_with_options(options(false));
    if plain.len() > DEFLATE_FROM_BYTES {
        doc.save_with_options(options(true))
    } else {
        plain
    }
}

/// Saved documents up to this size are stored uncompressed (see [`save`]).
const DEFLATE_FROM_BYTES: usize = 4096;
