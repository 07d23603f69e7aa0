//! Durability (DESIGN §7, guarantee 4): a node killed with SIGKILL in the middle of a stream of
//! writes loses none that it acknowledged, and its store reopens.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use copnet_tests::*;
use serde_json::json;

const WRITERS: usize = 4;
const ROUNDS: usize = 3;
const ACKS_PER_ROUND: usize = 40;

#[test]
fn acknowledged_writes_survive_sigkill() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("node");
    let mut node = NodeProc::start(&data, "Westside Youth Justice")?;
    node.api
        .create("/federation", &json!({ "name": "Crash test federation" }))?;
    let community = node
        .api
        .create("/communities", &json!({ "name": "Resettlement" }))?["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    for round in 0..ROUNDS {
        let target = acked.lock().unwrap().len() + ACKS_PER_ROUND;
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (api, acked, stop, community) = (
                    node.api.clone(),
                    acked.clone(),
                    stop.clone(),
                    community.clone(),
                );
                std::thread::spawn(move || {
                    for n in 0.. {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let body = json!({
                            "community": community,
                            "title": format!("round {round} writer {w} note {n}"),
                            "kind": "research",
                        });
                        match api.post("/resources", &body) {
                            Ok((StatusCode::CREATED, v)) => acked
                                .lock()
                                .unwrap()
                                .push(v["id"].as_str().unwrap().to_owned()),
                            // The node died under us: this write was never acknowledged.
                            _ => return,
                        }
                    }
                })
            })
            .collect();
        wait_for(Duration::from_secs(60), "writes to be acknowledged", || {
            (acked.lock().unwrap().len() >= target).then_some(())
        })?;
        // Kill while the writers are still mid-request.
        node.kill9();
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }

        node = NodeProc::start(&data, "Westside Youth Justice")?;
        let ids = acked.lock().unwrap().clone();
        for id in &ids {
            let (status, body) = node.api.get(&format!("/resources/{id}"))?;
            assert_eq!(
                status,
                StatusCode::OK,
                "acknowledged {id} lost after SIGKILL: {body}"
            );
        }
        let (_, listed) = node.api.get("/resources")?;
        assert!(listed.as_array().unwrap().len() >= ids.len());
    }

    // The caches rebuilt from the signed changes agree with what the node served.
    let (_, served) = node.api.get("/resources")?;
    node.terminate()?;
    let report = copnet_ok(&data, &["doctor", "--rebuild"])?;
    assert!(report.contains("0 invalid"), "{report}");
    let node = NodeProc::start(&data, "Westside Youth Justice")?;
    let (_, rebuilt) = node.api.get("/resources")?;
    assert_eq!(served, rebuilt);
    Ok(())
}
