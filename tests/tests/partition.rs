//! Network partitions and wrong clocks, with real node processes. A partition is injected through
//! each node's fault-injection API (`COPNET_FAULTS=1`): the node disconnects the peers named and
//! refuses their connections until healed, exactly what it would see if the cable between two
//! offices were cut.

use std::time::Duration;

use copnet_tests::*;
use serde_json::{Value, json};

const CONVERGE: Duration = Duration::from_secs(180);
const FAULTS: (&str, &str) = ("COPNET_FAULTS", "1");

struct Federation {
    nodes: Vec<NodeProc>,
    community: String,
    _dir: tempfile::TempDir,
}

/// `envs.len()` member nodes with fault injection on, each with its own extra environment; node 0
/// founds the federation and a community and invites the others.
fn federation(envs: &[&[(&str, &str)]]) -> anyhow::Result<Federation> {
    let dir = tempfile::tempdir()?;
    let mut nodes = Vec::new();
    for (i, extra) in envs.iter().enumerate() {
        let mut env = vec![FAULTS];
        env.extend_from_slice(extra);
        let org = format!("Agency {i}");
        nodes.push(NodeProc::start_env(
            &dir.path().join(format!("n{i}")),
            &["--org", &org],
            &env,
        )?);
    }
    copnet_ok(&nodes[0].data, &["federation", "create", "Partition test"])?;
    let community = copnet_ok(
        &nodes[0].data,
        &["community", "create", "--name", "Youth justice practice"],
    )?;
    for n in &nodes[1..] {
        invite_and_join(&nodes[0], n, "member")?;
    }
    let all: Vec<&NodeProc> = nodes.iter().collect();
    wait_converged(&all, CONVERGE)?;
    Ok(Federation {
        nodes,
        community,
        _dir: dir,
    })
}

fn connected_to(node: &NodeProc, other: &str) -> Option<bool> {
    let st = node.api.ok("/status").ok()?;
    st["peers"]
        .as_array()?
        .iter()
        .find(|p| p["node_id"] == other)
        .map(|p| p["connected"] == true)
}

/// Cuts every link between `left` and `right`, and waits until no node of one side is connected
/// to any node of the other.
fn split(left: &[&NodeProc], right: &[&NodeProc]) -> anyhow::Result<()> {
    let ids = |side: &[&NodeProc]| side.iter().map(|n| n.node_id()).collect::<Vec<_>>();
    let (l, r) = (ids(left), ids(right));
    for (side, others) in [(left, &r), (right, &l)] {
        for n in side {
            match n
                .api
                .post("/faults/partition", &json!({ "nodes": others }))?
            {
                (StatusCode::OK, _) => {}
                (s, v) => anyhow::bail!("partition → {s}: {v}"),
            }
        }
    }
    wait_for(CONVERGE, "the two sides to be disconnected", || {
        left.iter()
            .all(|n| r.iter().all(|o| connected_to(n, o) == Some(false)))
            .then_some(())?;
        right
            .iter()
            .all(|n| l.iter().all(|o| connected_to(n, o) == Some(false)))
            .then_some(())
    })
}

fn heal(nodes: &[&NodeProc]) -> anyhow::Result<()> {
    for n in nodes {
        match n.api.post("/faults/heal", &json!({}))? {
            (StatusCode::OK, _) => {}
            (s, v) => anyhow::bail!("heal → {s}: {v}"),
        }
    }
    Ok(())
}

fn resource(node: &NodeProc, community: &str, title: &str) -> anyhow::Result<String> {
    let v = node.api.create(
        "/resources",
        &json!({ "community": community, "title": title, "kind": "tool" }),
    )?;
    Ok(v["id"].as_str().unwrap_or_default().to_owned())
}

fn edit(node: &NodeProc, id: &str, body: &Value) -> anyhow::Result<()> {
    match node.api.patch(&format!("/resources/{id}"), body)? {
        (StatusCode::OK, _) => Ok(()),
        (s, v) => anyhow::bail!("editing {id} → {s}: {v}"),
    }
}

fn titles(rep: &std::collections::BTreeMap<String, Value>) -> Vec<String> {
    let mut t: Vec<String> = rep
        .values()
        .filter_map(|v| v["title"].as_str().map(str::to_owned))
        .collect();
    t.sort();
    t
}

#[test]
fn five_nodes_split_two_three_converge_after_healing() -> anyhow::Result<()> {
    let fed = federation(&[&[], &[], &[], &[], &[]])?;
    let n: Vec<&NodeProc> = fed.nodes.iter().collect();
    let shared = resource(n[0], &fed.community, "Shared before the split")?;
    wait_same_repertoire(&n, CONVERGE)?;

    let (left, right) = (&n[..2], &n[2..]);
    split(left, right)?;
    // Writes on both sides, including concurrent edits of one document.
    let mut written = vec!["Shared before the split".to_owned()];
    for (i, node) in n.iter().enumerate() {
        let title = format!("Written by agency {i} during the split");
        resource(node, &fed.community, &title)?;
        written.push(title);
    }
    edit(
        n[1],
        &shared,
        &json!({ "summary": "Edited on the small side" }),
    )?;
    edit(
        n[3],
        &shared,
        &json!({ "url": "https://example.org/edited-on-the-large-side" }),
    )?;
    // Each side converges on its own, and sees nothing of the other's writes.
    let l = wait_same_repertoire(left, CONVERGE)?;
    let r = wait_same_repertoire(right, CONVERGE)?;
    assert!(titles(&l).contains(&"Written by agency 1 during the split".to_owned()));
    assert!(!titles(&l).contains(&"Written by agency 2 during the split".to_owned()));
    assert!(titles(&r).contains(&"Written by agency 4 during the split".to_owned()));
    assert!(!titles(&r).contains(&"Written by agency 0 during the split".to_owned()));

    heal(&n)?;
    wait_converged(&n, CONVERGE)?;
    let all = wait_same_repertoire(&n, CONVERGE)?;
    let mut expected = written.clone();
    expected.sort();
    assert_eq!(titles(&all), expected, "every write of both sides survives");
    let doc = &all[&shared];
    assert_eq!(
        doc["summary"], "Edited on the small side",
        "both sides' edits merge: {doc}"
    );
    assert_eq!(doc["url"], "https://example.org/edited-on-the-large-side");
    Ok(())
}

#[test]
fn a_removal_during_a_split_sticks_after_healing() -> anyhow::Result<()> {
    let fed = federation(&[&[], &[], &[], &[], &[]])?;
    let n: Vec<&NodeProc> = fed.nodes.iter().collect();
    let (left, right) = (&n[..2], &n[2..]);
    let removed = n[1].node_id();
    split(left, right)?;

    // The large side removes agency 1: three of the four other members is a strict majority.
    for (i, voter) in right.iter().enumerate() {
        wait_for(CONVERGE, "the proposal to reach the voter", || {
            if i == 0 {
                return Some(());
            }
            let v = voter.api.ok("/federation").ok()?;
            v["proposals"]
                .as_array()?
                .iter()
                .any(|p| p["target"] == removed.as_str() && p["votes"] == i)
                .then_some(())
        })?;
        copnet_ok(
            &voter.data,
            &[
                "federation",
                "remove",
                &removed,
                "--reason",
                "agency closed",
            ],
        )?;
    }
    let status_of = |node: &NodeProc| -> Option<String> {
        let v = node.api.ok("/federation").ok()?;
        v["members"]
            .as_array()?
            .iter()
            .find(|m| m["node_id"] == removed.as_str())
            .map(|m| m["status"].as_str().unwrap_or("").to_owned())
    };
    for node in right {
        wait_for(CONVERGE, "the removal on the large side", || {
            (status_of(node).as_deref() == Some("removed")).then_some(())
        })?;
    }
    // Meanwhile the small side, not knowing, keeps writing.
    assert_eq!(status_of(n[0]).as_deref(), Some("active"));
    let unaware = resource(n[1], &fed.community, "Written by agency 1, unaware")?;
    resource(n[0], &fed.community, "Written by agency 0 during the split")?;

    heal(&n)?;
    // The removal reaches everyone, the removed node included, and sticks.
    for node in [n[0], n[2], n[3], n[4]] {
        wait_for(CONVERGE, "the removal to reach every node", || {
            (status_of(node).as_deref() == Some("removed")).then_some(())
        })?;
    }
    wait_for(CONVERGE, "the removed node to be cut off", || {
        let st = n[1].api.ok("/status").ok()?;
        (st["federation"]["role"] == "none" && st["peers"].as_array()?.is_empty()).then_some(())
    })?;
    let (s, _) = n[1].api.post(
        "/resources",
        &json!({ "community": fed.community, "title": "After removal", "kind": "tool" }),
    )?;
    assert_eq!(s, StatusCode::FORBIDDEN, "a removed node cannot write");

    // What it wrote while it was still a member, by the roster it knew, stays valid (DESIGN §4)
    // and reaches the large side through agency 0, marked.
    let rest = [n[0], n[2], n[3], n[4]];
    wait_converged(&rest, CONVERGE)?;
    let all = wait_same_repertoire(&rest, CONVERGE)?;
    let doc = all
        .get(&unaware)
        .ok_or_else(|| anyhow::anyhow!("the removed node's earlier write was lost"))?;
    assert_eq!(doc["creator_status"], "removed", "{doc}");
    assert!(titles(&all).contains(&"Written by agency 0 during the split".to_owned()));
    Ok(())
}

#[test]
fn a_node_with_its_clock_far_off_converges() -> anyhow::Result<()> {
    const YEAR_MS: &str = "31536000000";
    const MINUS_YEAR_MS: &str = "-31536000000";
    let fed = federation(&[
        &[],
        &[("COPNET_CLOCK_OFFSET_MS", YEAR_MS)],
        &[("COPNET_CLOCK_OFFSET_MS", MINUS_YEAR_MS)],
    ])?;
    let [a, ahead, behind] = [&fed.nodes[0], &fed.nodes[1], &fed.nodes[2]];
    let this_year: i64 = chrono::Utc::now().format("%Y").to_string().parse()?;

    // A node whose clock is a year ahead admits a node whose clock is a year behind: the invite's
    // expiry is judged by the admitting node's clock only.
    let late = NodeProc::start_env(
        &fed._dir.path().join("late"),
        &["--org", "Late agency"],
        &[FAULTS, ("COPNET_CLOCK_OFFSET_MS", MINUS_YEAR_MS)],
    )?;
    invite_and_join(ahead, &late, "member")?;

    let future = resource(ahead, &fed.community, "Written a year ahead")?;
    let past = resource(behind, &fed.community, "Written a year behind")?;
    resource(&late, &fed.community, "Written by the late joiner")?;
    wait_same_repertoire(&[a, ahead, behind, &late], CONVERGE)?;
    edit(a, &future, &json!({ "summary": "Edited on time" }))?;
    edit(
        behind,
        &future,
        &json!({ "url": "https://example.org/from-the-past" }),
    )?;

    let all_nodes = [a, ahead, behind, &late];
    wait_converged(&all_nodes, CONVERGE)?;
    let all = wait_same_repertoire(&all_nodes, CONVERGE)?;
    let year_of = |id: &str| -> i64 {
        all[id]["created_at"].as_str().unwrap_or("")[..4]
            .parse()
            .unwrap_or(0)
    };
    assert!(
        year_of(&future) > this_year,
        "dates come from the writer's clock"
    );
    assert!(year_of(&past) < this_year);
    let doc = &all[&future];
    assert_eq!(doc["summary"], "Edited on time", "{doc}");
    assert_eq!(doc["url"], "https://example.org/from-the-past", "{doc}");
    assert_eq!(titles(&all).len(), 3, "{:?}", titles(&all));
    Ok(())
}
