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
use copnet_tests::hostile::{forged_message, tamper};
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

async fn wait_connected(net: &Network, to: &NodeId) -> anyhow::Result<()> {
    tokio::time::timeout(Duration::from_secs(30), async {
        while !net
            .handle()
            .peer_status()
            .get(to)
            .is_some_and(|s| s.connected)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .map_err(|_| anyhow::anyhow!("the hostile peer never connected"))
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
    for (n, role) in [(&b, "member"), (&p, "peripheral")] {
        let token = copnet_ok(&a.data, &["federation", "invite", "--role", role])?;
        copnet_ok(&n.data, &["federation", "join", &token])?;
    }
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
    let fed = a.api.ok("/status")?["federation"]["id"]
        .as_str()
        .unwrap()
        .parse()?;

    let to_a = peer_id(&a_id);
    let docs = |m: DocSyncMessage| SyncRequest::Docs {
        federation: fed,
        docs: vec![m],
    };
    // The rogue member, speaking the protocol with its real key.
    b.terminate()?;
    let after_member = rt.block_on(async {
        let (rogue, net) = impersonate(&b.data).await?;
        wait_connected(&net, &a_id).await?;
        let outsider = NodeKey::generate();
        // A request naming another federation (refused, not an offence).
        let r = net
            .handle()
            .request(
                to_a,
                &SyncRequest::Digest {
                    federation: copnet_protocol::FederationId([7; 32]),
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
        tokio::time::timeout(Duration::from_secs(30), async {
            while net
                .handle()
                .peer_status()
                .get(&a_id)
                .is_some_and(|s| s.connected)
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .map_err(|_| anyhow::anyhow!("the offender was not disconnected"))?;
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
        wait_connected(&net, &a_id).await?;
        // A change it wrote itself: peripheral nodes never hold a writing role.
        let r = net
            .handle()
            .request(
                to_a,
                &docs(forged_message(&rogue, rogue.key(), rogue.key(), &res)),
            )
            .await;
        assert_eq!(refused(r), RefusalCode::InvalidChange, "peripheral write");
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
            .request(to_a, &SyncRequest::Digest { federation: fed })
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
