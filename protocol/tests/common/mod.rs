//! Helpers shared by the protocol tests: a founded federation and signed changes.
#![allow(dead_code)]

use automerge::{AutoCommit, transaction::CommitOptions};
use copnet_protocol::docs::{Audience, Header, Resource, ResourceKind, SCHEMA_VERSION};
use copnet_protocol::validity::roster_heads_message;
use copnet_protocol::*;

pub fn profile(org: &str) -> Profile {
    Profile {
        org: org.into(),
        sector: None,
    }
}

/// A federation founded by `founder`, and its log.
pub fn found(founder: &NodeKey) -> (RosterLog, FederationId) {
    let genesis = RosterOp {
        federation: None,
        author: founder.node_id(),
        parents: vec![],
        created_at_ms: 1,
        body: RosterOpBody::Genesis {
            name: "Youth housing CoP".into(),
            charter: "".into(),
            profile: profile("Founders"),
            nonce: [1; 16],
        },
    }
    .sign(founder);
    let fed = FederationId(genesis.hash().0);
    let mut log = RosterLog::new(fed);
    log.insert(genesis.verify().unwrap()).unwrap();
    (log, fed)
}

pub fn op(log: &RosterLog, author: &NodeKey, body: RosterOpBody) -> SignedRosterOp {
    RosterOp {
        federation: Some(log.federation()),
        author: author.node_id(),
        parents: log.heads(),
        created_at_ms: 2,
        body,
    }
    .sign(author)
}

pub fn apply(log: &mut RosterLog, author: &NodeKey, body: RosterOpBody) -> OpHash {
    let s = op(log, author, body);
    let h = s.hash();
    log.insert(s.verify().unwrap()).unwrap();
    h
}

/// `admitter` invites and admits `joiner` with `role`.
pub fn admit(log: &mut RosterLog, admitter: &NodeKey, joiner: &NodeKey, role: Role) {
    let invite = NodeKey::generate();
    let invite_key = *invite.node_id().as_bytes();
    apply(
        log,
        admitter,
        RosterOpBody::Invite {
            invite_key,
            role,
            expires_at_ms: u64::MAX,
        },
    );
    let proof = invite.sign(
        Domain::Invite,
        &roster::invite_proof_message(&log.federation(), &joiner.node_id()),
    );
    apply(
        log,
        admitter,
        RosterOpBody::Admit {
            invite_key,
            joiner: joiner.node_id(),
            profile: profile("Joiner"),
            proof,
        },
    );
}

/// A signed first change of a resource document written by `author` citing `roster_heads`.
pub fn resource_change(
    author: &NodeKey,
    fed: FederationId,
    roster_heads: &[OpHash],
) -> (automerge::Change, SignedChange) {
    let id = DocId::random(DocKind::Resource);
    let header = Header {
        id,
        kind: DocKind::Resource,
        federation: fed,
        community: DocId::random(DocKind::Community),
        audience: Audience::Federation,
        creator: author.node_id(),
        schema_version: SCHEMA_VERSION,
        created_at_ms: 0,
    };
    let doc = Resource {
        header,
        title: "Harm reduction checklist".into(),
        kind: ResourceKind::Tool,
        summary: "".into(),
        url: None,
        topics: vec![],
        intended_for: String::new(),
        jurisdiction: String::new(),
        evidence: None,
        review_by: None,
        licence: String::new(),
        adapted_from: String::new(),
        attachment: None,
        added_by: None,
        updated_at_ms: 0,
    };
    let mut am =
        AutoCommit::new().with_actor(ActorId::for_process(author.node_id()).to_automerge());
    autosurgeon::reconcile(&mut am, &doc).unwrap();
    am.commit_with(CommitOptions::default().with_message(roster_heads_message(roster_heads)));
    let change = am.get_last_local_change().unwrap();
    let signed = SignedChange::sign(&change, author);
    (change, signed)
}
