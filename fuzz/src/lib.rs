//! What the fuzz targets share: fixed keys, a founded federation, the node's receive pipeline for
//! sync payloads, the roster "script" the `roster_op` target interprets, and the seed encodings the
//! `seeds` binary writes into `corpus/`.
//!
//! Fuzzers cannot forge signatures, so the targets that reach past a signature check sign what the
//! fuzzer wrote with one of a few fixed keys; everything after the signature is then fuzzed too.

use std::sync::OnceLock;

use automerge::sync::{Message, SyncDoc};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, Automerge, Change, ROOT};
use copnet_protocol::chunks;
use copnet_protocol::roster::invite_proof_message;
use copnet_protocol::validity::roster_heads_message;
use copnet_protocol::wire::{
    Announce, DocSyncMessage, InviteBody, InviteToken, JoinRequest, JoinResponse, SyncRequest,
    SyncResponse,
};
use copnet_protocol::*;
use serde::Deserialize;

/// How many fixed keys there are. Key 0 founds the federation, key 1 is a member, key 2 a
/// peripheral node, key 3 an outsider.
pub const KEYS: usize = 4;

pub fn key(i: usize) -> NodeKey {
    NodeKey::from_secret_bytes([0x11 * (i % KEYS) as u8 + 0x11; 32])
}

pub fn node(i: usize) -> NodeId {
    static IDS: OnceLock<Vec<NodeId>> = OnceLock::new();
    IDS.get_or_init(|| (0..KEYS).map(|i| key(i).node_id()).collect())[i % KEYS]
}

/// The fixed key whose id is `id`, if any.
pub fn key_of(id: &NodeId) -> Option<NodeKey> {
    (0..KEYS).find(|&i| node(i) == *id).map(key)
}

/// The secret of fixed invite `i`.
pub fn invite_secret(i: usize) -> [u8; 32] {
    [0xa0 + (i % KEYS) as u8; 32]
}

pub fn invite_key(i: usize) -> [u8; 32] {
    *NodeKey::from_secret_bytes(invite_secret(i))
        .node_id()
        .as_bytes()
}

fn genesis() -> SignedRosterOp {
    RosterOp {
        federation: None,
        author: node(0),
        parents: vec![],
        created_at_ms: 1,
        body: RosterOpBody::Genesis {
            name: "Fuzz CoP".into(),
            charter: String::new(),
            profile: Profile {
                org: "Founders".into(),
                sector: None,
            },
            nonce: [7; 16],
        },
    }
    .sign(&key(0))
}

pub fn federation() -> FederationId {
    static FED: OnceLock<FederationId> = OnceLock::new();
    *FED.get_or_init(|| FederationId(genesis().hash().0))
}

/// The founding ops, verified: genesis, then key 0 invites and admits key 1 as a member and key 2
/// as a peripheral node (invites 0 and 1).
pub fn founding_ops() -> &'static [VerifiedRosterOp] {
    static OPS: OnceLock<Vec<VerifiedRosterOp>> = OnceLock::new();
    OPS.get_or_init(|| {
        let fed = federation();
        let mut log = RosterLog::new(fed);
        let mut ops = vec![genesis().verify().expect("genesis verifies")];
        log.insert(ops[0].clone()).expect("genesis inserts");
        for (invite, joiner, role) in [(0, 1, Role::Member), (1, 2, Role::Peripheral)] {
            let bodies = [
                RosterOpBody::Invite {
                    invite_key: invite_key(invite),
                    role,
                    expires_at_ms: u64::MAX,
                },
                RosterOpBody::Admit {
                    invite_key: invite_key(invite),
                    joiner: node(joiner),
                    profile: Profile {
                        org: format!("Org {joiner}"),
                        sector: None,
                    },
                    proof: admit_proof(invite, &fed, &node(joiner)),
                },
            ];
            for body in bodies {
                let op = RosterOp {
                    federation: Some(fed),
                    author: node(0),
                    parents: log.heads(),
                    created_at_ms: 2,
                    body,
                }
                .sign(&key(0))
                .verify()
                .expect("founding ops verify");
                log.insert(op.clone()).expect("founding ops insert");
                ops.push(op);
            }
        }
        ops
    })
}

pub fn admit_proof(invite: usize, fed: &FederationId, joiner: &NodeId) -> Signature {
    NodeKey::from_secret_bytes(invite_secret(invite))
        .sign(Domain::Invite, &invite_proof_message(fed, joiner))
}

/// A fresh log holding the founding ops.
pub fn founded_log() -> RosterLog {
    let mut log = RosterLog::new(federation());
    for op in founding_ops() {
        log.insert(op.clone()).expect("founding ops insert");
    }
    log
}

/// One founded log shared by targets that only read it.
pub fn shared_log() -> &'static RosterLog {
    static LOG: OnceLock<RosterLog> = OnceLock::new();
    LOG.get_or_init(founded_log)
}

/// Verifies every op and inserts those that verify into a founded log: none of it may panic.
pub fn verify_and_insert(ops: &[SignedRosterOp]) {
    let mut log = founded_log();
    for op in ops.iter().take(64) {
        if let Ok(v) = op.verify() {
            assert_eq!(v.hash, op.hash());
            let _ = log.insert(v);
        }
    }
    let _ = log.state_at(&log.heads());
}

/// Signs `payload` as a roster op by `key`, whatever the payload says.
pub fn payload_signed(key: &NodeKey, payload: &[u8]) -> SignedRosterOp {
    let unsigned = SignedRosterOp {
        author: key.node_id(),
        payload: payload.to_vec(),
        signature: Signature([0; 64]),
    };
    let hash = unsigned.hash();
    SignedRosterOp {
        signature: key.sign(Domain::Roster, hash.as_bytes()),
        ..unsigned
    }
}

pub fn bs58(bytes: &[u8]) -> String {
    bs58::encode(bytes).into_string()
}

// ---------------------------------------------------------------------------------------------
// Known dependency panics.

/// Whether a panic at `file` is inside automerge or its column codec, hexane.
pub fn in_automerge(file: &str) -> bool {
    file.contains("/automerge-") || file.contains("/hexane-")
}

/// Whether `FUZZ_TOLERATE_AUTOMERGE_PANICS` is set (see [`guard`]).
pub fn tolerant() -> bool {
    std::env::var_os("FUZZ_TOLERATE_AUTOMERGE_PANICS").is_some()
}

/// Runs `f`. When `FUZZ_TOLERATE_AUTOMERGE_PANICS` is set, a panic inside automerge counts as a
/// refused input (`None`) instead of a crash, so that a long run keeps exploring past automerge
/// bugs already written up in RESULTS.md; each distinct panic location is still printed once.
/// Any other panic crashes as usual.
pub fn guard<R>(f: impl FnOnce() -> R) -> Option<R> {
    use std::cell::Cell;
    use std::collections::HashSet;
    use std::sync::Mutex;
    thread_local!(static GUARDED: Cell<bool> = const { Cell::new(false) });
    static TOLERANT: OnceLock<bool> = OnceLock::new();
    let tolerant = *TOLERANT.get_or_init(|| {
        if !tolerant() {
            return false;
        }
        let crash = std::panic::take_hook();
        let seen: Mutex<HashSet<String>> = Mutex::new(HashSet::new());
        std::panic::set_hook(Box::new(move |info| {
            let loc = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()));
            match loc {
                Some(loc) if GUARDED.get() && in_automerge(&loc) => {
                    if seen.lock().unwrap().insert(loc.clone()) {
                        eprintln!("tolerated automerge panic at {loc}: {info}");
                    }
                }
                _ => crash(info),
            }
        }));
        true
    });
    if !tolerant {
        return Some(f());
    }
    GUARDED.set(true);
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok();
    GUARDED.set(false);
    out
}

// ---------------------------------------------------------------------------------------------
// Sync payloads: what the node does with a `DocSyncMessage::message` on receipt.

/// Checks and loads every chunk a sync message carries, as the node does, then (if all of them
/// load) lets a fresh document receive the message and answer it. Returns how many changes the
/// message carried, or `None` if the node would refuse it.
pub fn receive(message: Message) -> Option<usize> {
    let entries: Vec<&[u8]> = message.changes.iter().collect();
    let total: usize = entries.iter().map(|e| e.len()).sum();
    let chunks = chunks::check(entries.iter().copied()).ok()?;
    // Chunks tile the entries exactly: nothing is dropped or read twice.
    assert_eq!(chunks.iter().map(|c| c.bytes.len()).sum::<usize>(), total);
    let carried = chunks::changes_of(&chunks).ok()?.len();
    // The node applies the message only once every change carried a valid signature; a member can
    // sign anything, so the rest of the message (heads, needs, bloom filters) is fuzzed too.
    let mut doc = Automerge::new();
    let mut state = automerge::sync::State::new();
    if doc.receive_sync_message(&mut state, message).is_ok() {
        let _ = doc.generate_sync_message(&mut state);
    }
    Some(carried)
}

// ---------------------------------------------------------------------------------------------
// The roster script.

/// Which parents a scripted op cites.
#[derive(Deserialize, serde::Serialize, Debug, Clone)]
pub enum Parents {
    /// The current heads of the log the script builds in order.
    Heads,
    /// Only genesis.
    Genesis,
    /// Earlier ops of the script (indices modulo their count), or genesis if there are none.
    Earlier(Vec<u8>),
    /// Exactly these hashes.
    Given(Vec<OpHash>),
}

/// One scripted op: signed by fixed key `key`, so the fuzzer reaches the fold.
#[derive(Deserialize, serde::Serialize, Debug, Clone)]
pub struct Step {
    pub key: u8,
    pub parents: Parents,
    pub created_at_ms: u64,
    pub body: RosterOpBody,
}

fn is_placeholder(bytes: &[u8; 32]) -> bool {
    bytes[1..].iter().all(|&b| b == 0)
}

/// Turns the script into signed ops. Invite keys whose last 31 bytes are zero name fixed invite
/// `key[0]` (and an `Admit` of such a key carries a valid proof); endorsed proposals whose last 31
/// bytes are zero name an earlier op of the script.
pub fn sign_script(steps: &[Step]) -> Vec<SignedRosterOp> {
    let fed = federation();
    let mut order = founded_log();
    let mut signed: Vec<SignedRosterOp> = Vec::new();
    for step in steps {
        let k = step.key as usize % KEYS;
        let earlier = |i: u8| {
            if signed.is_empty() {
                fed.genesis_hash()
            } else {
                signed[i as usize % signed.len()].hash()
            }
        };
        let mut body = step.body.clone();
        match &mut body {
            RosterOpBody::Invite { invite_key: ik, .. } if is_placeholder(ik) => {
                *ik = invite_key(ik[0] as usize);
            }
            RosterOpBody::Admit {
                invite_key: ik,
                joiner,
                proof,
                ..
            } if is_placeholder(ik) => {
                let i = ik[0] as usize;
                *ik = invite_key(i);
                *proof = admit_proof(i, &fed, joiner);
            }
            RosterOpBody::Endorse { proposal } if is_placeholder(&proposal.0) => {
                *proposal = earlier(proposal.0[0]);
            }
            _ => {}
        }
        let genesis = matches!(body, RosterOpBody::Genesis { .. });
        let parents = match &step.parents {
            _ if genesis => vec![],
            Parents::Heads => order.heads(),
            Parents::Genesis => vec![fed.genesis_hash()],
            Parents::Earlier(ix) => {
                let mut p: Vec<OpHash> = ix.iter().map(|&i| earlier(i)).collect();
                p.sort();
                p.dedup();
                p
            }
            Parents::Given(p) => p.clone(),
        };
        let op = RosterOp {
            federation: (!genesis).then_some(fed),
            author: node(k),
            parents,
            created_at_ms: step.created_at_ms,
            body,
        }
        .sign(&key(k));
        if let Ok(v) = op.verify() {
            let _ = order.insert(v);
        }
        signed.push(op);
    }
    signed
}

/// Inserts `ops` into a founded log in the given order and returns the log.
pub fn insert_all<'a>(ops: impl IntoIterator<Item = &'a SignedRosterOp>) -> RosterLog {
    let mut log = founded_log();
    for op in ops {
        if let Ok(v) = op.verify() {
            let _ = log.insert(v);
        }
    }
    log
}

/// The roster's contract: the state is a pure function of the set of ops, whatever their arrival
/// order, and the log's views of it agree.
pub fn check_roster_convergence(ops: &[SignedRosterOp], rotate: usize) {
    let forward = insert_all(ops);
    let backward = insert_all(ops.iter().rev());
    let mut rotated: Vec<&SignedRosterOp> = ops.iter().collect();
    if !rotated.is_empty() {
        let n = rotate % rotated.len();
        rotated.rotate_left(n);
    }
    let rotated = insert_all(rotated);
    for other in [&backward, &rotated] {
        assert_eq!(
            forward.heads(),
            other.heads(),
            "heads depend on arrival order"
        );
        assert_eq!(forward.len(), other.len());
        assert_eq!(
            *forward.state(),
            *other.state(),
            "the roster state depends on arrival order"
        );
    }
    let heads = forward.heads();
    assert_eq!(forward.state_at(&heads).as_deref(), Some(&*forward.state()));
    assert_eq!(forward.ops_in_order().len(), forward.len());
    assert_eq!(forward.ops_missing_from(&[]).len(), forward.len());
    assert!(forward.ops_missing_from(&heads).is_empty());
    for h in &heads {
        assert!(forward.state_at(&[*h]).is_some());
    }
}

// ---------------------------------------------------------------------------------------------
// Seeds.

/// A change by fixed key `author` citing the founded roster heads, and its signature.
pub fn signed_change(author: usize) -> (Change, SignedChange) {
    let actor = ActorId::new(node(author), [author as u8; 8]);
    let mut doc = AutoCommit::new().with_actor(actor.to_automerge());
    doc.put(ROOT, "title", "Harm reduction checklist").unwrap();
    doc.put(ROOT, "n", 3_i64).unwrap();
    doc.commit_with(
        CommitOptions::default().with_message(roster_heads_message(&shared_log().heads())),
    );
    let change = doc.get_last_local_change().unwrap();
    let signed = SignedChange::sign(&change, &key(author));
    (change, signed)
}

/// A document with some history, for sync-message seeds.
pub fn sample_doc(changes: usize) -> AutoCommit {
    let actor = ActorId::new(node(1), [1; 8]);
    let mut doc = AutoCommit::new().with_actor(actor.to_automerge());
    let list = doc
        .put_object(ROOT, "items", automerge::ObjType::List)
        .unwrap();
    let text = doc
        .put_object(ROOT, "text", automerge::ObjType::Text)
        .unwrap();
    for i in 0..changes {
        doc.put(ROOT, format!("k{}", i % 5), i as i64).unwrap();
        doc.insert(&list, 0, format!("item {i}")).unwrap();
        doc.splice_text(&text, 0, 0, "housing first ").unwrap();
        doc.commit();
    }
    doc
}

/// Every message of a full sync from `doc` to an empty peer.
pub fn sync_messages(doc: &mut AutoCommit) -> Vec<Vec<u8>> {
    let mut a = doc.document().clone();
    let mut b = Automerge::new();
    let (mut sa, mut sb) = (automerge::sync::State::new(), automerge::sync::State::new());
    let mut out = Vec::new();
    for _ in 0..10 {
        let mut quiet = true;
        if let Some(m) = a.generate_sync_message(&mut sa) {
            quiet = false;
            out.push(m.clone().encode());
            b.receive_sync_message(&mut sb, m).unwrap();
        }
        if let Some(m) = b.generate_sync_message(&mut sb) {
            quiet = false;
            out.push(m.clone().encode());
            a.receive_sync_message(&mut sa, m).unwrap();
        }
        if quiet {
            break;
        }
    }
    out
}

/// A sync message whose change list is one saved document.
pub fn message_with_saved_doc(doc: &mut AutoCommit) -> Vec<u8> {
    Message {
        heads: doc.get_heads(),
        need: vec![],
        have: vec![],
        changes: doc.save().into(),
        flags: None,
        version: automerge::sync::MessageVersion::V2,
    }
    .encode()
}

fn with_mode(mode: u8, bytes: &[u8]) -> Vec<u8> {
    let mut v = vec![mode];
    v.extend_from_slice(bytes);
    v
}

fn roster_script_seed() -> Vec<Step> {
    let profile = |org: &str| Profile {
        org: org.into(),
        sector: None,
    };
    let mut placeholder = [0u8; 32];
    placeholder[0] = 2;
    vec![
        Step {
            key: 1,
            parents: Parents::Heads,
            created_at_ms: 3,
            body: RosterOpBody::Invite {
                invite_key: placeholder,
                role: Role::Member,
                expires_at_ms: 9,
            },
        },
        Step {
            key: 1,
            parents: Parents::Heads,
            created_at_ms: 4,
            body: RosterOpBody::Admit {
                invite_key: placeholder,
                joiner: node(3),
                profile: profile("Late joiner"),
                proof: Signature([0; 64]),
            },
        },
        Step {
            key: 0,
            parents: Parents::Heads,
            created_at_ms: 5,
            body: RosterOpBody::ProposeRemoval {
                target: node(2),
                reason: "gone quiet".into(),
            },
        },
        Step {
            key: 1,
            parents: Parents::Earlier(vec![2]),
            created_at_ms: 6,
            body: RosterOpBody::Endorse {
                proposal: OpHash({
                    let mut p = [0; 32];
                    p[0] = 2;
                    p
                }),
            },
        },
        Step {
            key: 2,
            parents: Parents::Genesis,
            created_at_ms: 7,
            body: RosterOpBody::Leave,
        },
        Step {
            key: 1,
            parents: Parents::Earlier(vec![0, 1]),
            created_at_ms: 8,
            body: RosterOpBody::SetRole {
                target: node(3),
                role: Role::Peripheral,
            },
        },
        Step {
            key: 3,
            parents: Parents::Heads,
            created_at_ms: 9,
            body: RosterOpBody::UpdateProfile {
                profile: profile("Renamed"),
            },
        },
    ]
}

/// Seed inputs for every target, from valid encodings. Small: the fuzzer grows its own corpus.
pub fn seeds() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let fed = federation();
    let log = shared_log();
    let ops: Vec<SignedRosterOp> = founding_ops().iter().map(|v| v.signed.clone()).collect();
    let mut doc = sample_doc(4);
    let msgs = sync_messages(&mut doc);
    let docs = vec![
        DocSyncMessage {
            doc: DocId::new(DocKind::Resource, [3; 16]),
            message: msgs.first().cloned(),
            signatures: vec![([4; 32], Signature([5; 64]))],
        },
        DocSyncMessage {
            doc: DocId::new(DocKind::Event, [4; 16]),
            message: None,
            signatures: vec![],
        },
    ];
    let docs_seed = docs[0].clone();
    let digest = collection::SetDigest {
        xor: [9; 16],
        count: 3,
    };
    let audience = docs::Audience::Members;
    let requests = [
        SyncRequest::Roster {
            federation: fed,
            heads: log.heads(),
        },
        SyncRequest::RosterPush {
            federation: fed,
            ops: ops.clone(),
        },
        SyncRequest::Digest {
 federation: fed,
 asker: None,
 },
        SyncRequest::Buckets {
            federation: fed,
            audience,
        },
        SyncRequest::Items {
            federation: fed,
            audience,
            buckets: vec![1, 2, 200],
        },
        SyncRequest::Docs {
            federation: fed,
            docs: docs.clone(),
        },
        SyncRequest::Addresses { federation: fed },
    ];
    let responses = [
        SyncResponse::RosterOps {
            ops: ops.clone(),
            heads: log.heads(),
        },
        SyncResponse::Ack,
        SyncResponse::Digest {
            federation: digest,
            members: Some(digest),
        },
        SyncResponse::Buckets {
            buckets: vec![digest; 4],
        },
        SyncResponse::Items {
            items: vec![(DocId::new(DocKind::Story, [1; 16]), [2; 16])],
        },
        SyncResponse::Docs { docs },
        SyncResponse::Addresses {
            peers: vec![(node(1), vec!["/ip4/10.0.0.1/tcp/4001".into()])],
        },
        SyncResponse::Refused {
            code: wire::RefusalCode::Busy,
            message: "later".into(),
        },
    ];
    let join = vec![
        wire::encode(&JoinRequest {
            federation: fed,
            invite_key: invite_key(2),
            profile: Profile {
                org: "Joiner".into(),
                sector: Some("housing".into()),
            },
            proof: admit_proof(2, &fed, &node(0)),
        }),
        wire::encode(&JoinResponse::Admitted { ops: ops.clone() }),
        wire::encode(&JoinResponse::Refused {
            code: wire::JoinRefusal::Expired,
            message: "too late".into(),
        }),
    ];
    let body = InviteBody {
        federation: fed,
        federation_name: "Fuzz CoP".into(),
        secret: invite_secret(2),
        role: Role::Member,
        issuer: node(1),
        issuer_org: "Org 1".into(),
        expires_at_ms: 99,
        addrs: vec![format!("/ip4/127.0.0.1/tcp/4001/p2p/{}", node(1))],
    };
    let token = InviteToken::issue(body.clone(), &key(1));
    let token_bytes = postcard::to_allocvec(&token).unwrap();
    let (change, signed) = signed_change(1);
    let mut change_seed = vec![1];
    change_seed.extend_from_slice(change.raw_bytes());
    let mut verify_seed = vec![2];
    verify_seed.extend_from_slice(node(1).as_bytes());
    verify_seed.push(0);
    verify_seed.extend_from_slice(&signed.signature.0);
    verify_seed.extend_from_slice(&change.hash().0);
    let mut compressed = sample_doc(40);
    let saved = compressed.save();
    let joined: Vec<u8> = compressed
        .get_changes(&[])
        .iter()
        .flat_map(|c| c.raw_bytes().to_vec())
        .collect();
    let script = roster_script_seed();
    let mut sync_seeds: Vec<Vec<u8>> = msgs.iter().map(|m| with_mode(0, m)).collect();
    sync_seeds.push(with_mode(0, &message_with_saved_doc(&mut doc)));
    sync_seeds.push(with_mode(1, &saved));
    sync_seeds.push(with_mode(1, &joined));
    vec![
        (
            "wire_sync_request",
            requests.iter().map(wire::encode).collect(),
        ),
        (
            "wire_sync_response",
            responses.iter().map(wire::encode).collect(),
        ),
        ("wire_join", join),
        (
            "wire_announce",
            vec![wire::encode(&Announce {
                federation: fed,
                roster_heads: log.heads(),
                federation_digest: digest,
                members_digest: collection::SetDigest::default(),
            })],
        ),
        (
            "invite_token",
            vec![
                with_mode(0, token.encode().as_bytes()),
                with_mode(1, &token_bytes),
                with_mode(2, &postcard::to_allocvec(&body).unwrap()),
            ],
        ),
        (
            "roster_op",
            ops.iter()
                .map(|o| with_mode(0, &wire::encode(o)))
                .chain(ops.iter().map(|o| with_mode(1, &o.payload)))
                .chain([with_mode(2, &postcard::to_allocvec(&script).unwrap())])
                .collect(),
        ),
        (
            "signed_change",
            vec![
                with_mode(0, &postcard::to_allocvec(&signed).unwrap()),
                change_seed,
                verify_seed,
                with_mode(3, &postcard::to_allocvec(&docs_seed).unwrap()),
            ],
        ),
        ("sync_payload", sync_seeds),
        (
            "ids",
            vec![
                node(1).to_string().into_bytes(),
                fed.to_string().into_bytes(),
                fed.genesis_hash().to_string().into_bytes(),
                DocId::new(DocKind::Consult, [5; 16])
                    .to_string()
                    .into_bytes(),
                roster_heads_message(&log.heads()).into_bytes(),
            ],
        ),
    ]
}
