//! A hostile peer that speaks the wire protocol to a real node over libp2p: it holds a genuine
//! member's (or peripheral's) key, connects, and sends what an honest node never would. Each
//! attempt must be refused, change nothing, and leave the node serving honest peers.

use std::time::Duration;

use copnet_node::net::{NetConfig, Network, peer_id};
use copnet_node::replica::Replica;
use copnet_node::session::LinkError;
use copnet_node::store::Store;
use copnet_protocol::docs::Audience;
use copnet_protocol::wire::{DocSyncMessage, RefusalCode, SyncRequest, SyncResponse};
use copnet_protocol::{DocId, NodeId, NodeKey, Profile};
use copnet_tests::hostile::{
    compression_bomb, forged_message, peak_rss, signed_changes_citing, tamper,
};
use copnet_tests::*;
use serde_json::json;

/// Opens a stopped node's data directory in-process and connects to the federation with it.
async fn impersonate(data: &std::path::Path) -> anyhow::Result<(std::sync::Arc<Replica>, Network)> {
    let key = copnet_node::datadir::DataDir::new(data).load_key()?;
    let store = Store::open(&data.join("store"))?;
    let replica = Replica::open(
        key,
        Profile {
            org: "Hostile".into(),
            sector: None,
        },
        store,
    )?;
    let net = Network::start(
        replica.clone(),
        NetConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse()?],
            mdns: false,
        },
        tracing::Span::none(),
    )
    .await?;
    Ok((replica, net))
}

/// Waits until the hostile peer's connection to `to` is up (`true`) or down (`false`).
async fn wait_connection(net: &Network, to: &NodeId, up: bool) -> anyhow::Result<()> {
    tokio::time::timeout(Duration::from_secs(30), async {
        while net
            .handle()
            .peer_status()
            .get(to)
            .is_some_and(|s| s.connected)
            != up
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .map_err(|_| {
        anyhow::anyhow!(if up {
            "the hostile peer never connected"
        } else {
            "the offender was not disconnected"
        })
    })
}

/// The federation `node` is in.
fn federation_of(node: &NodeProc) -> anyhow::Result<copnet_protocol::FederationId> {
    let status = node.api.ok("/status")?;
    let id = status["federation"]["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("not in a federation: {status}"))?;
    Ok(id.parse()?)
}

fn refused(result: Result<SyncResponse, LinkError>) -> RefusalCode {
    match result {
        Err(LinkError::Refused { code, .. }) => code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_hostile_peer_is_refused_and_changes_nothing() -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let dir = tempfile::tempdir()?;
    let root = dir.path();
    let a = NodeProc::start(&root.join("a"), "Honest agency")?;
    let mut b = NodeProc::start(&root.join("b"), "Member gone rogue")?;
    let mut p = NodeProc::start(&root.join("p"), "Peripheral gone rogue")?;
    copnet_ok(&a.data, &["federation", "create", "Hostile test"])?;
    invite_and_join(&a, &b, "member")?;
    invite_and_join(&a, &p, "peripheral")?;
    let com = a.api.create("/communities", &json!({ "name": "CoP" }))?["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res: DocId = a.api.create(
        "/resources",
        &json!({ "community": com, "title": "Original", "kind": "tool" }),
    )?["id"]
        .as_str()
        .unwrap()
        .parse()?;
    let consult: DocId = a.api.create(
        "/consults",
        &json!({ "community": com, "title": "Case", "question": "Q?", "situation": "S" }),
    )?["id"]
        .as_str()
        .unwrap()
        .parse()?;
    wait_converged(&[&a, &b, &p], Duration::from_secs(60))?;
    let a_id: NodeId = a.node_id().parse()?;
    let before = a.api.ok(&format!("/resources/{res}"))?;
    let fed = federation_of(&a)?;

    let to_a = peer_id(&a_id);
    let docs = |m: DocSyncMessage| SyncRequest::Docs {
        federation: fed,
        docs: vec![m],
    };
    // The rogue member, speaking the protocol with its real key.
    b.terminate()?;
    let after_member = rt.block_on(async {
        let (rogue, net) = impersonate(&b.data).await?;
        wait_connection(&net, &a_id, true).await?;
        let outsider = NodeKey::generate();
        // A request naming another federation (refused, and an offence: members know their own).
        let r = net
            .handle()
            .request(
                to_a,
                &SyncRequest::Digest {
                    federation: copnet_protocol::FederationId([7; 32]),
                    asker: None,
                },
            )
            .await;
        assert_eq!(refused(r), RefusalCode::WrongFederation);
        // A change signed by a key that is not its author's.
        let r = net
            .handle()
            .request(
                to_a,
                &docs(forged_message(&rogue, rogue.key(), &outsider, &res)),
            )
            .await;
        assert_eq!(refused(r), RefusalCode::InvalidChange, "wrong signing key");
        // A change that names another member as its author.
        let r = net
            .handle()
            .request(
                to_a,
                &docs(forged_message(&rogue, &outsider, rogue.key(), &res)),
            )
            .await;
        assert_eq!(refused(r), RefusalCode::InvalidChange, "actor/key mismatch");
        // A change with tampered bytes.
        let r = net
            .handle()
            .request(
                to_a,
                &docs(tamper(forged_message(
                    &rogue,
                    rogue.key(),
                    rogue.key(),
                    &res,
                ))),
            )
            .await;
        assert!(
            matches!(r, Err(LinkError::Refused { .. })),
            "tampered bytes: {r:?}"
        );
        // Repeated offences get it disconnected (and banned for a while).
        wait_connection(&net, &a_id, false).await?;
        net.shutdown().await;
        anyhow::Ok(())
    });
    after_member?;
    assert_eq!(
        a.api.ok(&format!("/resources/{res}"))?,
        before,
        "nothing changed"
    );

    // The rogue peripheral.
    p.terminate()?;
    let after_peripheral = rt.block_on(async {
        let (rogue, net) = impersonate(&p.data).await?;
        wait_connection(&net, &a_id, true).await?;
        // A change it wrote itself: peripheral nodes never hold a writing role.
        let r = net
            .handle()
            .request(
                to_a,
                &docs(forged_message(&rogue, rogue.key(), rogue.key(), &res)),
            )
            .await;
        assert_eq!(refused(r), RefusalCode::InvalidChange, "peripheral write");
        // A sync message that makes automerge 0.12 panic while decoding a change (found by
        // fuzzing): refused like any malformed message, and the node carries on.
        let crash = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "../fuzz/regressions/sync_payload/crash-0bd5b4eb8027c543f6c03bf233cc72f5e4637e8a",
        ))?;
        let r = net
            .handle()
            .request(
                to_a,
                &docs(DocSyncMessage {
                    doc: res,
                    message: Some(crash[1..].to_vec()),
                    signatures: vec![],
                }),
            )
            .await;
        match r {
            Err(LinkError::Refused {
                code: RefusalCode::InvalidChange,
                message,
            }) => assert!(message.contains("automerge could not decode"), "{message}"),
            other => panic!("automerge panic: {other:?}"),
        }
        // Asking for members-only content, every way the protocol allows.
        let r = net
            .handle()
            .request(
                to_a,
                &SyncRequest::Items {
                    federation: fed,
                    audience: Audience::Members,
                    buckets: (0..=255).collect(),
                },
            )
            .await;
        assert_eq!(refused(r), RefusalCode::Forbidden);
        let r = net
            .handle()
            .request(
                to_a,
                &SyncRequest::Buckets {
                    federation: fed,
                    audience: Audience::Members,
                },
            )
            .await;
        assert_eq!(refused(r), RefusalCode::Forbidden);
        match net
            .handle()
            .request(
                to_a,
                &SyncRequest::Digest {
                    federation: fed,
                    asker: None,
                },
            )
            .await?
        {
            SyncResponse::Digest { members, .. } => {
                assert!(members.is_none(), "members digest leaked")
            }
            other => panic!("{other:?}"),
        }
        let ask = rogue
            .sync_generate(&a_id, &consult, copnet_node::replica::Channel::Initiated)
            .unwrap_or(DocSyncMessage {
                doc: consult,
                message: None,
                signatures: vec![],
            });
        let ask = DocSyncMessage {
            doc: consult,
            message: ask.message.or_else(|| {
                Some(
                    automerge::sync::Message {
                        heads: vec![],
                        need: vec![],
                        have: vec![],
                        changes: automerge::sync::ChunkList::empty(),
                        flags: None,
                        version: automerge::sync::MessageVersion::V1,
                    }
                    .encode(),
                )
            }),
            signatures: vec![],
        };
        match net.handle().request(to_a, &docs(ask)).await? {
            SyncResponse::Docs { docs } => assert!(
                docs.iter().all(|d| d.message.is_none()),
                "the consult was sent to a peripheral"
            ),
            other => panic!("{other:?}"),
        }
        assert!(rogue.store().changes_of(&consult)?.is_empty());
        net.shutdown().await;
        anyhow::Ok(())
    });
    after_peripheral?;
    assert_eq!(
        a.api.ok(&format!("/resources/{res}"))?,
        before,
        "nothing changed"
    );

    // The honest node still serves honest requests.
    let (s, _) = a.api.get("/status")?;
    assert_eq!(s, StatusCode::OK);
    Ok(())
}

fn traffic(node: &NodeProc) -> serde_json::Value {
    node.api
        .ok("/status")
        .map(|s| s["traffic"].clone())
        .unwrap_or_default()
}

#[test]
fn hostile_bytes_floods_and_bombs_are_refused_with_bounded_memory() -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let dir = tempfile::tempdir()?;
    let root = dir.path();
    let a = NodeProc::start(&root.join("a"), "Honest agency")?;
    let c = NodeProc::start(&root.join("c"), "Another honest agency")?;
    let mut r = NodeProc::start(&root.join("r"), "Member gone rogue")?;
    copnet_ok(&a.data, &["federation", "create", "Hostile test"])?;
    invite_and_join(&a, &c, "member")?;
    invite_and_join(&a, &r, "member")?;
    let com = a.api.create("/communities", &json!({ "name": "CoP" }))?["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res: DocId = a.api.create(
        "/resources",
        &json!({ "community": com, "title": "Original", "kind": "tool" }),
    )?["id"]
        .as_str()
        .unwrap()
        .parse()?;
    wait_converged(&[&a, &c, &r], Duration::from_secs(60))?;
    let a_id: NodeId = a.node_id().parse()?;
    let fed = federation_of(&a)?;
    let before = a.api.ok(&format!("/resources/{res}"))?;
    let to_a = peer_id(&a_id);
    let docs = |m: DocSyncMessage| SyncRequest::Docs {
        federation: fed,
        docs: vec![m],
    };

    r.terminate()?;
    rt.block_on(async {
        let (rogue, net) = impersonate(&r.data).await?;
        wait_connection(&net, &a_id, true).await?;
        let h = net.handle();

        // Replays of what it already sent: accepted as the no-ops they are, not offences.
        let roster = rogue.roster_ops();
        let replay = h
            .request(
                to_a,
                &SyncRequest::RosterPush {
                    federation: fed,
                    ops: roster,
                },
            )
            .await?;
        assert_eq!(replay, SyncResponse::Ack, "replayed roster ops");
        // Changes citing roster ops that do not exist, in bulk: they wait, bounded per peer
        // (16 MiB), and are neither applied nor an offence.
        let fake: Vec<copnet_protocol::OpHash> = (0..64u8)
            .map(|i| copnet_protocol::OpHash([i; 32]))
            .collect();
        for round in 0..3 {
            let bulk = signed_changes_citing(&rogue, rogue.key(), &res, &fake, 12, 600_000);
            let r = h.request(to_a, &docs(bulk)).await;
            assert!(r.is_ok(), "round {round}: {r:?}");
        }

        // Bytes that are not a message.
        let r = h.request_bytes(to_a, vec![0xff; 64]).await?;
        let r: SyncResponse = copnet_protocol::wire::decode(&r)?;
        assert!(
            matches!(
                r,
                SyncResponse::Refused {
                    code: RefusalCode::BadRequest,
                    ..
                }
            ),
            "{r:?}"
        );
        // A message over the frame limit is cut off before it is read.
        let r = h
            .request_bytes(
                to_a,
                vec![0; copnet_protocol::wire::MAX_MESSAGE_BYTES + 1024],
            )
            .await;
        assert!(
            !matches!(&r, Ok(b) if !b.is_empty()),
            "an oversized frame got an answer"
        );
        // A compression bomb: 1 GiB of zeros in about a megabyte.
        let bomb = compression_bomb(&res, 1 << 30);
        let r = h.request(to_a, &docs(bomb)).await;
        assert!(
            matches!(r, Err(LinkError::Refused { .. })),
            "compression bomb: {r:?}"
        );
        // A flood: far more requests at once than an honest node ever has in flight.
        let flood_req = SyncRequest::Buckets {
            federation: fed,
            audience: Audience::Members,
        };
        let flood = (0..64).map(|_| h.request(to_a, &flood_req));
        let answers = futures::future::join_all(flood).await;
        assert!(
            answers.iter().any(|r| matches!(
                r,
                Err(LinkError::Refused {
                    code: RefusalCode::Busy,
                    ..
                })
            )),
            "a flood is refused in part"
        );
        wait_connection(&net, &a_id, false).await?;
        net.shutdown().await;
        anyhow::Ok(())
    })?;

    // Nothing changed, the junk waits within its bound, and the offender is banned.
    assert_eq!(a.api.ok(&format!("/resources/{res}"))?, before);
    let status = a.api.ok("/status")?;
    let pending = status["pending_changes"].as_u64().unwrap_or(u64::MAX);
    assert!(
        pending > 0 && pending <= 28,
        "16 MiB of 600 kB changes from one peer at most, not all 36: {pending}"
    );
    let t = traffic(&a);
    assert!(t["offences"].as_u64() >= Some(3), "{t}");
    assert!(t["bans"].as_u64() >= Some(1), "{t}");
    assert!(t["refused_busy"].as_u64() >= Some(1), "{t}");
    // Memory stayed bounded: the bomb alone would have needed a gigabyte.
    let peak = peak_rss(a.pid().expect("running")).expect("Linux /proc");
    assert!(
        peak < 512 * 1024 * 1024,
        "peak resident memory {} MiB",
        peak >> 20
    );
    // Honest peers are still served.
    let fresh = c.api.create(
        "/resources",
        &json!({ "community": com, "title": "Still syncing", "kind": "tool" }),
    )?["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_for(
        Duration::from_secs(60),
        "an honest write to reach A",
        || a.api.ok(&format!("/resources/{fresh}")).ok(),
    )?;
    Ok(())
}

#[test]
fn departed_and_outside_nodes_get_nothing() -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let dir = tempfile::tempdir()?;
    let root = dir.path();
    let a = NodeProc::start(&root.join("a"), "Honest agency")?;
    let mut d = NodeProc::start(&root.join("d"), "Departed agency")?;
    copnet_ok(&a.data, &["federation", "create", "Hostile test"])?;
    invite_and_join(&a, &d, "member")?;
    let com = a.api.create("/communities", &json!({ "name": "CoP" }))?["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_converged(&[&a, &d], Duration::from_secs(60))?;
    copnet_ok(&d.data, &["federation", "leave"])?;
    let d_id = d.node_id();
    wait_for(Duration::from_secs(60), "the departure to reach A", || {
        let v = a.api.ok("/federation").ok()?;
        v["members"]
            .as_array()?
            .iter()
            .any(|m| m["node_id"] == d_id.as_str() && m["status"] == "left")
            .then_some(())
    })?;
    // Written after the departure: the departed node must never get it.
    let consult: DocId = a.api.create(
        "/consults",
        &json!({ "community": com, "title": "After", "question": "Q?", "situation": "S" }),
    )?["id"]
        .as_str()
        .unwrap()
        .parse()?;
    let a_id: NodeId = a.node_id().parse()?;
    let to_a = peer_id(&a_id);
    let addrs: Vec<libp2p::Multiaddr> = a.api.ok("/status")?["listen"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s.as_str()?.parse().ok())
        .collect();
    let fed = federation_of(&a)?;
    let roster_before = a.api.ok("/federation")?;
    let ask = |doc: DocId| SyncRequest::Docs {
        federation: fed,
        docs: vec![DocSyncMessage {
            doc,
            message: Some(
                automerge::sync::Message {
                    heads: vec![],
                    need: vec![],
                    have: vec![],
                    changes: automerge::sync::ChunkList::empty(),
                    flags: None,
                    version: automerge::sync::MessageVersion::V1,
                }
                .encode(),
            ),
            signatures: vec![],
        }],
    };

    // The departed member comes back with its old key and everything it knew.
    d.terminate()?;
    rt.block_on(async {
        let (departed, net) = impersonate(&d.data).await?;
        let h = net.handle();
        // It can only get a connection by asking to join (its invite is spent).
        let spent = copnet_protocol::wire::JoinRequest {
            federation: fed,
            invite_key: [0; 32],
            profile: Profile {
                org: "Departed agency".into(),
                sector: None,
            },
            proof: departed.key().sign(copnet_protocol::Domain::Invite, b"no"),
        };
        let r = h
            .join(to_a, addrs.clone(), &spent)
            .await
            .map_err(anyhow::Error::msg)?;
        assert!(
            matches!(r, copnet_protocol::wire::JoinResponse::Refused { .. }),
            "{r:?}"
        );
        let r = h
            .request(
                to_a,
                &SyncRequest::Digest {
                    federation: fed,
                    asker: None,
                },
            )
            .await;
        assert_eq!(refused(r), RefusalCode::NotInRoster);
        let r = h.request(to_a, &ask(consult)).await;
        assert_eq!(refused(r), RefusalCode::NotInRoster);
        // Its old roster, pushed back: refused, and the departure stands.
        let r = h
            .request(
                to_a,
                &SyncRequest::RosterPush {
                    federation: fed,
                    ops: departed.roster_ops(),
                },
            )
            .await;
        assert_eq!(refused(r), RefusalCode::NotInRoster);
        assert!(departed.store().changes_of(&consult)?.is_empty());
        net.shutdown().await;
        anyhow::Ok(())
    })?;

    // A stranger: asks for documents, then floods the join protocol.
    rt.block_on(async {
        let sdir = tempfile::tempdir()?;
        let stranger = Replica::open(
            NodeKey::generate(),
            Profile {
                org: "Stranger".into(),
                sector: None,
            },
            Store::open(&sdir.path().join("store"))?,
        )?;
        let net = Network::start(
            stranger.clone(),
            NetConfig {
                listen: vec!["/ip4/127.0.0.1/tcp/0".parse()?],
                mdns: false,
            },
            tracing::Span::none(),
        )
        .await?;
        let h = net.handle();
        let guess = |i: u8| copnet_protocol::wire::JoinRequest {
            federation: fed,
            invite_key: [i; 32],
            profile: Profile {
                org: "Stranger".into(),
                sector: None,
            },
            proof: stranger.key().sign(copnet_protocol::Domain::Invite, &[i]),
        };
        let r = h
            .join(to_a, addrs.clone(), &guess(1))
            .await
            .map_err(anyhow::Error::msg)?;
        assert!(
            matches!(
                r,
                copnet_protocol::wire::JoinResponse::Refused {
                    code: copnet_protocol::wire::JoinRefusal::BadProof
                        | copnet_protocol::wire::JoinRefusal::UnknownInvite,
                    ..
                }
            ),
            "{r:?}"
        );
        for req in [
            SyncRequest::Digest {
                federation: fed,
                asker: None,
            },
            ask(consult),
            SyncRequest::Items {
                federation: fed,
                audience: Audience::Federation,
                buckets: (0..=255).collect(),
            },
            SyncRequest::Addresses { federation: fed },
        ] {
            let r = h.request(to_a, &req).await;
            assert_eq!(refused(r), RefusalCode::NotInRoster);
        }
        // Guessing invites: a few answers, then silence and a ban.
        let mut unanswered = 0;
        for i in 2..8 {
            if h.join(to_a, addrs.clone(), &guess(i)).await.is_err() {
                unanswered += 1;
            }
        }
        assert!(unanswered >= 3, "join guesses kept being answered");
        net.shutdown().await;
        anyhow::Ok(())
    })?;

    // Nothing changed on A, which still serves.
    assert_eq!(a.api.ok("/federation")?, roster_before);
    let t = traffic(&a);
    assert!(t["bans"].as_u64() >= Some(1), "{t}");
    let (s, _) = a.api.get("/status")?;
    assert_eq!(s, StatusCode::OK);
    Ok(())
}
