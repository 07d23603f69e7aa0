//! The node's on-disk store: sled 0.34 behind this one type (DESIGN §7), so the engine can be
//! swapped here without touching the rest of the node.
//!
//! **Source of truth**: signed roster ops and signed changes. **Caches**, rebuildable from them:
//! the materialised automerge documents, the document index and the community index.
//!
//! Everything lives in one sled tree under one-byte key prefixes. One tree means one atomic
//! [`sled::Batch`] can carry a change, its signature, its index entries and its cache update
//! together; [`Store::commit`] applies that batch and flushes before returning, and only then is a
//! write acknowledged. (A tree per document would also cost disk: see `research/perf-anchors.md`
//! §3.2 on sled with many trees.)

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};

use automerge::ChangeHash;
use copnet_protocol::docs::Audience;
use copnet_protocol::ids::DOC_KEY_LEN;
use copnet_protocol::{DocId, DocKind, NodeId, OpHash, SignedChange, SignedRosterOp};
use serde::{Deserialize, Serialize};

const META: u8 = b'm';
const ROSTER: u8 = b'r';
const CHANGES: u8 = b'c';
const DOCS: u8 = b'd';
const COMMUNITY_INDEX: u8 = b'k';
const AUTOMERGE_CACHE: u8 = b'a';
const SYNC_STATE: u8 = b's';
const ADDRESS_BOOK: u8 = b'p';
/// Survey responses given on this node: never replicated (only aggregates are published).
const RESPONSES: u8 = b'v';
/// Who on this node has answered a survey, kept apart from the answers themselves.
const RESPONDENTS: u8 = b'w';
/// Sign-in accounts of the web interface (`crate::accounts`): local, never replicated, and kept
/// when content is purged.
const ACCOUNTS: u8 = b'u';

/// Layout version of this store; bumped when keys or values change shape.
pub const STORE_FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the store at {0} is in use by another copnet process (is `copnet up` already running with this data directory?)"
    )]
    Locked(String),
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    #[error("the store holds a damaged record under {key}: {why}; run `copnet doctor --rebuild`")]
    Corrupt { key: String, why: String },
    #[error(
        "the store was written by a newer copnet (format {found}, this build reads {STORE_FORMAT})"
    )]
    TooNew { found: u32 },
    #[error(
        "an earlier flush to disk failed ({0}); the node stops accepting writes until it is restarted"
    )]
    FlushFailed(String),
}

/// The index row of one document: what listings need without loading the document.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DocEntry {
    pub id: DocId,
    pub community: DocId,
    pub audience: Audience,
    pub creator: NodeId,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// The document's current automerge heads, hex.
    pub heads: Vec<String>,
    /// The JSON rendering served by the API.
    pub view: serde_json::Value,
}

/// A signed change as stored, with when this node stored it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredChange {
    pub signed: SignedChange,
    pub stored_at_ms: i64,
}

/// Everything one write puts on disk. Applied atomically by [`Store::commit`].
#[derive(Default)]
pub struct WriteBatch {
    batch: sled::Batch,
    empty: bool,
}

impl WriteBatch {
    pub fn new() -> Self {
        Self {
            batch: sled::Batch::default(),
            empty: true,
        }
    }

    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.batch.insert(key, value);
        self.empty = false;
    }

    fn delete(&mut self, key: Vec<u8>) {
        self.batch.remove(key);
        self.empty = false;
    }

    pub fn put_meta(&mut self, name: &str, value: &[u8]) {
        self.put(key(META, name.as_bytes()), value.to_vec());
    }

    pub fn put_roster_op(&mut self, hash: &OpHash, op: &SignedRosterOp) {
        self.put(
            key(ROSTER, hash.as_bytes()),
            postcard::to_allocvec(op).expect("roster ops encode"),
        );
    }

    pub fn put_change(&mut self, doc: &DocId, hash: &ChangeHash, change: &StoredChange) {
        self.put(
            key2(CHANGES, &doc.to_key(), &hash.0),
            postcard::to_allocvec(change).expect("changes encode"),
        );
    }

    pub fn put_doc(&mut self, entry: &DocEntry, automerge_bytes: Vec<u8>) {
        let id = entry.id.to_key();
        self.put(
            key(DOCS, &id),
            serde_json::to_vec(entry).expect("doc entries encode"),
        );
        self.put(
            key2(COMMUNITY_INDEX, &entry.community.to_key(), &id),
            vec![],
        );
        self.put(key(AUTOMERGE_CACHE, &id), automerge_bytes);
    }

    /// The automerge sync state shared with `peer` for `doc` (DESIGN §6: persisted
    /// `shared_heads`).
    pub fn put_sync_state(&mut self, peer: &NodeId, doc: &DocId, state: Vec<u8>) {
        self.put(key2(SYNC_STATE, peer.as_bytes(), &doc.to_key()), state);
    }

    /// Known addresses of a peer, as multiaddr strings.
    pub fn put_addresses(&mut self, peer: &NodeId, addrs: &[String]) {
        self.put(
            key(ADDRESS_BOOK, peer.as_bytes()),
            serde_json::to_vec(addrs).expect("strings encode"),
        );
    }

    /// One survey response given here, under a random id so it is not tied to the respondent.
    pub fn put_response(&mut self, survey: &DocId, response: &[u8; 8], answers: &[u8]) {
        self.put(
            key2(RESPONSES, &survey.to_key(), response),
            answers.to_vec(),
        );
    }

    /// Records that `person` has answered `survey`.
    pub fn put_respondent(&mut self, survey: &DocId, person: &str) {
        self.put(
            key2(RESPONDENTS, &survey.to_key(), person.as_bytes()),
            vec![],
        );
    }

    pub fn is_empty(&self) -> bool {
        self.empty
    }
}

fn key(prefix: u8, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + rest.len());
    k.push(prefix);
    k.extend_from_slice(rest);
    k
}

fn key2(prefix: u8, a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut k = key(prefix, a);
    k.extend_from_slice(b);
    k
}

fn corrupt(k: &[u8], why: impl ToString) -> StoreError {
    StoreError::Corrupt {
        key: hex::encode(k),
        why: why.to_string(),
    }
}

/// Proof that a batch was applied; [`Store::wait_durable`] turns it into "on disk".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[must_use = "a write is not durable until wait_durable returns"]
pub struct Ticket(u64);

/// Group commit: writers apply their batches one after another, then share fsyncs. Whoever finds
/// no flush running flushes everything applied so far; the others wait for a flush that covers
/// their ticket. One fsync then acknowledges many writes.
///
/// A flush only covers what was applied when it started, and a write usually spends longer
/// building its batch than the fsync takes, so concurrent writers would still flush one by one.
/// Writers therefore announce themselves with [`Store::begin_write`]; the writer about to flush
/// first waits, for at most [`GATHER_AT_MOST`], until the writes under way have applied their
/// batches (PostgreSQL's `commit_delay` with `commit_siblings`). A lone writer never waits.
#[derive(Default)]
struct GroupCommit {
    state: Mutex<FlushState>,
    flushed: Condvar,
    /// Signalled when a write under way has applied its batch or given up.
    settled: Condvar,
}

#[derive(Default)]
struct FlushState {
    applied: u64,
    durable: u64,
    flushing: bool,
    /// Writes begun with [`Store::begin_write`] that have not applied their batch yet.
    under_way: usize,
    /// Once a flush fails, what is on disk is unknown: refuse every later acknowledgement.
    failed: Option<String>,
}

/// The longest a flush waits for the writes under way to join it.
const GATHER_AT_MOST: std::time::Duration = std::time::Duration::from_micros(500);

/// A write under way (see [`GroupCommit`]); drop it once the write's batch is applied, before
/// waiting for it to be durable.
#[must_use = "the write counts as under way until this is dropped"]
pub struct WriteUnderWay<'a>(&'a GroupCommit);

impl Drop for WriteUnderWay<'_> {
    fn drop(&mut self) {
        let mut st = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        st.under_way -= 1;
        if st.under_way == 0 {
            self.0.settled.notify_all();
        }
    }
}

/// The node's store. Cheap to clone; clones share the database.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    data: sled::Tree,
    group: Arc<GroupCommit>,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            // A node's working set is small; sled's 1 GiB default cache would dwarf it.
            .cache_capacity(64 * 1024 * 1024)
            .open()
            .map_err(|e| match e {
                sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => {
                    StoreError::Locked(dir.display().to_string())
                }
                sled::Error::Io(io) if io.to_string().contains("lock") => {
                    StoreError::Locked(dir.display().to_string())
                }
                other => StoreError::Sled(other),
            })?;
        let data = db.open_tree("copnet")?;
        let store = Self {
            db,
            data,
            group: Arc::default(),
        };
        match store.meta("format")? {
            None => {
                let mut b = WriteBatch::new();
                b.put_meta("format", &STORE_FORMAT.to_be_bytes());
                store.commit(b)?;
            }
            Some(v) => {
                let found = u32::from_be_bytes(
                    v.as_slice()
                        .try_into()
                        .map_err(|_| corrupt(b"mformat", "bad format marker"))?,
                );
                if found > STORE_FORMAT {
                    return Err(StoreError::TooNew { found });
                }
            }
        }
        Ok(store)
    }

    /// Applies `batch` atomically and flushes it to disk. When this returns `Ok`, the write
    /// survives a crash.
    pub fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let ticket = self.apply(batch)?;
        self.wait_durable(ticket)
    }

    /// Applies `batch` atomically, visible to readers at once but not yet durable. Callers that
    /// must order writes hold their own lock across `apply` and release it before
    /// [`Store::wait_durable`], so that one fsync can cover many writers.
    pub fn apply(&self, batch: WriteBatch) -> Result<Ticket, StoreError> {
        if !batch.is_empty() {
            self.data.apply_batch(batch.batch)?;
        }
        let mut st = self.group.state.lock().unwrap_or_else(|e| e.into_inner());
        // Numbered after the batch is in: a flush that starts after this sees it.
        st.applied += 1;
        Ok(Ticket(st.applied))
    }

    /// Counts a write as under way until the returned guard is dropped, so that a flush starting
    /// meanwhile can wait for it (see [`GroupCommit`]).
    pub fn begin_write(&self) -> WriteUnderWay<'_> {
        self.group
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .under_way += 1;
        WriteUnderWay(&self.group)
    }

    /// Blocks until everything applied up to `ticket` is on disk.
    pub fn wait_durable(&self, ticket: Ticket) -> Result<(), StoreError> {
        let mut st = self.group.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(why) = &st.failed {
                return Err(StoreError::FlushFailed(why.clone()));
            }
            if st.durable >= ticket.0 {
                return Ok(());
            }
            if !st.flushing {
                st.flushing = true;
                let deadline = std::time::Instant::now() + GATHER_AT_MOST;
                while st.under_way > 0 {
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    st = self
                        .group
                        .settled
                        .wait_timeout(st, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
                let target = st.applied;
                drop(st);
                let result = self.db.flush();
                st = self.group.state.lock().unwrap_or_else(|e| e.into_inner());
                st.flushing = false;
                match result {
                    Ok(_) => st.durable = st.durable.max(target),
                    Err(e) => {
                        tracing::error!(error = %e, "flush to disk failed");
                        st.failed = Some(e.to_string());
                    }
                }
                self.group.flushed.notify_all();
                continue;
            }
            st = self
                .group
                .flushed
                .wait(st)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    pub fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .data
            .get(key(META, name.as_bytes()))?
            .map(|v| v.to_vec()))
    }

    /// Every stored roster op.
    pub fn roster_ops(&self) -> Result<Vec<SignedRosterOp>, StoreError> {
        self.data
            .scan_prefix([ROSTER])
            .map(|kv| {
                let (k, v) = kv?;
                postcard::from_bytes(&v).map_err(|e| corrupt(&k, e))
            })
            .collect()
    }

    /// Every stored change of one document.
    pub fn changes_of(&self, doc: &DocId) -> Result<Vec<StoredChange>, StoreError> {
        self.data
            .scan_prefix(key(CHANGES, &doc.to_key()))
            .map(|kv| {
                let (k, v) = kv?;
                postcard::from_bytes(&v).map_err(|e| corrupt(&k, e))
            })
            .collect()
    }

    /// Ids of every document that has at least one stored change.
    pub fn docs_with_changes(&self) -> Result<Vec<DocId>, StoreError> {
        let mut out: Vec<DocId> = Vec::new();
        for kv in self.data.scan_prefix([CHANGES]) {
            let (k, _) = kv?;
            let id = DocId::from_key(&k[1..1 + DOC_KEY_LEN]).map_err(|e| corrupt(&k, e))?;
            if out.last() != Some(&id) {
                out.push(id);
            }
        }
        Ok(out)
    }

    pub fn doc_entry(&self, id: &DocId) -> Result<Option<DocEntry>, StoreError> {
        let k = key(DOCS, &id.to_key());
        self.data
            .get(&k)?
            .map(|v| serde_json::from_slice(&v).map_err(|e| corrupt(&k, e)))
            .transpose()
    }

    /// The stored signature of one change.
    pub fn change(&self, doc: &DocId, hash: &[u8; 32]) -> Result<Option<StoredChange>, StoreError> {
        let k = key2(CHANGES, &doc.to_key(), hash);
        self.data
            .get(&k)?
            .map(|v| postcard::from_bytes(&v).map_err(|e| corrupt(&k, e)))
            .transpose()
    }

    pub fn sync_state(&self, peer: &NodeId, doc: &DocId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .data
            .get(key2(SYNC_STATE, peer.as_bytes(), &doc.to_key()))?
            .map(|v| v.to_vec()))
    }

    /// Every peer's known addresses.
    pub fn address_book(&self) -> Result<Vec<(NodeId, Vec<String>)>, StoreError> {
        self.data
            .scan_prefix([ADDRESS_BOOK])
            .map(|kv| {
                let (k, v) = kv?;
                let id: [u8; 32] = k[1..].try_into().map_err(|_| corrupt(&k, "bad peer key"))?;
                let node = NodeId::from_public_key(id).map_err(|e| corrupt(&k, e))?;
                let addrs = serde_json::from_slice(&v).map_err(|e| corrupt(&k, e))?;
                Ok((node, addrs))
            })
            .collect()
    }

    /// Every document's index row, all kinds.
    pub fn all_docs(&self) -> Result<Vec<DocEntry>, StoreError> {
        self.data
            .scan_prefix([DOCS])
            .map(|kv| {
                let (k, v) = kv?;
                serde_json::from_slice(&v).map_err(|e| corrupt(&k, e))
            })
            .collect()
    }

    /// Deletes every document, change and sync state (`federation leave --purge`).
    pub fn purge_content(&self) -> Result<(), StoreError> {
        self.remove_prefixes(&[
            CHANGES,
            DOCS,
            COMMUNITY_INDEX,
            AUTOMERGE_CACHE,
            SYNC_STATE,
            RESPONSES,
            RESPONDENTS,
        ])
    }

    /// Removes every key under `prefixes` in one batch, durably.
    fn remove_prefixes(&self, prefixes: &[u8]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for prefix in prefixes {
            for kv in self.data.scan_prefix([*prefix]) {
                batch.remove(kv?.0);
            }
        }
        self.data.apply_batch(batch)?;
        self.db.flush()?;
        Ok(())
    }

    /// One account record, by its key (see `crate::accounts`).
    pub fn account(&self, name_key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.data.get(key(ACCOUNTS, name_key))?.map(|v| v.to_vec()))
    }

    /// Every account record.
    pub fn accounts(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        self.data
            .scan_prefix([ACCOUNTS])
            .values()
            .map(|v| Ok(v?.to_vec()))
            .collect()
    }

    /// Stores an account record durably.
    pub fn put_account(&self, name_key: &[u8], record: &[u8]) -> Result<(), StoreError> {
        let mut batch = WriteBatch::new();
        batch.put(key(ACCOUNTS, name_key), record.to_vec());
        self.commit(batch)
    }

    /// Removes an account record durably.
    pub fn remove_account(&self, name_key: &[u8]) -> Result<(), StoreError> {
        let mut batch = WriteBatch::new();
        batch.delete(key(ACCOUNTS, name_key));
        self.commit(batch)
    }

    pub fn has_doc(&self, id: &DocId) -> Result<bool, StoreError> {
        Ok(self.data.contains_key(key(DOCS, &id.to_key()))?)
    }

    /// The cached automerge bytes of a document.
    pub fn automerge_bytes(&self, id: &DocId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .data
            .get(key(AUTOMERGE_CACHE, &id.to_key()))?
            .map(|v| v.to_vec()))
    }

    /// Index rows of every document of `kind`, in id order.
    pub fn docs_of_kind(&self, kind: DocKind) -> Result<Vec<DocEntry>, StoreError> {
        self.data
            .scan_prefix([DOCS, kind.tag()])
            .map(|kv| {
                let (k, v) = kv?;
                serde_json::from_slice(&v).map_err(|e| corrupt(&k, e))
            })
            .collect()
    }

    /// Ids of the documents filed under `community` (including the community itself).
    pub fn docs_in_community(&self, community: &DocId) -> Result<Vec<DocId>, StoreError> {
        self.data
            .scan_prefix(key(COMMUNITY_INDEX, &community.to_key()))
            .map(|kv| {
                let (k, _) = kv?;
                DocId::from_key(&k[1 + DOC_KEY_LEN..]).map_err(|e| corrupt(&k, e))
            })
            .collect()
    }

    /// The responses given on this node to `survey`, as stored.
    pub fn responses(&self, survey: &DocId) -> Result<Vec<Vec<u8>>, StoreError> {
        self.data
            .scan_prefix(key(RESPONSES, &survey.to_key()))
            .map(|kv| Ok(kv?.1.to_vec()))
            .collect()
    }

    pub fn has_responded(&self, survey: &DocId, person: &str) -> Result<bool, StoreError> {
        Ok(self
            .data
            .contains_key(key2(RESPONDENTS, &survey.to_key(), person.as_bytes()))?)
    }

    pub fn doc_count(&self) -> usize {
        self.data.scan_prefix([DOCS]).count()
    }

    /// Drops every cache (documents, index), keeping the signed source of truth.
    pub fn clear_caches(&self) -> Result<(), StoreError> {
        self.remove_prefixes(&[DOCS, COMMUNITY_INDEX, AUTOMERGE_CACHE])
    }

    /// Bytes the database occupies on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }

    /// What the store holds, by kind: the signed changes (the source of truth) against the
    /// caches built from them. One pass over the keys; meant for an operator, not a hot path.
    pub fn usage(&self) -> Result<StoreUsage, StoreError> {
        let mut u = StoreUsage {
            disk_bytes: self.size_on_disk(),
            ..StoreUsage::default()
        };
        for kv in self.data.iter() {
            let (k, v) = kv?;
            let stored = (k.len() + v.len()) as u64;
            match k.first() {
                Some(&CHANGES) => {
                    let c: StoredChange = postcard::from_bytes(&v).map_err(|e| corrupt(&k, e))?;
                    u.changes += 1;
                    u.change_bytes += c.signed.bytes.len() as u64;
                    u.signature_bytes += c.signed.signature.0.len() as u64;
                    u.changes_stored_bytes += stored;
                }
                Some(&DOCS) => {
                    u.documents += 1;
                    u.cache_bytes += stored;
                }
                Some(&AUTOMERGE_CACHE) => {
                    u.automerge_cache_bytes += stored;
                    u.cache_bytes += stored;
                }
                Some(&COMMUNITY_INDEX) => u.cache_bytes += stored,
                Some(&SYNC_STATE) => u.sync_state_bytes += stored,
                _ => u.other_bytes += stored,
            }
        }
        Ok(u)
    }
}

/// See [`Store::usage`]. "Logical" bytes are `change_bytes + signature_bytes`: what a node must
/// keep to hold its documents, and what a peer must receive to have them.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct StoreUsage {
    pub documents: u64,
    pub changes: u64,
    /// The automerge change bytes of every stored change.
    pub change_bytes: u64,
    /// Their ed25519 signatures (64 bytes each).
    pub signature_bytes: u64,
    /// Keys and values of the change records as stored (change, signature, arrival time).
    pub changes_stored_bytes: u64,
    /// Documents' index rows, community index and saved automerge documents.
    pub cache_bytes: u64,
    pub automerge_cache_bytes: u64,
    /// Per-peer automerge sync states (shared heads).
    pub sync_state_bytes: u64,
    /// Roster, address book, survey answers, metadata.
    pub other_bytes: u64,
    /// What sled occupies on disk, logs and free space included.
    pub disk_bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn write(store: &Store, name: &str) -> Result<(), StoreError> {
        let under_way = store.begin_write();
        let mut batch = WriteBatch::new();
        batch.put_meta(name, name.as_bytes());
        let ticket = store.apply(batch)?;
        drop(under_way);
        store.wait_durable(ticket)
    }

    #[test]
    fn concurrent_writers_sharing_flushes_all_keep_their_writes() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            std::thread::scope(|s| {
                for w in 0..8 {
                    let store = &store;
                    s.spawn(move || {
                        for i in 0..40 {
                            write(store, &format!("w{w}-{i}")).unwrap();
                        }
                    });
                }
            });
        }
        let store = Store::open(dir.path()).unwrap();
        for w in 0..8 {
            for i in 0..40 {
                let name = format!("w{w}-{i}");
                assert_eq!(
                    store.meta(&name).unwrap().as_deref(),
                    Some(name.as_bytes()),
                    "acknowledged write {name} lost after reopening"
                );
            }
        }
    }

    #[test]
    fn a_stalled_write_under_way_does_not_hold_back_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let stalled = store.begin_write();
        let (tx, rx) = std::sync::mpsc::channel();
        let other = store.clone();
        std::thread::spawn(move || tx.send(write(&other, "other").is_ok()));
        // The flush waits at most GATHER_AT_MOST for the stalled write, then goes ahead.
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(10)),
            Ok(true),
            "a write was not acknowledged while another write stayed under way"
        );
        drop(stalled);
        write(&store, "after").unwrap();
    }
}
