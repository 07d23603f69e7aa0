//! The rule every node applies to every change, identically (DESIGN §4).
//!
//! A change is **valid** iff
//! 1. its bytes hash to its claimed hash,
//! 2. its signature verifies under the key in its actor id, and
//! 3. that key held a writing role in the roster state at the roster heads the change cites.
//!
//! The cited roster heads are written into the change itself (its commit message), so they are
//! covered by the change hash and thus by the signature: nobody relaying a change can make it cite
//! a different roster state. Validity depends only on the change and the ops it cites, so every
//! node decides the same, and that is what keeps replicas convergent.

use automerge::{Change, ChangeHash};
use serde::{Deserialize, Serialize};

use crate::actor::ActorId;
use crate::docs::Header;
use crate::ids::{DocId, FederationId, NodeId, OpHash};
use crate::keys::{self, Domain, NodeKey, Signature};
use crate::limits::{MAX_CHANGE_BYTES, MAX_CITED_HEADS};
use crate::roster::RosterLog;

/// Prefix of the commit message that carries the roster heads a change cites.
pub const ROSTER_HEADS_PREFIX: &str = "copnet/rh/v1:";

/// The commit message for a change that cites `heads`.
pub fn roster_heads_message(heads: &[OpHash]) -> String {
    let mut s = String::with_capacity(ROSTER_HEADS_PREFIX.len() + heads.len() * 65);
    s.push_str(ROSTER_HEADS_PREFIX);
    for (i, h) in heads.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&h.to_string());
    }
    s
}

/// Reads the cited roster heads back out of a commit message.
pub fn parse_roster_heads(message: &str) -> Option<Vec<OpHash>> {
    let rest = message.strip_prefix(ROSTER_HEADS_PREFIX)?;
    let heads: Vec<OpHash> = rest
        .split(',')
        .map(|h| h.parse().ok())
        .collect::<Option<_>>()?;
    (!heads.is_empty() && heads.len() <= MAX_CITED_HEADS).then_some(heads)
}

/// An automerge change as it travels and is stored: the exact bytes, and the author's signature
/// over `Domain::Change || change_hash`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedChange {
    pub bytes: Vec<u8>,
    pub signature: Signature,
}

impl SignedChange {
    /// Signs a change this node just made.
    pub fn sign(change: &Change, key: &NodeKey) -> Self {
        Self {
            bytes: change.raw_bytes().to_vec(),
            signature: key.sign(Domain::Change, &change.hash().0),
        }
    }
}

/// A change that passed the rule.
#[derive(Debug, Clone)]
pub struct ValidChange {
    pub hash: ChangeHash,
    pub author: NodeId,
    pub actor: ActorId,
    pub roster_heads: Vec<OpHash>,
    pub change: Change,
}

/// The outcome for a change that was not rejected.
#[derive(Debug, Clone)]
pub enum Verdict {
    Valid(Box<ValidChange>),
    /// The change cites roster ops this node does not have yet: keep it in the bounded pending
    /// queue and decide once the roster catches up. Neither applied nor rejected.
    Pending {
        hash: ChangeHash,
        missing: Vec<OpHash>,
    },
}

/// Why a change is invalid. Any one of these rejects the whole message that carried it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeRejection {
    #[error("change is {0} bytes, over the limit of {MAX_CHANGE_BYTES}")]
    TooLarge(usize),
    #[error("change bytes do not decode: {0}")]
    Malformed(String),
    #[error("change bytes hash to {actual}, not the claimed {claimed}")]
    HashMismatch { claimed: String, actual: String },
    #[error("change actor id does not name an ed25519 key")]
    NoAuthor,
    #[error("change signature does not verify under its author's key")]
    BadSignature,
    #[error("change does not cite the roster heads it was written at")]
    NoRosterHeads,
    #[error("author {0} did not hold a writing role at the roster heads the change cites")]
    NotAWriter(NodeId),
    #[error("document rule: {0}")]
    DocumentRule(String),
}

/// Applies rules 1–3 to one signed change. `claimed` is the hash the sender said it has, when the
/// wire message names one.
pub fn validate_change(
    signed: &SignedChange,
    claimed: Option<&ChangeHash>,
    roster: &RosterLog,
) -> Result<Verdict, ChangeRejection> {
    if signed.bytes.len() > MAX_CHANGE_BYTES {
        return Err(ChangeRejection::TooLarge(signed.bytes.len()));
    }
    // The bytes must be exactly one change chunk, with bounded inflation, before automerge sees
    // them: automerge 0.12 panics, spins for seconds or allocates gigabytes on some malformed
    // chunks of other kinds (bundles), which `Change::try_from` would otherwise parse
    // (fuzz/RESULTS.md, finding A).
    match crate::chunks::check([&signed.bytes[..]]) {
        Ok(chunks) if chunks.len() == 1 && chunks[0].kind != crate::chunks::Kind::Document => {}
        Ok(_) => {
            return Err(ChangeRejection::Malformed(
                "not exactly one change chunk".into(),
            ));
        }
        Err(e) => return Err(ChangeRejection::Malformed(e.to_string())),
    }
    // Rule 1. Decoding is how the hash is computed; the bytes are never re-encoded.
    let change =
        crate::chunks::guarded(|| Change::try_from(&signed.bytes[..]).map_err(|e| e.to_string()))
            .map_err(ChangeRejection::Malformed)?;
    let hash = change.hash();
    if let Some(claimed) = claimed
        && *claimed != hash
    {
        return Err(ChangeRejection::HashMismatch {
            claimed: claimed.to_string(),
            actual: hash.to_string(),
        });
    }
    // Rule 2.
    let actor = ActorId::from_automerge(change.actor_id()).ok_or(ChangeRejection::NoAuthor)?;
    let author = actor.node();
    keys::verify(&author, Domain::Change, &hash.0, &signed.signature)
        .map_err(|_| ChangeRejection::BadSignature)?;
    // Rule 3.
    let roster_heads = change
        .message()
        .and_then(parse_roster_heads)
        .ok_or(ChangeRejection::NoRosterHeads)?;
    let Some(state) = roster.state_at(&roster_heads) else {
        let missing = roster_heads
            .iter()
            .filter(|h| !roster.has(h))
            .copied()
            .collect();
        return Ok(Verdict::Pending { hash, missing });
    };
    if !state.can_write(&author) {
        return Err(ChangeRejection::NotAWriter(author));
    }
    Ok(Verdict::Valid(Box::new(ValidChange {
        hash,
        author,
        actor,
        roster_heads,
        change,
    })))
}

/// The per-document rule, given the document's header before and after the change.
///
/// v1: any member may write any document, and the header is immutable: the first change must write
/// a header naming this document, this federation and the change's author as creator; no later
/// change may alter it. Finer rules (only the author edits a post, only stewards edit a charter)
/// plug in here without changing the protocol.
pub fn check_document_rule(
    doc: &DocId,
    federation: &FederationId,
    author: &NodeId,
    before: Option<&Header>,
    after: Option<&Header>,
) -> Result<(), ChangeRejection> {
    let fail = |why: &str| Err(ChangeRejection::DocumentRule(why.to_owned()));
    let Some(after) = after else {
        return fail("every document must carry a header");
    };
    match before {
        Some(before) if before != after => fail("the document header is immutable"),
        Some(_) => Ok(()),
        None => {
            if after.id != *doc || after.kind != doc.kind() {
                fail("the header names another document")
            } else if after.federation != *federation {
                fail("the header names another federation")
            } else if after.creator != *author {
                fail("the header's creator is not the change's author")
            } else if after.schema_version == 0
                || after.schema_version > crate::docs::SCHEMA_VERSION
            {
                fail("unsupported schema version")
            } else {
                Ok(())
            }
        }
    }
}
