//! Collection reconciliation (DESIGN §6 step 2): how two nodes find the documents on which they
//! differ without listing all of them.
//!
//! Each node keeps, per audience, a digest of the set `{(doc id, heads)}`. An item's hash is
//! `SHA-256(doc key ‖ sorted heads)` cut to 16 bytes; a set's digest is the XOR of its items'
//! hashes together with the item count. XOR makes the digest incremental (adding or removing an
//! item is one XOR), so a node keeps it current on every write for free.
//!
//! The set is split into 256 buckets by the first random byte of the document id. Two nodes first
//! compare one root digest per audience (one round trip, a few dozen bytes, whatever the number of
//! documents); only if it differs do they compare the 256 bucket digests, and then list the items
//! of the differing buckets. Reconnecting with N unchanged documents therefore costs O(1).
//!
//! XOR digests are not collision-resistant against someone who picks the items: a member could
//! craft documents whose hashes cancel. The consequence is a missed reconciliation, which the same
//! member could cause by simply not answering; it cannot make a node accept anything.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::docs::Audience;
use crate::ids::DocId;

/// Number of buckets a collection is split into.
pub const BUCKETS: usize = 256;

/// The hash of one `(document, heads)` item.
pub type ItemHash = [u8; 16];

/// XOR-and-count digest of a set of items.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SetDigest {
    pub xor: ItemHash,
    pub count: u64,
}

impl SetDigest {
    fn toggle(&mut self, h: &ItemHash, add: bool) {
        for (a, b) in self.xor.iter_mut().zip(h) {
            *a ^= b;
        }
        if add {
            self.count += 1;
        } else {
            self.count -= 1;
        }
    }
}

/// The hash of a document at given heads. Heads are hex change hashes, as the index stores them.
pub fn item_hash(doc: &DocId, heads: &[String]) -> ItemHash {
    let mut sorted: Vec<&String> = heads.iter().collect();
    sorted.sort();
    let mut h = Sha256::new();
    h.update(doc.to_key());
    for head in sorted {
        h.update(head.as_bytes());
        h.update([0]);
    }
    let full: [u8; 32] = h.finalize().into();
    full[..16].try_into().expect("16 of 32 bytes")
}

/// The bucket a document falls in.
pub fn bucket_of(doc: &DocId) -> u8 {
    doc.to_key()[1]
}

/// One audience's set of documents, with its digests kept current.
#[derive(Clone, Debug)]
pub struct Collection {
    items: HashMap<DocId, ItemHash>,
    buckets: Vec<SetDigest>,
    root: SetDigest,
}

impl Default for Collection {
    fn default() -> Self {
        Self {
            items: HashMap::new(),
            buckets: vec![SetDigest::default(); BUCKETS],
            root: SetDigest::default(),
        }
    }
}

impl Collection {
    /// Sets (or replaces) a document's item hash.
    pub fn upsert(&mut self, doc: DocId, hash: ItemHash) {
        if let Some(old) = self.items.insert(doc, hash) {
            if old == hash {
                return;
            }
            self.buckets[bucket_of(&doc) as usize].toggle(&old, false);
            self.root.toggle(&old, false);
        }
        self.buckets[bucket_of(&doc) as usize].toggle(&hash, true);
        self.root.toggle(&hash, true);
    }

    pub fn remove(&mut self, doc: &DocId) {
        if let Some(old) = self.items.remove(doc) {
            self.buckets[bucket_of(doc) as usize].toggle(&old, false);
            self.root.toggle(&old, false);
        }
    }

    pub fn root(&self) -> SetDigest {
        self.root
    }

    pub fn buckets(&self) -> &[SetDigest] {
        &self.buckets
    }

    pub fn get(&self, doc: &DocId) -> Option<&ItemHash> {
        self.items.get(doc)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The items in the given buckets.
    pub fn items_in(&self, buckets: &[u8]) -> Vec<(DocId, ItemHash)> {
        let mut wanted = [false; BUCKETS];
        for b in buckets {
            wanted[*b as usize] = true;
        }
        let mut out: Vec<(DocId, ItemHash)> = self
            .items
            .iter()
            .filter(|(d, _)| wanted[bucket_of(d) as usize])
            .map(|(d, h)| (*d, *h))
            .collect();
        out.sort();
        out
    }

    pub fn docs(&self) -> impl Iterator<Item = &DocId> {
        self.items.keys()
    }
}

/// A node's collections, one per audience.
#[derive(Clone, Debug, Default)]
pub struct Collections {
    pub federation: Collection,
    pub members: Collection,
}

impl Collections {
    pub fn of(&self, audience: Audience) -> &Collection {
        match audience {
            Audience::Federation => &self.federation,
            Audience::Members => &self.members,
        }
    }

    pub fn of_mut(&mut self, audience: Audience) -> &mut Collection {
        match audience {
            Audience::Federation => &mut self.federation,
            Audience::Members => &mut self.members,
        }
    }
}

/// The buckets whose digests differ between `ours` and `theirs`.
pub fn differing_buckets(ours: &[SetDigest], theirs: &[SetDigest]) -> Vec<u8> {
    (0..BUCKETS)
        .filter(|&i| ours.get(i) != theirs.get(i))
        .map(|i| i as u8)
        .collect()
}

/// Documents to sync given both sides' items of the same buckets: those whose hashes differ and
/// those only one side has.
pub fn differing_docs(ours: &[(DocId, ItemHash)], theirs: &[(DocId, ItemHash)]) -> Vec<DocId> {
    let mine: HashMap<&DocId, &ItemHash> = ours.iter().map(|(d, h)| (d, h)).collect();
    let mut out: Vec<DocId> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (d, h) in theirs {
        seen.insert(*d);
        if mine.get(d) != Some(&h) {
            out.push(*d);
        }
    }
    for (d, _) in ours {
        if !seen.contains(d) {
            out.push(*d);
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::DocKind;

    #[test]
    fn digests_are_order_independent_and_find_the_difference() {
        let docs: Vec<DocId> = (0..1000)
            .map(|_| DocId::random(DocKind::Resource))
            .collect();
        let mut a = Collection::default();
        let mut b = Collection::default();
        for d in &docs {
            a.upsert(*d, item_hash(d, &["aa".into()]));
        }
        for d in docs.iter().rev() {
            b.upsert(*d, item_hash(d, &["aa".into()]));
        }
        assert_eq!(a.root(), b.root());
        b.upsert(docs[17], item_hash(&docs[17], &["bb".into()]));
        let extra = DocId::random(DocKind::Consult);
        a.upsert(extra, item_hash(&extra, &[]));
        assert_ne!(a.root(), b.root());
        let buckets = differing_buckets(a.buckets(), b.buckets());
        assert!(buckets.len() <= 2);
        let diff = differing_docs(&a.items_in(&buckets), &b.items_in(&buckets));
        let mut expected = vec![docs[17], extra];
        expected.sort();
        assert_eq!(diff, expected);
        // Undo: back in agreement.
        b.upsert(docs[17], item_hash(&docs[17], &["aa".into()]));
        a.remove(&extra);
        assert_eq!(a.root(), b.root());
    }
}
