//! A federation of real `copnet` processes on loopback: joining by token through the CLI,
//! convergence after concurrent writes, read-only replicas for peripheral members, catching up
//! after being offline, leaving, removal by majority, and invites that must not work.

use std::time::Duration;

use copnet_tests::*;
use serde_json::{Value, json};

const CONVERGE: Duration = Duration::from_secs(120);

struct Federation {
    nodes: Vec<NodeProc>,
    community: String,
    _dir: tempfile::TempDir,
}

/// A founder plus `members - 1` members and `peripherals` peripheral nodes, all joined through
/// the CLI, with one community.
fn federation(members: usize, peripherals: usize) -> anyhow::Result<Federation> {
    let dir = tempfile::tempdir()?;
    let mut nodes = Vec::new();
    for i in 0..members + peripherals {
        let org = if i < members {
            format!("Member agency {i}")
        } else {
            format!("Peripheral agency {i}")
        };
        nodes.push(NodeProc::start(&dir.path().join(format!("n{i}")), &org)?);
    }
    copnet_ok(&nodes[0].data, &["federation", "create", "Test federation"])?;
    let community = copnet_ok(
        &nodes[0].data,
        &["community", "create", "--name", "Resettlement practice"],
    )?;
    for i in 1..nodes.len() {
        let role = if i < members { "member" } else { "peripheral" };
        invite_and_join(&nodes[0], &nodes[i], role)?;
    }
    Ok(Federation {
        nodes,
        community,
        _dir: dir,
    })
}

fn refs(nodes: &[NodeProc]) -> Vec<&NodeProc> {
    nodes.iter().collect()
}

/// The documents a node serves, keyed by id, without the per-node decorations.
fn documents(node: &NodeProc, kind: &str) -> Vec<Value> {
    let mut docs = node.api.ok(&format!("/{kind}")).unwrap();
    let arr = docs.as_array_mut().unwrap();
    arr.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    arr.clone()
}

#[test]
fn members_and_a_peripheral_converge_after_concurrent_writes() -> anyhow::Result<()> {
    let fed = federation(3, 1)?;
    let [a, b, c, p] = [&fed.nodes[0], &fed.nodes[1], &fed.nodes[2], &fed.nodes[3]];
    let com = fed.community.as_str();

    // Concurrent writes on every member.
    let shared = a.api.create(
        "/resources",
        &json!({ "community": com, "title": "Intake checklist", "kind": "tool" }),
    )?;
    let shared_id = shared["id"].as_str().unwrap();
    let consult = a.api.create(
        "/consults",
        &json!({ "community": com, "title": "Leaving custody", "question": "Who calls the landlord?", "situation": "A young person leaves custody next week." }),
    )?;
    let consult_id = consult["id"].as_str().unwrap();
    wait_converged(&refs(&fed.nodes), CONVERGE)?;
    let mut writers = Vec::new();
    for (i, node) in [a, b, c].into_iter().enumerate() {
        let api = node.api.clone();
        let (com, shared_id, consult_id) =
            (com.to_owned(), shared_id.to_owned(), consult_id.to_owned());
        writers.push(std::thread::spawn(move || -> anyhow::Result<()> {
            for n in 0..5 {
                api.create("/resources", &json!({ "community": com, "title": format!("Note {n} from member {i}"), "kind": "research" }))?;
            }
            api.create(&format!("/consults/{consult_id}/replies"), &json!({ "text": format!("Idea from member {i}") }))?;
            let (s, v) = api.patch(&format!("/resources/{shared_id}"), &json!({ "topics": [format!("topic-{i}")] }))?;
            anyhow::ensure!(s == StatusCode::OK, "{v}");
            Ok(())
        }));
    }
    for w in writers {
        w.join().unwrap()?;
    }
    wait_converged(&refs(&fed.nodes), CONVERGE)?;

    // Same resources everywhere, peripheral included; same consult on every member.
    let reference = documents(a, "resources");
    assert_eq!(reference.len(), 16);
    for node in [b, c, p] {
        assert_eq!(documents(node, "resources"), reference);
    }
    let thread = a.api.ok(&format!("/consults/{consult_id}"))?;
    assert_eq!(
        thread["reply_count"], 3,
        "replies from three nodes all kept: {thread}"
    );
    for node in [b, c] {
        assert_eq!(node.api.ok(&format!("/consults/{consult_id}"))?, thread);
    }
    // The peripheral never gets the members-only consult, and cannot write.
    assert_eq!(p.api.ok("/consults")?, json!([]));
    let (status, _) = p.api.get(&format!("/consults/{consult_id}"))?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = p.api.post(
        "/resources",
        &json!({ "community": com, "title": "Mine", "kind": "tool" }),
    )?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "read_only");
    let refused = copnet(
        &p.data,
        &[
            "resource",
            "add",
            "--community",
            com,
            "--title",
            "Mine",
            "--kind",
            "tool",
        ],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("read-only"));

    // Not a byte of the consult in the peripheral's store.
    let mut fed = fed;
    let p = fed.nodes.pop().unwrap();
    let p_data = p.data.clone();
    drop(p);
    let store = copnet_node::store::Store::open(&p_data.join("store"))?;
    let id: copnet_protocol::DocId = consult_id.parse()?;
    assert!(store.doc_entry(&id)?.is_none());
    assert!(store.changes_of(&id)?.is_empty());
    assert!(store.automerge_bytes(&id)?.is_none());
    assert!(
        store
            .docs_of_kind(copnet_protocol::DocKind::Consult)?
            .is_empty()
    );
    Ok(())
}

#[test]
fn a_node_offline_during_writes_catches_up_after_restart() -> anyhow::Result<()> {
    let mut fed = federation(2, 0)?;
    wait_converged(&refs(&fed.nodes), CONVERGE)?;
    let b_data = fed.nodes[1].data.clone();
    fed.nodes[1].terminate()?;
    let com = fed.community.clone();
    for i in 0..10 {
        fed.nodes[0].api.create("/resources", &json!({ "community": com, "title": format!("While B was away {i}"), "kind": "training" }))?;
    }
    fed.nodes[1] = NodeProc::start_with(&b_data, &[])?;
    wait_converged(&refs(&fed.nodes), CONVERGE)?;
    assert_eq!(
        documents(&fed.nodes[1], "resources"),
        documents(&fed.nodes[0], "resources")
    );
    assert_eq!(documents(&fed.nodes[1], "resources").len(), 10);
    Ok(())
}

#[test]
fn leaving_sticks_and_past_content_stays_marked() -> anyhow::Result<()> {
    let fed = federation(3, 0)?;
    let [a, b, c] = [&fed.nodes[0], &fed.nodes[1], &fed.nodes[2]];
    let written = b.api.create(
        "/resources",
        &json!({ "community": fed.community, "title": "B's guide", "kind": "policy" }),
    )?;
    let id = written["id"].as_str().unwrap();
    wait_converged(&refs(&fed.nodes), CONVERGE)?;
    let b_id = b.node_id();

    let out = copnet_ok(&b.data, &["federation", "leave"])?;
    assert!(
        out.contains("left the federation;") && out.contains("of 2 connected"),
        "{out}"
    );
    assert!(
        !out.contains(" 0 of 2"),
        "at least one peer confirmed: {out}"
    );
    for node in [a, c] {
        wait_for(CONVERGE, "the departure to reach every member", || {
            let members = node.api.ok("/federation").ok()?;
            members["members"]
                .as_array()?
                .iter()
                .any(|m| m["node_id"] == b_id.as_str() && m["status"] == "left")
                .then_some(())
        })?;
        // Its past content stays, marked.
        let doc = node.api.ok(&format!("/resources/{id}"))?;
        assert_eq!(doc["creator_status"], "left");
        assert_eq!(doc["title"], "B's guide");
    }
    // It cannot write any more, and is not reconnected.
    let (s, _) = b.api.post(
        "/resources",
        &json!({ "community": fed.community, "title": "After", "kind": "tool" }),
    )?;
    assert_eq!(s, StatusCode::FORBIDDEN);
    wait_for(CONVERGE, "the departed node to be disconnected", || {
        let st = a.api.ok("/status").ok()?;
        let still = st["peers"]
            .as_array()?
            .iter()
            .any(|p| p["node_id"] == b_id.as_str());
        (!still).then_some(())
    })?;
    let b_status = b.api.ok("/status")?;
    assert!(
        b_status["peers"].as_array().unwrap().is_empty(),
        "{b_status}"
    );
    assert_eq!(b_status["federation"]["role"], "none");
    Ok(())
}

#[test]
fn removal_takes_effect_at_a_majority_of_the_other_members() -> anyhow::Result<()> {
    let fed = federation(3, 0)?;
    let [a, b, c] = [&fed.nodes[0], &fed.nodes[1], &fed.nodes[2]];
    wait_converged(&refs(&fed.nodes), CONVERGE)?;
    let c_id = c.node_id();
    let first = copnet_ok(
        &a.data,
        &[
            "federation",
            "remove",
            &c_id,
            "--reason",
            "the agency closed",
        ],
    )?;
    assert!(first.starts_with("proposed: 1 of 2"), "{first}");
    let member_status = |node: &NodeProc| -> Option<String> {
        let v = node.api.ok("/federation").ok()?;
        v["members"]
            .as_array()?
            .iter()
            .find(|m| m["node_id"] == c_id.as_str())
            .map(|m| m["status"].as_str().unwrap_or("").to_owned())
    };
    assert_eq!(
        member_status(a).as_deref(),
        Some("active"),
        "one vote of two is not a majority"
    );
    // B sees the pending proposal (roster sync) and endorses it.
    wait_for(CONVERGE, "the proposal to reach B", || {
        let v = b.api.ok("/federation").ok()?;
        v["proposals"]
            .as_array()?
            .iter()
            .any(|p| p["target"] == c_id.as_str() && p["votes"] == 1)
            .then_some(())
    })?;
    let second = copnet_ok(
        &b.data,
        &["federation", "remove", &c_id, "--reason", "agreed"],
    )?;
    assert!(second.starts_with("removed: 2 of 2"), "{second}");
    for node in [a, b] {
        wait_for(CONVERGE, "the removal to reach every member", || {
            (member_status(node).as_deref() == Some("removed")).then_some(())
        })?;
    }
    wait_for(CONVERGE, "the removed node to be cut off", || {
        let st = c.api.ok("/status").ok()?;
        (st["federation"]["role"] == "none" && st["peers"].as_array()?.is_empty()).then_some(())
    })?;
    let (s, _) = c.api.post(
        "/resources",
        &json!({ "community": fed.community, "title": "x", "kind": "tool" }),
    )?;
    assert_eq!(s, StatusCode::FORBIDDEN);
    Ok(())
}

#[test]
fn invites_that_must_not_work_are_refused_with_a_reason() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let a = NodeProc::start(&dir.path().join("a"), "Inviter")?;
    let b = NodeProc::start(&dir.path().join("b"), "First joiner")?;
    let c = NodeProc::start(&dir.path().join("c"), "Second joiner")?;
    copnet_ok(&a.data, &["federation", "create", "Invites"])?;
    let token = copnet_ok(&a.data, &["federation", "invite"])?;
    copnet_ok(&b.data, &["federation", "join", &token])?;

    let fails = |node: &NodeProc, token: &str, needle: &str| {
        let out = copnet(&node.data, &["federation", "join", token]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "joining with {needle:?} case succeeded"
        );
        assert!(err.contains(needle), "{err} should mention {needle:?}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    };
    fails(&c, &token, "already been used");
    fails(&c, "copnet-invite-garbage", "damaged");
    fails(&c, "hello", "not a copnet invite");
    // A token altered after issuing.
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '2' { '3' } else { '2' });
    let out = copnet(&c.data, &["federation", "join", &forged]);
    assert!(!out.status.success());
    // An expired invite.
    let short = copnet_ok(&a.data, &["federation", "invite", "--expires", "1s"])?;
    wait_for(Duration::from_secs(5), "the invite to expire", || {
        (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_millis()
            > 0)
        .then_some(())
    })?;
    std::thread::sleep(Duration::from_millis(1100));
    fails(&c, &short, "expired");
    // A revoked invite: listed as revoked, and refused with the reason.
    let revoked = copnet_ok(&a.data, &["federation", "invite"])?;
    let open: Vec<Value> =
        serde_json::from_str(&copnet_ok(&a.data, &["federation", "invites", "--json"])?)?;
    let key = open
        .iter()
        .find(|i| i["state"] == "open")
        .and_then(|i| i["key"].as_str())
        .expect("the new invite is listed as open")
        .to_owned();
    copnet_ok(&a.data, &["federation", "revoke-invite", &key])?;
    let listed: Vec<Value> =
        serde_json::from_str(&copnet_ok(&a.data, &["federation", "invites", "--json"])?)?;
    assert!(
        listed
            .iter()
            .any(|i| i["key"] == key && i["state"] == "revoked"),
        "{listed:?}"
    );
    fails(&c, &revoked, "revoked");
    // An inviter that is gone.
    let gone = copnet_ok(&a.data, &["federation", "invite"])?;
    drop(a);
    fails(&c, &gone, "could not reach");
    // Nothing of the federation reached C.
    assert!(c.api.ok("/status")?["federation"].is_null());
    Ok(())
}

/// What several nodes write to the same documents at once all survives: people joining a
/// community, RSVPs to one occurrence, replies and the presenter's summary; a file attached on
/// one node downloads byte for byte on another; every node serves the same calendar.
#[test]
fn the_repertoire_merges_across_nodes_without_loss() -> anyhow::Result<()> {
    let fed = federation(3, 0)?;
    let nodes: Vec<&NodeProc> = fed.nodes.iter().collect();
    let com = fed.community.as_str();
    let event = nodes[0].api.create(
        "/events",
        &json!({ "community": com, "title": "Monthly practice call", "kind": "call",
                 "start": "2031-01-02T15:00", "tz": "Europe/London", "duration": "1h",
                 "rrule": "FREQ=MONTHLY;BYDAY=1TH" }),
    )?;
    let event = event["id"].as_str().unwrap().to_owned();
    let res = nodes[0].api.create(
        "/resources",
        &json!({ "community": com, "title": "Release checklist", "kind": "template" }),
    )?;
    let res = res["id"].as_str().unwrap().to_owned();
    let consult = nodes[0].api.create(
        "/consults",
        &json!({ "community": com, "title": "First night", "question": "Where can they sleep?",
                 "situation": "A young person is released on a Friday evening." }),
    )?;
    let consult = consult["id"].as_str().unwrap().to_owned();
    wait_converged(&nodes, CONVERGE)?;

    // At once on every node: someone joins the community; then, again at once, each RSVPs to
    // the same occurrence and each node replies to the consult.
    let people: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                s.spawn(move || {
                    copnet_ok(
                        &n.data,
                        &[
                            "community",
                            "join",
                            com,
                            "--name",
                            &format!("Worker {i}"),
                            "--level",
                            "active",
                        ],
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect::<anyhow::Result<_>>()
    })?;
    wait_converged(&nodes, CONVERGE)?;
    std::thread::scope(|s| {
        for (i, n) in nodes.iter().enumerate() {
            let (person, event, consult) = (&people[i], &event, &consult);
            s.spawn(move || {
                copnet_ok(
                    &n.data,
                    &[
                        "event",
                        "rsvp",
                        event,
                        "--person",
                        person,
                        "--status",
                        "going",
                        "--occurrence",
                        "2031-02-06",
                    ],
                )
                .unwrap();
                copnet_ok(
                    &n.data,
                    &[
                        "consult",
                        "reply",
                        consult,
                        "--text",
                        &format!("Idea from worker {i}"),
                    ],
                )
                .unwrap();
            });
        }
    });
    // A file attached on the second node.
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("checklist.pdf");
    let bytes: Vec<u8> = (0..1_100_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&file, &bytes)?;
    copnet_ok(
        &nodes[1].data,
        &["resource", "attach", &res, file.to_str().unwrap()],
    )?;
    wait_converged(&nodes, CONVERGE)?;
    copnet_ok(
        &nodes[0].data,
        &[
            "consult",
            "answer",
            &consult,
            "--summary",
            "Worker 2's idea worked.",
        ],
    )?;
    wait_converged(&nodes, CONVERGE)?;

    for n in &nodes {
        let c = n.api.ok(&format!("/communities/{com}"))?;
        assert_eq!(
            c["people"].as_array().unwrap().len(),
            3,
            "every join kept: {c}"
        );
        let e = n.api.ok(&format!("/events/{event}"))?;
        let going: Vec<&Value> = e["rsvps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["occurrence"] == "2031-02-06T15:00" && r["status"] == "going")
            .collect();
        assert_eq!(going.len(), 3, "every RSVP kept: {e}");
        let th = n.api.ok(&format!("/consults/{consult}"))?;
        assert_eq!(th["reply_count"], 3, "{th}");
        assert_eq!(th["status"], "answered");
        assert_eq!(th["presenter_summary"], "Worker 2's idea worked.");
    }
    // What sync brought is searchable on the node it arrived at.
    let found = copnet_ok(&nodes[2].data, &["search", "release checklist", "--json"])?;
    let found: Value = serde_json::from_str(&found)?;
    assert_eq!(found["hits"][0]["id"], json!(res), "{found}");
    let out = dir.path().join("downloaded.pdf");
    copnet_ok(
        &nodes[2].data,
        &["resource", "download", &res, "--out", out.to_str().unwrap()],
    )?;
    assert_eq!(
        std::fs::read(&out)?,
        bytes,
        "the file arrives intact on a third node"
    );

    // Every node derives the same calendar: same UID, same SEQUENCE.
    let calendar = |n: &NodeProc| -> anyhow::Result<Vec<String>> {
        let ics = copnet_ok(&n.data, &["event", "ics", &event])?;
        Ok(ics
            .lines()
            .filter(|l| l.starts_with("UID:") || l.starts_with("SEQUENCE:"))
            .map(str::to_owned)
            .collect())
    };
    let reference = calendar(nodes[0])?;
    assert!(!reference.is_empty());
    for n in &nodes[1..] {
        assert_eq!(calendar(n)?, reference);
    }
    Ok(())
}
