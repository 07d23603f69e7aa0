//! The node's replica of its federation: the roster and every document, and the only way to read
//! or change them.
//!
//! A local write goes: check the input → refuse if this node may not write → load the document →
//! edit it with autosurgeon → commit one automerge change that cites the current roster heads →
//! sign it → run the same validity rule a remote node would run → render the index row → commit
//! change, signature, index and cache in one atomic batch → release the lock → wait until a flush
//! covers the batch → acknowledge. Writes are serialised by one lock so that a document's
//! (actor, seq) pairs are never reused; a new document, whose id no one else knows yet, is built
//! and signed before taking it. The fsync happens outside the lock, so concurrent writers share
//! one (group commit, see `Store::wait_durable`).
//!
//! The methods here block on disk I/O; async callers run them on the blocking pool.

use std::sync::{Arc, Mutex, RwLock};

use automerge::{AutoCommit, transaction::CommitOptions};
use autosurgeon::{Hydrate, Reconcile, hydrate, reconcile};
use copnet_protocol::docs::{self, Audience, Header, SCHEMA_VERSION};
use copnet_protocol::roster::RosterState;
use copnet_protocol::validity::{check_document_rule, roster_heads_message};
use copnet_protocol::{
    ActorId, ChangeRejection, DocId, DocKind, FederationId, NodeId, NodeKey, Profile, Role,
    RosterLog, RosterOp, RosterOpBody, SignedChange, Verdict, validate_change,
};
use serde::{Deserialize, Serialize};

mod archive;
mod facilitation;
mod federation;
mod repertoire;
mod sync;

pub use archive::{EXPORT_FORMAT, Export, ExportedDoc, ExportedSignature, ImportReport};
pub use facilitation::{
    DEFAULT_SURVEY_DAYS, MAX_OPTIONS, MAX_STORY_LINKS, NewQuestion, NewStory, NewSurvey,
    SurveyResponse,
};
pub use federation::{IssuedInvite, MAX_INVITE_TTL_MS, RemovalStatus};

pub use repertoire::*;
pub use sync::{Channel, Received, may_read};

use crate::store::{DocEntry, Store, StoreError, StoredChange, Ticket, WriteBatch};
use crate::validate::{self, InputError};
use crate::views::{self, Render, Rendered};
use copnet_protocol::collection::Collections;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(
        "this node is not in a federation yet: create one with `copnet federation create NAME` (or join one with an invite)"
    )]
    NoFederation,
    #[error("this node already belongs to federation {0}; a node belongs to one federation")]
    AlreadyInFederation(FederationId),
    #[error("no {kind} {id} on this node")]
    NotFound { kind: &'static str, id: String },
    #[error(
        "this node is a peripheral member of the federation: it holds a read-only replica and cannot write shared content"
    )]
    ReadOnly,
    #[error("this node is no longer an active member of the federation and cannot write")]
    NotActive,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("refused by the validity rule: {0}")]
    Rejected(#[from] ChangeRejection),
    #[error("document {id} is damaged: {why}")]
    Damaged { id: DocId, why: String },
    #[error("not allowed: {0}")]
    Forbidden(String),
    #[error("bad message: {0}")]
    BadMessage(String),
    #[error("{0}")]
    Identifying(GateRefusal),
}

/// What changed in the replica; the network layer listens to announce and push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaEvent {
    /// A document was written here or received from a peer.
    DocChanged(DocId, Audience),
    RosterChanged,
}

/// Capacity of the replica's event channel. Events are hints; a slow listener that lags just
/// sees fewer of them and re-reads the state.
pub const EVENT_CHANNEL_CAPACITY: usize = 64;

pub type Result<T, E = ReplicaError> = std::result::Result<T, E>;

/// This node's wall clock, in Unix milliseconds. Every date the node writes or judges comes from
/// here (fault-injection tests move it; see `crate::faults`).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
        .saturating_add(crate::faults::clock_offset_ms())
}

/// [`now_ms`] as a date and time.
pub fn now_utc() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(now_ms()).unwrap_or_default()
}

/// The federation as `copnet status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct FederationSummary {
    pub id: FederationId,
    pub name: String,
    pub role: Option<Role>,
}

// ---- inputs: what the API accepts and the CLI sends, as typed by a person -------------------

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewFederation {
    pub name: String,
    #[serde(default)]
    pub charter: Option<String>,
}

/// What `rebuild` found and did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RebuildReport {
    pub documents: usize,
    pub changes: usize,
    pub invalid_changes: usize,
    pub pending_changes: usize,
}

fn new_search_index() -> Result<crate::search::SearchIndex> {
    crate::search::SearchIndex::new().map_err(|e| {
        ReplicaError::Store(StoreError::Corrupt {
            key: "search index".into(),
            why: e.to_string(),
        })
    })
}

/// Puts a document into the search index. A failure here loses a search hit, never data: it is
/// logged, and the next start rebuilds the index.
fn index_for_search(index: &crate::search::SearchIndex, entry: &DocEntry) {
    if let Err(e) = index.upsert(views::search_doc(entry)) {
        tracing::warn!(doc = %entry.id, error = %e, "document not indexed for search");
    }
}

/// Parses `s` as the id of a `kind` document, with a message that names the mix-up.
pub fn parse_id(s: &str, kind: DocKind) -> Result<DocId, InputError> {
    let id: DocId = s
        .parse()
        .map_err(|e: copnet_protocol::IdError| InputError(e.to_string()))?;
    if id.kind() != kind {
        return Err(InputError(format!(
            "{s} is a {} id, but a {kind} id was expected (they start with {}_)",
            id.kind(),
            kind.id_prefix()
        )));
    }
    Ok(id)
}

fn audience(s: Option<&str>, default: Audience) -> Result<Audience, InputError> {
    match s {
        None => Ok(default),
        Some(s) => s.trim().parse().map_err(InputError),
    }
}

pub struct Replica {
    key: NodeKey,
    node_id: NodeId,
    actor: ActorId,
    profile: Profile,
    store: Store,
    roster: RwLock<Option<RosterLog>>,
    writer: Mutex<()>,
    collections: RwLock<Collections>,
    pending: Mutex<sync::Pending>,
    sessions: Mutex<HashMap<(NodeId, DocId, sync::Channel), automerge::sync::State>>,
    /// Names the de-identification gate always flags: this organisation's clients and families,
    /// from `<data>/private-names.txt`. Never replicated.
    private_names: RwLock<Vec<String>>,
    /// Full-text index over every document held; a cache rebuilt at open.
    search: RwLock<Arc<crate::search::SearchIndex>>,
    /// Hydrated communities with a digest of the bytes they were read from
    /// (see `Replica::community`).
    communities: Mutex<HashMap<DocId, CachedCommunity>>,
    events: tokio::sync::broadcast::Sender<ReplicaEvent>,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("node", &self.node_id)
            .finish()
    }
}

impl Replica {
    /// Opens the replica over `store`, re-verifying the stored roster.
    pub fn open(key: NodeKey, profile: Profile, store: Store) -> Result<Arc<Self>> {
        let node_id = key.node_id();
        let roster = match store.meta("federation")? {
            None => None,
            Some(bytes) => {
                let fed =
                    FederationId(
                        bytes
                            .as_slice()
                            .try_into()
                            .map_err(|_| StoreError::Corrupt {
                                key: "meta/federation".into(),
                                why: "not 32 bytes".into(),
                            })?,
                    );
                let mut log = RosterLog::new(fed);
                for op in store.roster_ops()? {
                    let hash = op.hash();
                    let verified = op.verify().map_err(|e| StoreError::Corrupt {
                        key: format!("roster/{hash}"),
                        why: e.to_string(),
                    })?;
                    match log.insert(verified) {
                        Ok(_) => {}
                        // Kept by an older version that stored ops from outside the roster;
                        // harmless to leave out.
                        Err(copnet_protocol::roster::RosterError::UnknownAuthor) => {
                            tracing::warn!(op = %hash, "skipping a stored roster op by an unknown author");
                        }
                        Err(e) => {
                            return Err(StoreError::Corrupt {
                                key: format!("roster/{hash}"),
                                why: e.to_string(),
                            }
                            .into());
                        }
                    }
                }
                Some(log)
            }
        };
        let mut collections = Collections::default();
        let search = new_search_index()?;
        for entry in store.all_docs()? {
            collections.of_mut(entry.audience).upsert(
                entry.id,
                copnet_protocol::collection::item_hash(&entry.id, &entry.heads),
            );
            index_for_search(&search, &entry);
        }
        Ok(Arc::new(Self {
            actor: ActorId::for_process(node_id),
            key,
            node_id,
            profile,
            store,
            roster: RwLock::new(roster),
            writer: Mutex::new(()),
            collections: RwLock::new(collections),
            pending: Mutex::default(),
            sessions: Mutex::default(),
            private_names: RwLock::default(),
            search: RwLock::new(Arc::new(search)),
            communities: Mutex::default(),
            events: tokio::sync::broadcast::channel(EVENT_CHANNEL_CAPACITY).0,
        }))
    }

    /// Subscribes to changes of the replica.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<ReplicaEvent> {
        self.events.subscribe()
    }

    fn emit(&self, event: ReplicaEvent) {
        // No listener (no network running) is fine.
        let _ = self.events.send(event);
    }

    /// This node's key, for the network layer's identity.
    pub fn key(&self) -> &NodeKey {
        &self.key
    }

    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Sets the names the gate always flags (see `private_names`).
    pub fn set_private_names(&self, names: Vec<String>) {
        *self
            .private_names
            .write()
            .unwrap_or_else(|e| e.into_inner()) = names;
    }

    pub fn private_names(&self) -> Vec<String> {
        self.private_names
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Full-text search over every document this node holds.
    pub fn search(
        &self,
        q: &crate::search::Query,
    ) -> std::result::Result<Vec<crate::search::Hit>, crate::search::SearchError> {
        let index = self
            .search
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        index.search(q)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    fn roster_read(&self) -> std::sync::RwLockReadGuard<'_, Option<RosterLog>> {
        self.roster.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn roster_state(&self) -> Option<Arc<RosterState>> {
        self.roster_read().as_ref().map(|l| l.state())
    }

    pub fn federation(&self) -> Option<FederationSummary> {
        let guard = self.roster_read();
        let log = guard.as_ref()?;
        let state = log.state();
        Some(FederationSummary {
            id: log.federation(),
            name: state.name.clone(),
            role: state
                .member(&self.node_id)
                .filter(|m| m.status == copnet_protocol::MemberStatus::Active)
                .map(|m| m.role),
        })
    }

    /// Founds a federation with this node as its first member.
    pub fn create_federation(&self, input: NewFederation) -> Result<FederationSummary> {
        let name = validate::title("federation name", &input.name)?;
        let charter = validate::text("charter", input.charter.as_deref().unwrap_or(""), 4_000)?;
        let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(log) = self.roster_read().as_ref() {
            return Err(ReplicaError::AlreadyInFederation(log.federation()));
        }
        let genesis = RosterOp {
            federation: None,
            author: self.node_id,
            parents: vec![],
            created_at_ms: now_ms().max(0) as u64,
            body: RosterOpBody::Genesis {
                name,
                charter,
                profile: self.profile.clone(),
                nonce: rand::random(),
            },
        }
        .sign(&self.key);
        let hash = genesis.hash();
        let fed = FederationId(hash.0);
        let mut log = RosterLog::new(fed);
        log.insert(genesis.verify().expect("own genesis verifies"))
            .expect("genesis belongs to its own federation");
        let mut batch = WriteBatch::new();
        batch.put_roster_op(&hash, &genesis);
        batch.put_meta("federation", fed.as_bytes());
        self.store.commit(batch)?;
        *self.roster.write().unwrap_or_else(|e| e.into_inner()) = Some(log);
        tracing::info!(federation = %fed, "founded federation");
        self.emit(ReplicaEvent::RosterChanged);
        Ok(self.federation().expect("just created"))
    }

    // ---- reads ---------------------------------------------------------------------------

    /// One document's index row.
    pub fn get(&self, id: &DocId) -> Result<DocEntry> {
        self.store
            .doc_entry(id)?
            .ok_or_else(|| ReplicaError::NotFound {
                kind: id.kind().as_str(),
                id: id.to_string(),
            })
    }

    /// Documents of `kind`, optionally only those of one community, newest first.
    pub fn list(&self, kind: DocKind, community: Option<&DocId>) -> Result<Vec<DocEntry>> {
        let mut rows = match community {
            None => self.store.docs_of_kind(kind)?,
            Some(c) => {
                self.get(c)?;
                let mut rows = Vec::new();
                for id in self.store.docs_in_community(c)? {
                    if id.kind() == kind
                        && let Some(e) = self.store.doc_entry(&id)?
                    {
                        rows.push(e);
                    }
                }
                rows
            }
        };
        rows.sort_by_key(|e| std::cmp::Reverse((e.created_at_ms, e.id)));
        Ok(rows)
    }

    /// A document as its typed value.
    fn read<T: Hydrate>(&self, id: &DocId) -> Result<T> {
        self.hydrate_bytes(id, &self.stored_bytes(id)?)
    }

    /// A document's stored automerge bytes as its typed value.
    fn hydrate_bytes<T: Hydrate>(&self, id: &DocId, bytes: &[u8]) -> Result<T> {
        let damaged = |why: String| ReplicaError::Damaged { id: *id, why };
        let doc = automerge::Automerge::load(bytes).map_err(|e| damaged(e.to_string()))?;
        hydrate(&doc).map_err(|e| damaged(e.to_string()))
    }

    /// A document's stored automerge bytes; NotFound unless it is on this node.
    fn stored_bytes(&self, id: &DocId) -> Result<Vec<u8>> {
        self.store
            .automerge_bytes(id)?
            .ok_or_else(|| ReplicaError::NotFound {
                kind: id.kind().as_str(),
                id: id.to_string(),
            })
    }

    fn load(&self, id: &DocId) -> Result<AutoCommit> {
        let bytes = self.stored_bytes(id)?;
        let doc = AutoCommit::load(&bytes).map_err(|e| ReplicaError::Damaged {
            id: *id,
            why: e.to_string(),
        })?;
        Ok(doc.with_actor(self.actor.to_automerge()))
    }

    // ---- writes --------------------------------------------------------------------------

    /// The federation and roster heads a local write will cite, if this node may write.
    fn writable(&self) -> Result<FederationId> {
        let guard = self.roster_read();
        let log = guard.as_ref().ok_or(ReplicaError::NoFederation)?;
        let state = log.state();
        match state.member(&self.node_id) {
            Some(m) if m.status == copnet_protocol::MemberStatus::Active => {
                if m.role == Role::Member {
                    Ok(log.federation())
                } else {
                    Err(ReplicaError::ReadOnly)
                }
            }
            _ => Err(ReplicaError::NotActive),
        }
    }

    fn header(&self, id: DocId, fed: FederationId, community: DocId, audience: Audience) -> Header {
        Header {
            id,
            kind: id.kind(),
            federation: fed,
            community,
            audience,
            creator: self.node_id,
            schema_version: SCHEMA_VERSION,
            created_at_ms: now_ms(),
        }
    }

    fn require_community(&self, s: &str) -> Result<DocId> {
        let id = parse_id(s, DocKind::Community)?;
        self.require(&id)?;
        Ok(id)
    }

    /// Fails with NotFound unless `id` is on this node.
    fn require(&self, id: &DocId) -> Result<()> {
        if self.store.has_doc(id)? {
            Ok(())
        } else {
            Err(ReplicaError::NotFound {
                kind: id.kind().as_str(),
                id: id.to_string(),
            })
        }
    }

    /// Stores a new document. Its id is fresh and random, so no other writer can touch it until
    /// it is stored: the document is built, committed, signed and serialised outside the writer
    /// lock, which covers only the store batch and the index. Concurrent creates share both cores.
    fn create<T: Reconcile + Render>(&self, id: DocId, value: &T) -> Result<DocEntry> {
        let under_way = self.store.begin_write();
        let fed = self.writable()?;
        let mut doc = AutoCommit::new().with_actor(self.actor.to_automerge());
        reconcile(&mut doc, value).map_err(|e| ReplicaError::Damaged {
            id,
            why: e.to_string(),
        })?;
        let rendered = Rendered::of(value);
        let sealed = self.seal(id, fed, &mut doc, None, &rendered)?;
        let prepared = Prepared::new(&mut doc, sealed.into_iter().collect(), rendered);
        let (entry, ticket) = {
            let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            self.store_prepared(id, prepared)?
        };
        drop(under_way);
        self.store.wait_durable(ticket)?;
        self.emit(ReplicaEvent::DocChanged(entry.id, entry.audience));
        Ok(entry)
    }

    fn edit<T: Hydrate + Reconcile + Render>(
        &self,
        id: DocId,
        f: impl FnOnce(&mut T) -> Result<()>,
    ) -> Result<DocEntry> {
        let under_way = self.store.begin_write();
        let (entry, ticket) = {
            let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            self.edit_locked(id, f)?
        };
        drop(under_way);
        self.store.wait_durable(ticket)?;
        self.emit(ReplicaEvent::DocChanged(entry.id, entry.audience));
        Ok(entry)
    }

    fn edit_locked<T: Hydrate + Reconcile + Render>(
        &self,
        id: DocId,
        f: impl FnOnce(&mut T) -> Result<()>,
    ) -> Result<(DocEntry, Ticket)> {
        let fed = self.writable()?;
        let mut doc = self.load(&id)?;
        let before = docs::read_header(&doc).map_err(|e| ReplicaError::Damaged {
            id,
            why: e.to_string(),
        })?;
        let mut value: T = hydrate(&doc).map_err(|e| ReplicaError::Damaged {
            id,
            why: e.to_string(),
        })?;
        f(&mut value)?;
        reconcile(&mut doc, &value).map_err(|e| ReplicaError::Damaged {
            id,
            why: e.to_string(),
        })?;
        self.commit_local(id, fed, &mut doc, before, Rendered::of(&value))
    }

    /// Commits the pending edits of `doc` as one signed change and applies it to the store. The
    /// caller holds the writer lock, releases it, then waits on the ticket before acknowledging.
    /// `rendered` is the typed value the edits reconciled, rendered.
    fn commit_local(
        &self,
        id: DocId,
        fed: FederationId,
        doc: &mut AutoCommit,
        before: Option<Header>,
        rendered: Rendered,
    ) -> Result<(DocEntry, Ticket)> {
        let sealed = self.seal(id, fed, doc, before.as_ref(), &rendered)?;
        self.store_local(id, doc, sealed.into_iter().collect(), rendered)
    }

    /// Commits the pending edits of `doc` as one change citing the current roster heads, signs
    /// it, and checks it as a remote node would. `None` when the edits changed nothing. The caller
    /// holds the writer lock, unless `doc` is a new document (see [`Replica::create`]), and stores
    /// what this returns with [`Replica::store_prepared`].
    fn seal(
        &self,
        id: DocId,
        fed: FederationId,
        doc: &mut AutoCommit,
        before: Option<&Header>,
        rendered: &Rendered,
    ) -> Result<Option<(automerge::ChangeHash, StoredChange)>> {
        // The heads to cite, and the check that this node may write at exactly those heads, in
        // one read of the roster: validity rule 3 for our own change.
        let heads = {
            let guard = self.roster_read();
            let log = guard.as_ref().ok_or(ReplicaError::NoFederation)?;
            let heads = log.heads();
            let state = log.state_at(&heads).expect("current heads are known");
            if !state.can_write(&self.node_id) {
                return Err(if state.is_active(&self.node_id) {
                    ReplicaError::ReadOnly
                } else {
                    ReplicaError::NotActive
                });
            }
            heads
        };
        let now = now_ms();
        let committed = doc.commit_with(
            CommitOptions::default()
                .with_message(roster_heads_message(&heads))
                .with_time(now / 1000),
        );
        if committed.is_none() {
            return Ok(None);
        }
        let change = doc
            .get_last_local_change()
            .expect("a change was just committed");
        // Rules 1 and 2 hold by construction: we hash and sign the change ourselves. Debug builds
        // check the whole rule anyway, exactly as a remote node would.
        let signed = SignedChange::sign(&change, &self.key);
        debug_assert!(matches!(
            validate_change(
                &signed,
                Some(&change.hash()),
                self.roster_read().as_ref().expect("in a federation")
            ),
            Ok(Verdict::Valid(_))
        ));
        check_document_rule(&id, &fed, &self.node_id, before, Some(&rendered.header))?;
        Ok(Some((
            change.hash(),
            StoredChange {
                signed,
                stored_at_ms: now,
            },
        )))
    }

    /// Stores sealed changes of `doc` with its new state and index row in one atomic batch.
    fn store_local(
        &self,
        id: DocId,
        doc: &mut AutoCommit,
        changes: Vec<(automerge::ChangeHash, StoredChange)>,
        rendered: Rendered,
    ) -> Result<(DocEntry, Ticket)> {
        self.store_prepared(id, Prepared::new(doc, changes, rendered))
    }

    /// Applies a prepared write and indexes it. The caller holds the writer lock.
    fn store_prepared(&self, id: DocId, prepared: Option<Prepared>) -> Result<(DocEntry, Ticket)> {
        let Some(Prepared {
            entry,
            batch,
            changes,
        }) = prepared
        else {
            // Nothing changed (an edit that set every field to its current value); wait for
            // whatever is in flight so that what we return is durable.
            return Ok((self.get(&id)?, self.store.apply(WriteBatch::new())?));
        };
        let ticket = self.store.apply(batch)?;
        self.index_entry(&entry);
        tracing::debug!(doc = %id, changes, "stored local changes");
        Ok((entry, ticket))
    }

    // ---- maintenance -----------------------------------------------------------------------

    /// Deletes every document this node holds (`federation leave --purge`); the roster and the
    /// identity stay.
    pub fn purge_content(&self) -> Result<()> {
        let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        self.store.purge_content()?;
        *self.collections.write().unwrap_or_else(|e| e.into_inner()) = Collections::default();
        *self.search.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(new_search_index()?);
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        Ok(())
    }

    /// Rebuilds every cache (automerge documents, index) from the signed changes, re-checking
    /// each change against the validity rule on the way.
    pub fn rebuild(&self) -> Result<RebuildReport> {
        let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let guard = self.roster_read();
        let mut report = RebuildReport::default();
        let ids = self.store.docs_with_changes()?;
        self.store.clear_caches()?;
        *self.collections.write().unwrap_or_else(|e| e.into_inner()) = Collections::default();
        *self.search.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(new_search_index()?);
        let Some(log) = guard.as_ref() else {
            return Ok(report);
        };
        let fed = log.federation();
        for id in ids {
            let mut changes = Vec::new();
            for stored in self.store.changes_of(&id)? {
                report.changes += 1;
                match validate_change(&stored.signed, None, log) {
                    Ok(Verdict::Valid(v)) => changes.push(v.change),
                    Ok(Verdict::Pending { .. }) => report.pending_changes += 1,
                    Err(e) => {
                        tracing::warn!(doc = %id, error = %e, "skipping invalid stored change");
                        report.invalid_changes += 1;
                    }
                }
            }
            let mut doc = AutoCommit::new();
            doc.apply_changes(changes)
                .map_err(|e| ReplicaError::Damaged {
                    id,
                    why: e.to_string(),
                })?;
            let rendered = views::render(id.kind(), &doc).map_err(|e| ReplicaError::Damaged {
                id,
                why: e.to_string(),
            })?;
            if rendered.header.id != id || rendered.header.federation != fed {
                tracing::warn!(doc = %id, "skipping a document whose header names another document");
                continue;
            }
            let entry = rendered.into_entry(&doc.get_heads());
            let mut batch = WriteBatch::new();
            batch.put_doc(&entry, sync::save(doc.document()));
            self.store.commit(batch)?;
            self.index_entry(&entry);
            report.documents += 1;
        }
        Ok(report)
    }
}

/// A hydrated community and the SHA-256 of the stored bytes it was read from.
type CachedCommunity = ([u8; 32], Arc<docs::Community>);

/// A local write ready to store: its index row and the batch holding its changes and the
/// document's new state. Built without any lock; stored by [`Replica::store_prepared`].
struct Prepared {
    entry: DocEntry,
    batch: WriteBatch,
    changes: usize,
}

impl Prepared {
    /// `None` when there are no changes to store.
    fn new(
        doc: &mut AutoCommit,
        changes: Vec<(automerge::ChangeHash, StoredChange)>,
        rendered: Rendered,
    ) -> Option<Self> {
        if changes.is_empty() {
            return None;
        }
        let entry = rendered.into_entry(&doc.get_heads());
        let mut batch = WriteBatch::new();
        for (hash, change) in &changes {
            batch.put_change(&entry.id, hash, change);
        }
        batch.put_doc(&entry, sync::save(doc.document()));
        Some(Self {
            entry,
            batch,
            changes: changes.len(),
        })
    }
}
