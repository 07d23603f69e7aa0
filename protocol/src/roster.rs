//! The federation roster (DESIGN §3): a signed, hash-linked DAG of membership ops, and the fold
//! that turns a set of ops into a membership state.
//!
//! The fold is the contract every node relies on: **the roster state is a pure function of the
//! set of ops**. Ops are applied in a deterministic topological order (parents first, ties broken
//! by the smaller op hash); an op that is invalid at its point in that order is skipped, not
//! rejected, because whether it is valid depends on ops a node may not have seen when it received
//! it. Two nodes with the same ops therefore compute the same roster whatever the arrival order.
//!
//! Context-free checks (signature, encoding, structure, the invite proof inside an `Admit`) happen
//! once, when an op enters through [`SignedRosterOp::verify`]; the fold itself does no crypto.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ids::{FederationId, NodeId, OpHash};
use crate::keys::{self, Domain, NodeKey, Signature};
use crate::limits::{MAX_CITED_HEADS, MAX_ROSTER_OP_BYTES, MAX_ROSTER_TEXT};

/// What a member node may do. Peripheral nodes replicate `federation`-audience documents
/// read-only; nothing they write is ever valid.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    Peripheral,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Peripheral => "peripheral",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "member" => Ok(Self::Member),
            "peripheral" => Ok(Self::Peripheral),
            other => Err(format!(
                "unknown role {other:?}: expected member or peripheral"
            )),
        }
    }
}

/// Where an organisation stands in the federation.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    Active,
    Left,
    Removed,
}

/// How an organisation presents itself to the federation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct Profile {
    pub org: String,
    pub sector: Option<String>,
}

/// The ops of the roster log.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum RosterOpBody {
    /// Founds the federation. Its hash is the [`FederationId`]; the author is the first member.
    Genesis {
        name: String,
        charter: String,
        profile: Profile,
        /// Makes two federations founded with the same name by the same node distinct.
        nonce: [u8; 16],
    },
    /// A member announces a one-time invite key. The secret half travels in the invite token.
    Invite {
        invite_key: [u8; 32],
        role: Role,
        /// Informational here: the admitting node enforces expiry with its own clock.
        expires_at_ms: u64,
    },
    /// A member admits a joiner that proved possession of the invite secret.
    Admit {
        invite_key: [u8; 32],
        joiner: NodeId,
        profile: Profile,
        /// `sign(invite_secret, Domain::Invite, federation || joiner)`.
        proof: Signature,
    },
    /// The author leaves the federation.
    Leave,
    /// A member proposes removing another organisation; the proposer endorses it implicitly.
    ProposeRemoval { target: NodeId, reason: String },
    /// A member endorses a pending removal proposal, named by its op hash.
    Endorse { proposal: OpHash },
    /// Promotes a peripheral node to member (any member may), or demotes the author itself.
    SetRole { target: NodeId, role: Role },
    /// The author updates its own profile.
    UpdateProfile { profile: Profile },
    /// The invite's issuer withdraws an invite nobody has used yet: admits citing it are refused
    /// from here on. Appended last, so that the encoding of the other ops is unchanged.
    RevokeInvite { invite_key: [u8; 32] },
}

impl RosterOpBody {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Genesis { .. } => "genesis",
            Self::Invite { .. } => "invite",
            Self::Admit { .. } => "admit",
            Self::Leave => "leave",
            Self::ProposeRemoval { .. } => "propose-removal",
            Self::Endorse { .. } => "endorse",
            Self::SetRole { .. } => "set-role",
            Self::UpdateProfile { .. } => "update-profile",
            Self::RevokeInvite { .. } => "revoke-invite",
        }
    }
}

/// One roster op before signing.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RosterOp {
    /// `None` only for `Genesis`, whose hash *is* the federation id.
    pub federation: Option<FederationId>,
    pub author: NodeId,
    /// The roster heads the author saw. Empty only for `Genesis`.
    pub parents: Vec<OpHash>,
    /// The author's clock; informational, never used by the fold.
    pub created_at_ms: u64,
    pub body: RosterOpBody,
}

/// The message a joiner signs with the invite secret to prove it holds the invite.
pub fn invite_proof_message(federation: &FederationId, joiner: &NodeId) -> Vec<u8> {
    let mut m = Vec::with_capacity(64);
    m.extend_from_slice(federation.as_bytes());
    m.extend_from_slice(joiner.as_bytes());
    m
}

impl RosterOp {
    /// Encodes and signs the op. `key` must be the op's author.
    pub fn sign(&self, key: &NodeKey) -> SignedRosterOp {
        assert_eq!(
            self.author,
            key.node_id(),
            "a roster op is signed by its author"
        );
        let payload = postcard::to_allocvec(self).expect("roster ops always encode");
        let hash = hash_payload(&payload);
        SignedRosterOp {
            author: self.author,
            signature: key.sign(Domain::Roster, hash.as_bytes()),
            payload,
        }
    }
}

fn hash_payload(payload: &[u8]) -> OpHash {
    OpHash(Sha256::digest(payload).into())
}

/// A roster op as it travels and is stored: the exact payload bytes that were signed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SignedRosterOp {
    pub author: NodeId,
    pub payload: Vec<u8>,
    pub signature: Signature,
}

/// Why a roster op was refused outright (as opposed to skipped by the fold).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RosterError {
    #[error("roster op is {0} bytes, over the limit of {MAX_ROSTER_OP_BYTES}")]
    TooLarge(usize),
    #[error("roster op signature does not verify")]
    BadSignature,
    #[error("roster op payload does not decode: {0}")]
    Malformed(String),
    #[error("roster op payload is not in canonical encoding")]
    NonCanonical,
    #[error("roster op names an author other than its signer")]
    AuthorMismatch,
    #[error("roster op is malformed: {0}")]
    Structure(&'static str),
    #[error("roster op belongs to another federation")]
    WrongFederation,
    #[error("the roster already holds {0} ops waiting for their parents; refusing more")]
    TooManyWaiting(usize),
    #[error("roster op by a node that is not in the roster it cites")]
    UnknownAuthor,
}

impl SignedRosterOp {
    /// The op's hash: SHA-256 of the signed payload bytes.
    pub fn hash(&self) -> OpHash {
        hash_payload(&self.payload)
    }

    /// Checks everything that does not depend on other ops: size, signature (before decoding),
    /// canonical encoding, structure, and the invite proof of an `Admit`.
    pub fn verify(&self) -> Result<VerifiedRosterOp, RosterError> {
        if self.payload.len() > MAX_ROSTER_OP_BYTES {
            return Err(RosterError::TooLarge(self.payload.len()));
        }
        let hash = self.hash();
        keys::verify(
            &self.author,
            Domain::Roster,
            hash.as_bytes(),
            &self.signature,
        )
        .map_err(|_| RosterError::BadSignature)?;
        let op: RosterOp = postcard::from_bytes(&self.payload)
            .map_err(|e| RosterError::Malformed(e.to_string()))?;
        if op.author != self.author {
            return Err(RosterError::AuthorMismatch);
        }
        if postcard::to_allocvec(&op).ok().as_deref() != Some(&self.payload[..]) {
            return Err(RosterError::NonCanonical);
        }
        check_structure(&op)?;
        Ok(VerifiedRosterOp {
            hash,
            op,
            signed: self.clone(),
        })
    }
}

fn check_structure(op: &RosterOp) -> Result<(), RosterError> {
    use RosterError::Structure;
    let is_genesis = matches!(op.body, RosterOpBody::Genesis { .. });
    if is_genesis != op.federation.is_none() {
        return Err(Structure("only genesis lacks a federation id"));
    }
    if is_genesis != op.parents.is_empty() {
        return Err(Structure("only genesis has no parents"));
    }
    if op.parents.len() > MAX_CITED_HEADS {
        return Err(Structure("too many parents"));
    }
    let distinct: BTreeSet<_> = op.parents.iter().collect();
    if distinct.len() != op.parents.len() {
        return Err(Structure("duplicate parents"));
    }
    let text_ok = |s: &str| s.len() <= MAX_ROSTER_TEXT;
    let profile_ok = |p: &Profile| {
        !p.org.trim().is_empty() && text_ok(&p.org) && p.sector.as_deref().is_none_or(text_ok)
    };
    match &op.body {
        RosterOpBody::Genesis {
            name,
            charter,
            profile,
            ..
        } => {
            if name.trim().is_empty() || !text_ok(name) || !text_ok(charter) || !profile_ok(profile)
            {
                return Err(Structure("genesis needs a name and an organisation"));
            }
        }
        RosterOpBody::Admit {
            invite_key,
            joiner,
            profile,
            proof,
        } => {
            if !profile_ok(profile) {
                return Err(Structure("admit needs the joiner's organisation"));
            }
            let fed = op.federation.expect("checked above");
            keys::verify_with_key(
                invite_key,
                Domain::Invite,
                &invite_proof_message(&fed, joiner),
                proof,
            )
            .map_err(|_| Structure("admit carries an invalid invite proof"))?;
        }
        RosterOpBody::ProposeRemoval { reason, .. } => {
            if !text_ok(reason) {
                return Err(Structure("removal reason too long"));
            }
        }
        RosterOpBody::UpdateProfile { profile } => {
            if !profile_ok(profile) {
                return Err(Structure("profile needs an organisation name"));
            }
        }
        RosterOpBody::Invite { .. }
        | RosterOpBody::RevokeInvite { .. }
        | RosterOpBody::Leave
        | RosterOpBody::Endorse { .. }
        | RosterOpBody::SetRole { .. } => {}
    }
    Ok(())
}

/// A roster op whose signature and structure have been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedRosterOp {
    pub hash: OpHash,
    pub op: RosterOp,
    pub signed: SignedRosterOp,
}

/// One organisation in the roster.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct MemberEntry {
    pub node: NodeId,
    pub role: Role,
    pub status: MemberStatus,
    pub profile: Profile,
    /// The op that last admitted it (genesis for the founder).
    pub admitted_by: OpHash,
    pub removal_reason: Option<String>,
}

#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct InviteEntry {
    pub issuer: NodeId,
    pub role: Role,
    pub expires_at_ms: u64,
    pub used_by: Option<NodeId>,
    /// Withdrawn by its issuer before anyone used it.
    pub revoked: bool,
}

#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    pub target: NodeId,
    pub proposer: NodeId,
    pub reason: String,
    pub endorsers: BTreeSet<NodeId>,
    pub carried: bool,
}

/// The membership that a set of roster ops describes.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct RosterState {
    pub federation: FederationId,
    pub name: String,
    pub charter: String,
    pub members: BTreeMap<NodeId, MemberEntry>,
    #[serde(skip)]
    pub invites: BTreeMap<[u8; 32], InviteEntry>,
    pub proposals: BTreeMap<OpHash, Proposal>,
    /// Ops the fold skipped, with the reason; useful when someone asks "why is X not a member?".
    pub skipped: Vec<(OpHash, &'static str)>,
}

impl RosterState {
    fn empty(federation: FederationId) -> Self {
        Self {
            federation,
            name: String::new(),
            charter: String::new(),
            members: BTreeMap::new(),
            invites: BTreeMap::new(),
            proposals: BTreeMap::new(),
            skipped: Vec::new(),
        }
    }

    pub fn member(&self, node: &NodeId) -> Option<&MemberEntry> {
        self.members.get(node)
    }

    pub fn is_active(&self, node: &NodeId) -> bool {
        self.member(node)
            .is_some_and(|m| m.status == MemberStatus::Active)
    }

    /// Holds a writing role (DESIGN §4 rule 3).
    pub fn can_write(&self, node: &NodeId) -> bool {
        self.member(node)
            .is_some_and(|m| m.status == MemberStatus::Active && m.role == Role::Member)
    }

    /// Active organisations: the libp2p allow-list.
    pub fn active(&self) -> impl Iterator<Item = &MemberEntry> {
        self.members
            .values()
            .filter(|m| m.status == MemberStatus::Active)
    }

    /// Who votes on removing `target`: the active members other than the target.
    pub fn electorate(&self, target: &NodeId) -> Vec<NodeId> {
        self.active()
            .filter(|m| m.role == Role::Member && m.node != *target)
            .map(|m| m.node)
            .collect()
    }

    /// Votes for a proposal that count: its endorsers within the electorate.
    pub fn votes(&self, proposal: &Proposal) -> usize {
        self.electorate(&proposal.target)
            .iter()
            .filter(|n| proposal.endorsers.contains(n))
            .count()
    }

    pub fn invite(&self, key: &[u8; 32]) -> Option<&InviteEntry> {
        self.invites.get(key)
    }

    fn apply(&mut self, v: &VerifiedRosterOp) -> Result<(), &'static str> {
        let op = &v.op;
        let author = op.author;
        if let RosterOpBody::Genesis {
            name,
            charter,
            profile,
            ..
        } = &op.body
        {
            if v.hash != self.federation.genesis_hash() {
                return Err("genesis of another federation");
            }
            self.name = name.clone();
            self.charter = charter.clone();
            self.members.insert(
                author,
                MemberEntry {
                    node: author,
                    role: Role::Member,
                    status: MemberStatus::Active,
                    profile: profile.clone(),
                    admitted_by: v.hash,
                    removal_reason: None,
                },
            );
            return Ok(());
        }
        if !self.is_active(&author) {
            return Err("author is not an active member");
        }
        let author_writes = self.can_write(&author);
        match &op.body {
            RosterOpBody::Genesis { .. } => unreachable!("handled above"),
            RosterOpBody::Invite {
                invite_key,
                role,
                expires_at_ms,
            } => {
                if !author_writes {
                    return Err("peripheral nodes cannot invite");
                }
                if self.invites.contains_key(invite_key) {
                    return Err("invite key already announced");
                }
                self.invites.insert(
                    *invite_key,
                    InviteEntry {
                        issuer: author,
                        role: *role,
                        expires_at_ms: *expires_at_ms,
                        used_by: None,
                        revoked: false,
                    },
                );
            }
            RosterOpBody::Admit {
                invite_key,
                joiner,
                profile,
                ..
            } => {
                if !author_writes {
                    return Err("peripheral nodes cannot admit");
                }
                let Some(invite) = self.invites.get_mut(invite_key) else {
                    return Err("unknown invite");
                };
                if invite.used_by.is_some() {
                    return Err("invite already used");
                }
                if invite.revoked {
                    return Err("invite revoked");
                }
                if self
                    .members
                    .get(joiner)
                    .is_some_and(|m| m.status == MemberStatus::Active)
                {
                    return Err("joiner is already an active member");
                }
                invite.used_by = Some(*joiner);
                let role = invite.role;
                self.members.insert(
                    *joiner,
                    MemberEntry {
                        node: *joiner,
                        role,
                        status: MemberStatus::Active,
                        profile: profile.clone(),
                        admitted_by: v.hash,
                        removal_reason: None,
                    },
                );
            }
            RosterOpBody::Leave => {
                self.depart(author, MemberStatus::Left, None);
                self.settle_proposals();
            }
            RosterOpBody::ProposeRemoval { target, reason } => {
                if !author_writes {
                    return Err("peripheral nodes cannot propose removals");
                }
                if *target == author {
                    return Err("use leave to remove yourself");
                }
                if !self.is_active(target) {
                    return Err("target is not an active member");
                }
                self.proposals.insert(
                    v.hash,
                    Proposal {
                        target: *target,
                        proposer: author,
                        reason: reason.clone(),
                        endorsers: BTreeSet::from([author]),
                        carried: false,
                    },
                );
                self.settle_proposals();
            }
            RosterOpBody::Endorse { proposal } => {
                if !author_writes {
                    return Err("peripheral nodes cannot endorse removals");
                }
                let Some(p) = self.proposals.get_mut(proposal) else {
                    return Err("unknown proposal");
                };
                if p.carried {
                    return Err("proposal already carried");
                }
                if p.target == author {
                    return Err("the target cannot endorse its own removal");
                }
                if !p.endorsers.insert(author) {
                    return Err("already endorsed");
                }
                self.settle_proposals();
            }
            RosterOpBody::SetRole { target, role } => {
                let current = self
                    .member(target)
                    .filter(|m| m.status == MemberStatus::Active);
                let Some(current) = current else {
                    return Err("target is not an active member");
                };
                let allowed = match (current.role, *role) {
                    (Role::Peripheral, Role::Member) => author_writes,
                    (Role::Member, Role::Peripheral) => *target == author,
                    _ => false,
                };
                if !allowed {
                    return Err("role change not allowed");
                }
                let writers_left = self.active().filter(|m| m.role == Role::Member).count();
                if *role == Role::Peripheral && writers_left <= 1 {
                    return Err("the last member cannot become peripheral");
                }
                self.members.get_mut(target).expect("checked").role = *role;
                self.settle_proposals();
            }
            RosterOpBody::UpdateProfile { profile } => {
                self.members.get_mut(&author).expect("active").profile = profile.clone();
            }
            RosterOpBody::RevokeInvite { invite_key } => {
                let Some(invite) = self.invites.get_mut(invite_key) else {
                    return Err("unknown invite");
                };
                if invite.issuer != author {
                    return Err("only the issuer can revoke an invite");
                }
                if invite.used_by.is_some() {
                    return Err("invite already used");
                }
                invite.revoked = true;
            }
        }
        Ok(())
    }

    fn depart(&mut self, node: NodeId, status: MemberStatus, reason: Option<String>) {
        if let Some(m) = self.members.get_mut(&node) {
            m.status = status;
            m.removal_reason = reason;
        }
        // Proposals against someone who is gone are moot. The caller settles the others, which
        // may now have a majority because the electorate shrank.
        for p in self.proposals.values_mut() {
            if p.target == node && !p.carried {
                p.endorsers.clear();
            }
        }
    }

    /// Carries every pending proposal that has a strict majority of the other active members.
    fn settle_proposals(&mut self) {
        loop {
            let carried = self.proposals.iter().find_map(|(h, p)| {
                if p.carried || !self.is_active(&p.target) {
                    return None;
                }
                let electorate = self.electorate(&p.target).len();
                let votes = self.votes(p);
                (electorate > 0 && votes * 2 > electorate).then_some(*h)
            });
            let Some(h) = carried else { return };
            let p = self.proposals.get_mut(&h).expect("found above");
            p.carried = true;
            let (target, reason) = (p.target, p.reason.clone());
            self.depart(target, MemberStatus::Removed, Some(reason));
        }
    }
}

/// Most ops held while their parents are unknown. Beyond this a peer is sending junk.
pub const MAX_WAITING_ROSTER_OPS: usize = 4096;
const STATE_MEMO_CAP: usize = 256;

/// What [`RosterLog::insert`] did with an op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// The op (and possibly ops that were waiting for it) joined the roster.
    Applied(Vec<OpHash>),
    /// The op waits for these parents.
    Waiting(Vec<OpHash>),
    /// Already known.
    Duplicate,
}

/// All known roster ops of one federation, and the state they fold to.
#[derive(Debug)]
pub struct RosterLog {
    federation: FederationId,
    ops: HashMap<OpHash, VerifiedRosterOp>,
    /// Ops whose whole ancestry is known; only these take part in the fold.
    complete: BTreeSet<OpHash>,
    /// Missing parent → ops waiting for it.
    waiting_on: HashMap<OpHash, Vec<OpHash>>,
    waiting: usize,
    heads: BTreeSet<OpHash>,
    state: Arc<RosterState>,
    memo: Mutex<HashMap<Vec<OpHash>, Arc<RosterState>>>,
}

impl RosterLog {
    pub fn new(federation: FederationId) -> Self {
        Self {
            federation,
            ops: HashMap::new(),
            complete: BTreeSet::new(),
            waiting_on: HashMap::new(),
            waiting: 0,
            heads: BTreeSet::new(),
            state: Arc::new(RosterState::empty(federation)),
            memo: Mutex::new(HashMap::new()),
        }
    }

    pub fn federation(&self) -> FederationId {
        self.federation
    }

    /// The current state: the fold of every complete op.
    pub fn state(&self) -> Arc<RosterState> {
        self.state.clone()
    }

    /// Current heads, sorted.
    pub fn heads(&self) -> Vec<OpHash> {
        self.heads.iter().copied().collect()
    }

    /// Whether `hash` is known and its ancestry complete.
    pub fn has(&self, hash: &OpHash) -> bool {
        self.complete.contains(hash)
    }

    pub fn get(&self, hash: &OpHash) -> Option<&VerifiedRosterOp> {
        self.ops.get(hash)
    }

    pub fn len(&self) -> usize {
        self.complete.len()
    }

    pub fn is_empty(&self) -> bool {
        self.complete.is_empty()
    }

    /// Every complete op in fold order.
    pub fn ops_in_order(&self) -> Vec<&VerifiedRosterOp> {
        self.topo_order(&self.complete)
            .into_iter()
            .map(|h| &self.ops[&h])
            .collect()
    }

    /// Complete ops that are not ancestors of (or equal to) any of `heads` that this log knows, in
    /// fold order: what a peer at `heads` lacks. Unknown heads are ignored, so a peer that is ahead
    /// in one branch still gets everything it may lack in the others.
    pub fn ops_missing_from(&self, heads: &[OpHash]) -> Vec<&VerifiedRosterOp> {
        let mut known = BTreeSet::new();
        let mut stack: Vec<OpHash> = heads
            .iter()
            .filter(|h| self.complete.contains(h))
            .copied()
            .collect();
        while let Some(h) = stack.pop() {
            if known.insert(h) {
                stack.extend(self.ops[&h].op.parents.iter().copied());
            }
        }
        self.topo_order(&self.complete)
            .into_iter()
            .filter(|h| !known.contains(h))
            .map(|h| &self.ops[&h])
            .collect()
    }

    /// Adds a verified op. Ops whose parents are unknown wait (bounded) until the parents arrive.
    pub fn insert(&mut self, op: VerifiedRosterOp) -> Result<Inserted, RosterError> {
        let belongs = match op.op.federation {
            None => op.hash == self.federation.genesis_hash(),
            Some(f) => f == self.federation,
        };
        if !belongs {
            return Err(RosterError::WrongFederation);
        }
        if self.ops.contains_key(&op.hash) {
            return Ok(Inserted::Duplicate);
        }
        let missing: Vec<OpHash> = op
            .op
            .parents
            .iter()
            .filter(|p| !self.complete.contains(p))
            .copied()
            .collect();
        let hash = op.hash;
        if !missing.is_empty() {
            if self.waiting >= MAX_WAITING_ROSTER_OPS {
                return Err(RosterError::TooManyWaiting(self.waiting));
            }
            self.ops.insert(hash, op);
            self.waiting += 1;
            for m in &missing {
                self.waiting_on.entry(*m).or_default().push(hash);
            }
            return Ok(Inserted::Waiting(missing));
        }
        if !self.author_known(&op) {
            return Err(RosterError::UnknownAuthor);
        }
        self.ops.insert(hash, op);
        let mut applied = Vec::new();
        let mut queue = vec![hash];
        while let Some(h) = queue.pop() {
            self.mark_complete(h);
            applied.push(h);
            for child in self.waiting_on.remove(&h).unwrap_or_default() {
                let ready = self.ops[&child]
                    .op
                    .parents
                    .iter()
                    .all(|p| self.complete.contains(p));
                if ready && !self.complete.contains(&child) {
                    self.waiting -= 1;
                    if self.author_known(&self.ops[&child]) {
                        queue.push(child);
                    } else {
                        // Could never be valid; ops waiting on it stay waiting (bounded).
                        self.ops.remove(&child);
                    }
                }
            }
        }
        self.state = Arc::new(self.fold(&self.complete));
        Ok(Inserted::Applied(applied))
    }

    /// Whether `op`'s author has an entry (any status) in the roster at the op's parents, or the
    /// op is the genesis. An honest node's ops always cite heads that include its own admission,
    /// so this refuses only ops that could never be valid in any fold (signed by keys from outside
    /// the roster), before they are stored and relayed: otherwise any participant could grow every
    /// node's roster log without bound. It depends only on the op and its ancestors, so every node
    /// decides the same. The parents must be complete.
    fn author_known(&self, op: &VerifiedRosterOp) -> bool {
        if op.op.federation.is_none() {
            return true;
        }
        let mut key = op.op.parents.clone();
        key.sort();
        key.dedup();
        self.state_of(key).member(&op.op.author).is_some()
    }

    fn mark_complete(&mut self, h: OpHash) {
        self.complete.insert(h);
        for p in &self.ops[&h].op.parents {
            self.heads.remove(p);
        }
        self.heads.insert(h);
    }

    /// The state at `heads`: the fold of those ops and their ancestors. `None` if any head is not
    /// (completely) known yet.
    pub fn state_at(&self, heads: &[OpHash]) -> Option<Arc<RosterState>> {
        if heads.iter().any(|h| !self.complete.contains(h)) {
            return None;
        }
        let mut key: Vec<OpHash> = heads.to_vec();
        key.sort();
        key.dedup();
        if key.iter().eq(self.heads.iter()) {
            return Some(self.state.clone());
        }
        Some(self.state_of(key))
    }

    /// The fold of the ops in `key` (sorted, complete) and their ancestors, memoised.
    fn state_of(&self, key: Vec<OpHash>) -> Arc<RosterState> {
        let mut memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = memo.get(&key) {
            return s.clone();
        }
        let mut closure = BTreeSet::new();
        let mut stack = key.clone();
        while let Some(h) = stack.pop() {
            if closure.insert(h) {
                stack.extend(self.ops[&h].op.parents.iter().copied());
            }
        }
        let state = Arc::new(self.fold(&closure));
        if memo.len() >= STATE_MEMO_CAP {
            memo.clear();
        }
        memo.insert(key, state.clone());
        state
    }

    /// Kahn's algorithm over `set`, always taking the smallest ready hash.
    fn topo_order(&self, set: &BTreeSet<OpHash>) -> Vec<OpHash> {
        let mut indegree: HashMap<OpHash, usize> = HashMap::with_capacity(set.len());
        let mut children: HashMap<OpHash, Vec<OpHash>> = HashMap::new();
        for h in set {
            let parents = &self.ops[h].op.parents;
            indegree.insert(*h, parents.len());
            for p in parents {
                children.entry(*p).or_default().push(*h);
            }
        }
        let mut ready: BTreeSet<OpHash> = indegree
            .iter()
            .filter(|(_, d)| **d == 0)
            .map(|(h, _)| *h)
            .collect();
        let mut order = Vec::with_capacity(set.len());
        while let Some(h) = ready.pop_first() {
            order.push(h);
            for c in children.get(&h).map(Vec::as_slice).unwrap_or_default() {
                let d = indegree.get_mut(c).expect("child is in the set");
                *d -= 1;
                if *d == 0 {
                    ready.insert(*c);
                }
            }
        }
        order
    }

    fn fold(&self, set: &BTreeSet<OpHash>) -> RosterState {
        let mut state = RosterState::empty(self.federation);
        for h in self.topo_order(set) {
            if let Err(why) = state.apply(&self.ops[&h]) {
                state.skipped.push((h, why));
            }
        }
        state
    }
}
