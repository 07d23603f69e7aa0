//! Sync between replicas through the real session and responder code, over an in-process link:
//! convergence, read gating for peripheral nodes, and refusal of invalid changes.

use std::sync::Arc;

use automerge::AutoCommit;
use copnet_node::replica::{
    Channel, NewCommunity, NewConsult, NewFederation, NewResource, Replica, ResourceEdit,
};
use copnet_node::session::{self, Link, LinkError};
use copnet_node::store::Store;
use copnet_protocol::wire::{DocSyncMessage, JoinRequest, RefusalCode, SyncRequest, SyncResponse};
use copnet_protocol::*;
use copnet_tests::hostile::forged_message;

struct Direct {
    to: Arc<Replica>,
    from: NodeId,
}

/// Both directions pass through the wire encoding and its size limit, as on the network.
impl Link for Direct {
    async fn request(&self, req: SyncRequest) -> Result<SyncResponse, LinkError> {
        let (to, from) = (self.to.clone(), self.from);
        let req: SyncRequest = through_the_wire(&req);
        let (resp, _) = tokio::task::spawn_blocking(move || session::respond(&to, &from, req))
            .await
            .unwrap();
        Ok(through_the_wire(&resp))
    }
}

fn through_the_wire<T: serde::Serialize + serde::de::DeserializeOwned>(msg: &T) -> T {
    let bytes = copnet_protocol::wire::encode(msg);
    assert!(
        bytes.len() <= copnet_protocol::wire::MAX_MESSAGE_BYTES,
        "a {} byte message would be refused by the network",
        bytes.len()
    );
    copnet_protocol::wire::decode(&bytes).unwrap()
}

fn replica(dir: &tempfile::TempDir, name: &str) -> Arc<Replica> {
    let store = Store::open(&dir.path().join(name)).unwrap();
    Replica::open(
        NodeKey::generate(),
        Profile {
            org: name.into(),
            sector: None,
        },
        store,
    )
    .unwrap()
}

fn join(inviter: &Replica, joiner: &Replica, role: Role) {
    let token = inviter
        .create_invite(role, 3_600_000, vec!["/ip4/127.0.0.1/tcp/1".into()])
        .unwrap();
    let req = JoinRequest {
        federation: token.body.federation,
        invite_key: token.invite_key(),
        profile: joiner.profile().clone(),
        proof: token.proof_for(&joiner.node_id()),
    };
    let ops = inviter.admit(&joiner.node_id(), &req).unwrap();
    joiner.adopt_roster(token.body.federation, ops).unwrap();
    // Reusing the token fails.
    assert!(inviter.admit(&joiner.node_id(), &req).is_err());
}

async fn sync(a: &Arc<Replica>, b: &Arc<Replica>) -> session::SessionReport {
    session::run(
        a.clone(),
        b.node_id(),
        &Direct {
            to: b.clone(),
            from: a.node_id(),
        },
    )
    .await
    .unwrap()
}

fn heads(r: &Replica, doc: &DocId) -> Option<Vec<String>> {
    r.store().doc_entry(doc).unwrap().map(|e| {
        let mut h = e.heads;
        h.sort();
        h
    })
}

#[tokio::test]
async fn members_converge_and_peripherals_get_only_federation_documents() {
    let dir = tempfile::tempdir().unwrap();
    let [a, b, c, p] = ["A", "B", "C", "P"].map(|n| replica(&dir, n));
    a.create_federation(NewFederation {
        name: "F".into(),
        charter: None,
    })
    .unwrap();
    join(&a, &b, Role::Member);
    join(&a, &c, Role::Member);
    join(&a, &p, Role::Peripheral);
    for r in [&b, &c, &p] {
        sync(r, &a).await;
    }

    let com = a
        .create_community(NewCommunity {
            name: "Housing".into(),
            ..Default::default()
        })
        .unwrap()
        .id;
    let res = a
        .add_resource(NewResource {
            community: com.to_string(),
            title: "Guide".into(),
            kind: "tool".into(),
            ..Default::default()
        })
        .unwrap()
        .id;
    let consult = a
        .open_consult(NewConsult {
            community: com.to_string(),
            title: "Case".into(),
            question: "Q?".into(),
            situation: "S".into(),
            ..Default::default()
        })
        .unwrap()
        .id;
    for r in [&b, &c, &p] {
        let report = sync(r, &a).await;
        assert!(report.in_sync || r.node_id() == p.node_id(), "{report:?}");
    }
    // Concurrent writes on every member.
    b.edit_resource(
        &res.to_string(),
        ResourceEdit {
            summary: Some("from B".into()),
            ..Default::default()
        },
    )
    .unwrap();
    c.edit_resource(
        &res.to_string(),
        ResourceEdit {
            title: Some("Guide (C)".into()),
            ..Default::default()
        },
    )
    .unwrap();
    a.reply_consult(
        &consult.to_string(),
        copnet_node::replica::NewReply {
            text: "from A".into(),
            ..Default::default()
        },
    )
    .unwrap();
    b.reply_consult(
        &consult.to_string(),
        copnet_node::replica::NewReply {
            text: "from B".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let b_only = b
        .add_resource(NewResource {
            community: com.to_string(),
            title: "B's".into(),
            kind: "policy".into(),
            ..Default::default()
        })
        .unwrap()
        .id;
    // A ring of sessions, twice, reaches everyone.
    for _ in 0..2 {
        sync(&b, &a).await;
        sync(&c, &b).await;
        sync(&a, &c).await;
        sync(&p, &a).await;
    }
    for doc in [com, res, consult, b_only] {
        assert_eq!(heads(&a, &doc), heads(&b, &doc), "{doc}");
        assert_eq!(heads(&a, &doc), heads(&c, &doc), "{doc}");
    }
    let view = a.get(&res).unwrap().view;
    assert_eq!(view["summary"], "from B");
    assert_eq!(view["title"], "Guide (C)");
    assert_eq!(a.get(&consult).unwrap().view["reply_count"], 2);
    // The peripheral holds every federation document, and nothing of the consult.
    for doc in [com, res, b_only] {
        assert_eq!(heads(&p, &doc), heads(&a, &doc), "{doc}");
    }
    assert!(p.store().doc_entry(&consult).unwrap().is_none());
    assert!(p.store().changes_of(&consult).unwrap().is_empty());
    assert!(p.store().automerge_bytes(&consult).unwrap().is_none());
    // Reconnecting with nothing changed costs the roster step and one digest.
    let report = sync(&b, &a).await;
    assert!(report.in_sync);
    assert_eq!(report.docs_compared, 0);
    // Roster step and one digest; these in-process replicas have no address book, so they also
    // ask for addresses (real nodes skip that once they know every peer: see the benchmark).
    assert_eq!(report.round_trips, 3, "{report:?}");
}

#[tokio::test]
async fn invalid_changes_are_refused_whole_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let [a, b, p] = ["A", "B", "P"].map(|n| replica(&dir, n));
    a.create_federation(NewFederation {
        name: "F".into(),
        charter: None,
    })
    .unwrap();
    join(&a, &b, Role::Member);
    join(&a, &p, Role::Peripheral);
    let com = a
        .create_community(NewCommunity {
            name: "C".into(),
            ..Default::default()
        })
        .unwrap()
        .id;
    let res = a
        .add_resource(NewResource {
            community: com.to_string(),
            title: "Original".into(),
            kind: "tool".into(),
            ..Default::default()
        })
        .unwrap()
        .id;
    sync(&b, &a).await;
    sync(&p, &a).await;
    let before = heads(&a, &res);

    let send = |from: &Arc<Replica>, m: DocSyncMessage| {
        let fed = a.federation_id().unwrap();
        session::respond(
            &a,
            &from.node_id(),
            SyncRequest::Docs {
                federation: fed,
                docs: vec![m],
            },
        )
    };
    let outsider = NodeKey::generate();
    let cases = [
        (
            "a peripheral's own change",
            &p,
            forged_message(&p, p.key(), p.key(), &res),
        ),
        (
            "signed by another key",
            &b,
            forged_message(&b, b.key(), &outsider, &res),
        ),
        (
            "a member's change under the wrong author",
            &b,
            forged_message(&b, a.key(), b.key(), &res),
        ),
    ];
    for (what, from, msg) in cases {
        let (resp, offence) = send(from, msg);
        assert!(
            matches!(
                resp,
                SyncResponse::Refused {
                    code: RefusalCode::InvalidChange,
                    ..
                }
            ),
            "{what}: {resp:?}"
        );
        assert!(offence, "{what} counts as an offence");
        assert_eq!(heads(&a, &res), before, "{what} changed nothing");
    }
    // Tampered bytes: the signature no longer matches the hash.
    let tampered = copnet_tests::hostile::tamper(forged_message(&b, b.key(), b.key(), &res));
    let (resp, _) = send(&b, tampered);
    assert!(matches!(resp, SyncResponse::Refused { .. }), "{resp:?}");
    assert_eq!(heads(&a, &res), before);
    assert_eq!(a.get(&res).unwrap().view["title"], "Original");

    // An outsider gets nothing at all.
    let (resp, _) = session::respond(
        &a,
        &outsider.node_id(),
        SyncRequest::Digest {
            federation: a.federation_id().unwrap(),
            asker: None,
        },
    );
    assert!(matches!(
        resp,
        SyncResponse::Refused {
            code: RefusalCode::NotInRoster,
            ..
        }
    ));
    let doc = a.store().automerge_bytes(&res).unwrap().unwrap();
    assert!(AutoCommit::load(&doc).unwrap().get_heads().len() == 1);
}

#[tokio::test]
async fn changes_citing_unknown_roster_ops_wait_and_apply_once_the_roster_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let [a, b, c] = ["A", "B", "C"].map(|n| replica(&dir, n));
    a.create_federation(NewFederation {
        name: "F".into(),
        charter: None,
    })
    .unwrap();
    join(&a, &c, Role::Member);
    let com = a
        .create_community(NewCommunity {
            name: "CoP".into(),
            ..Default::default()
        })
        .unwrap()
        .id;
    sync(&c, &a).await;
    // B is admitted by A; C has not heard of it yet.
    join(&a, &b, Role::Member);
    sync(&b, &a).await;
    let res = b
        .add_resource(NewResource {
            community: com.to_string(),
            title: "By the newcomer".into(),
            kind: "tool".into(),
            ..Default::default()
        })
        .unwrap()
        .id;
    sync(&a, &b).await;
    // A relays B's document to C without the roster step: B's change cites roster ops C lacks.
    let mut received = Default::default();
    for _ in 0..4 {
        let msg = a
            .sync_generate(&c.node_id(), &res, Channel::Initiated)
            .unwrap();
        let r = c
            .sync_receive(&a.node_id(), Channel::Answered, msg)
            .unwrap();
        if !r.missing_roster.is_empty() {
            received = r;
            break;
        }
        let back = c
            .sync_generate(&a.node_id(), &res, Channel::Answered)
            .unwrap();
        a.sync_receive(&c.node_id(), Channel::Initiated, back)
            .unwrap();
    }
    assert!(
        !received.missing_roster.is_empty(),
        "the change waits for the roster"
    );
    assert_eq!(received.applied, 0);
    assert!(
        c.store().doc_entry(&res).unwrap().is_none(),
        "not applied while its author is unknown"
    );
    // The roster arrives; the waiting change is checked again and applied.
    c.apply_roster_ops(a.roster_ops()).unwrap();
    assert_eq!(c.get(&res).unwrap().view["title"], "By the newcomer");
    assert_eq!(heads(&c, &res), heads(&b, &res));
}

/// Files far larger together than one network message reach a new member intact: sync spreads
/// them over several messages instead of failing on the frame limit.
#[tokio::test]
async fn large_attached_files_spread_over_several_messages() {
    let dir = tempfile::tempdir().unwrap();
    let [a, b] = ["A", "B"].map(|n| replica(&dir, n));
    a.create_federation(NewFederation {
        name: "F".into(),
        charter: None,
    })
    .unwrap();
    let com = a
        .create_community(NewCommunity {
            name: "C".into(),
            ..Default::default()
        })
        .unwrap()
        .id;
    let mut files = Vec::new();
    for i in 0..6u8 {
        let id = a
            .add_resource(NewResource {
                community: com.to_string(),
                title: format!("Guide {i}"),
                kind: "tool".into(),
                ..Default::default()
            })
            .unwrap()
            .id;
        // Incompressible, so the messages really are this large.
        let bytes: Vec<u8> = (0..3_500_000u32)
            .map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8 ^ i)
            .collect();
        a.attach(
            &id.to_string(),
            "guide.pdf",
            "application/pdf",
            bytes.clone(),
        )
        .unwrap();
        files.push((id, bytes));
    }
    join(&a, &b, Role::Member);
    let mut sessions = 0;
    loop {
        sessions += 1;
        let report = sync(&b, &a).await;
        if report.in_sync {
            break;
        }
        assert!(
            sessions < 10,
            "not in sync after {sessions} sessions: {report:?}"
        );
    }
    for (id, bytes) in files {
        let (att, got) = b.attachment(&id.to_string()).unwrap();
        assert_eq!(att.size, bytes.len() as u64);
        assert!(got == bytes, "the file of {id} arrived intact");
    }
}
