//! SIGKILL at the worst moments: while the API is acknowledging writes, and while two nodes sync.
//! Whatever the API acknowledged must be there after a restart, and the replicas must converge.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use copnet_tests::*;
use serde_json::json;

const CONVERGE: Duration = Duration::from_secs(180);

/// Writes resources to `api` until `stop` is set or the node stops answering; returns the ids
/// and titles of the writes the API acknowledged.
fn writer(
    api: Api,
    community: String,
    prefix: &'static str,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<(String, String)>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for i in 0.. {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let title = format!("{prefix} {i}");
            match api.post(
                "/resources",
                &json!({ "community": community, "title": title, "kind": "tool" }),
            ) {
                Ok((StatusCode::CREATED, v)) => acked
                    .lock()
                    .unwrap()
                    .push((v["id"].as_str().unwrap_or_default().to_owned(), title)),
                // Killed mid-request: the write was not acknowledged, and may or may not be there.
                _ => return,
            }
        }
    })
}

fn acked_count(acked: &Mutex<Vec<(String, String)>>) -> usize {
    acked.lock().unwrap().len()
}

/// Every acknowledged write is on `node`, as written.
fn assert_all_present(node: &NodeProc, acked: &[(String, String)]) -> anyhow::Result<()> {
    for (id, title) in acked {
        let doc = node
            .api
            .ok(&format!("/resources/{id}"))
            .map_err(|e| anyhow::anyhow!("acknowledged write {id} ({title}) lost: {e}"))?;
        assert_eq!(doc["title"], title.as_str(), "{doc}");
    }
    Ok(())
}

#[test]
fn sigkill_during_sustained_writes_loses_nothing_acknowledged() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("a");
    let mut node = NodeProc::start(&data, "Harbour Youth Services")?;
    copnet_ok(&data, &["federation", "create", "Crash test"])?;
    let community = copnet_ok(&data, &["community", "create", "--name", "Practice"])?;
    let acked = Arc::new(Mutex::new(Vec::new()));
    for round in 0..3 {
        let before = acked_count(&acked);
        let stop = Arc::new(AtomicBool::new(false));
        let w = writer(
            node.api.clone(),
            community.clone(),
            "Resource",
            stop.clone(),
            acked.clone(),
        );
        // Kill once some writes of this round are acknowledged: the writer is mid-request.
        wait_for(CONVERGE, "writes to be acknowledged", || {
            (acked_count(&acked) >= before + 20 + round * 15).then_some(())
        })?;
        node.kill9();
        stop.store(true, Ordering::Relaxed);
        w.join().expect("writer thread");
        node = NodeProc::start_with(&data, &[])?;
        assert_all_present(&node, &acked.lock().unwrap())?;
    }
    // The restarted node still writes and lists everything once.
    let listed = node.api.ok("/resources")?;
    let n = listed.as_array().map_or(0, Vec::len);
    let acked = acked.lock().unwrap().len();
    assert!(
        n >= acked,
        "{n} listed, {acked} acknowledged: none may be missing"
    );
    node.api.create(
        "/resources",
        &json!({ "community": community, "title": "After three crashes", "kind": "tool" }),
    )?;
    Ok(())
}

#[test]
fn sigkill_during_sync_converges_after_restart() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut a = NodeProc::start(&dir.path().join("a"), "Northside Family Support")?;
    let mut b = NodeProc::start(&dir.path().join("b"), "Riverbend Housing")?;
    copnet_ok(&a.data, &["federation", "create", "Crash test"])?;
    let community = copnet_ok(&a.data, &["community", "create", "--name", "Practice"])?;
    invite_and_join(&a, &b, "member")?;
    wait_converged(&[&a, &b], CONVERGE)?;

    let acked_a = Arc::new(Mutex::new(Vec::new()));
    let acked_b = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let wa = writer(
        a.api.clone(),
        community.clone(),
        "From A",
        stop.clone(),
        acked_a.clone(),
    );
    let wb = writer(
        b.api.clone(),
        community.clone(),
        "From B",
        stop.clone(),
        acked_b.clone(),
    );
    // B is receiving A's stream of writes (and sending its own) when it dies.
    let docs_of = |n: &NodeProc| n.api.ok("/status").ok()?["docs"].as_u64();
    wait_for(CONVERGE, "B to receive some of A's writes", || {
        (acked_count(&acked_a) >= 30 && docs_of(&b)? >= 10).then_some(())
    })?;
    b.kill9();
    wb.join().expect("writer thread");
    b = NodeProc::start_with(&b.data.clone(), &[])?;
    assert_all_present(&b, &acked_b.lock().unwrap())?;

    // Then A dies while B catches up from it.
    let seen = acked_count(&acked_a);
    wait_for(CONVERGE, "A to acknowledge more writes", || {
        (acked_count(&acked_a) >= seen + 20).then_some(())
    })?;
    a.kill9();
    stop.store(true, Ordering::Relaxed);
    wa.join().expect("writer thread");
    a = NodeProc::start_with(&a.data.clone(), &[])?;
    assert_all_present(&a, &acked_a.lock().unwrap())?;

    wait_converged(&[&a, &b], CONVERGE)?;
    let both = wait_same_repertoire(&[&a, &b], CONVERGE)?;
    for (id, _) in acked_a
        .lock()
        .unwrap()
        .iter()
        .chain(acked_b.lock().unwrap().iter())
    {
        assert!(both.contains_key(id), "{id} did not reach both nodes");
    }
    Ok(())
}
