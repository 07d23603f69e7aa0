//! copnet's benchmark program. Each scenario runs real `copnet` processes on loopback and prints
//! one JSON object. Build it in release mode:
//!
//! ```sh
//! cargo run --release -p copnet-tests --bin copnet-bench -- writes --count 2000 --concurrency 1,4,16
//! cargo run --release -p copnet-tests --bin copnet-bench -- cold-start --runs 7 --docs 1000
//! ```

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use copnet_protocol::{Domain, NodeKey, keys};
use copnet_tests::{NodeProc, StatusCode, copnet_ok, wait_converged, wait_for};
use serde_json::{Value, json};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str, default: &str| -> String {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    };
    let result = match args.first().map(String::as_str) {
        Some("writes") => writes(
            flag("--count", "2000").parse()?,
            &flag("--concurrency", "1,4,16"),
        )?,
        Some("federation") => federation(
            flag("--docs", "1000").parse()?,
            flag("--changes", "30").parse()?,
        )?,
        Some("cold-start") => cold_start(
            flag("--runs", "7").parse()?,
            flag("--docs", "1000").parse()?,
        )?,
        Some("repertoire") => repertoire(flag("--docs", "10000").parse()?)?,
        _ => bail!(
            "usage: copnet-bench writes [--count N] [--concurrency 1,4,16] | cold-start [--runs N] [--docs N] | federation [--docs N] [--changes N] | repertoire [--docs N]"
        ),
    };
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Raw ed25519 sign and verify rates on this machine, one core, for scale.
fn ed25519_rates() -> Value {
    let key = NodeKey::generate();
    let id = key.node_id();
    let msg = [7u8; 32];
    let n = 20_000;
    let t = Instant::now();
    let mut sig = key.sign(Domain::Change, &msg);
    for _ in 1..n {
        sig = key.sign(Domain::Change, &msg);
    }
    let sign_rate = n as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for _ in 0..n {
        keys::verify(&id, Domain::Change, &msg, &sig).expect("verifies");
    }
    let verify_rate = n as f64 / t.elapsed().as_secs_f64();
    json!({ "sign_per_s": sign_rate.round(), "verify_per_s": verify_rate.round() })
}

/// Durable signed writes through the HTTP API: each acknowledged only after the signed change,
/// its index entries and cache are committed and flushed.
fn writes(count: usize, concurrency: &str) -> anyhow::Result<Value> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("node");
    let node = NodeProc::start(&data, "Bench Agency")?;
    node.api
        .create("/federation", &json!({ "name": "Bench" }))?;
    let community = node
        .api
        .create("/communities", &json!({ "name": "Bench CoP" }))?["id"]
        .as_str()
        .context("community id")?
        .to_owned();
    let mut runs = Vec::new();
    for c in concurrency.split(',') {
        let c: usize = c.trim().parse()?;
        let per = count.div_ceil(c);
        let start = Instant::now();
        let workers: Vec<_> = (0..c)
            .map(|w| {
                let api = node.api.clone();
                let community = community.clone();
                std::thread::spawn(move || -> anyhow::Result<Vec<Duration>> {
                    let mut lat = Vec::with_capacity(per);
                    for i in 0..per {
                        let body = json!({
                            "community": community,
                            "title": format!("Bench resource {w}-{i}"),
                            "kind": "research",
                            "summary": "A short summary of a research brief on youth housing outcomes.",
                            "topics": ["housing", "outcomes"],
                        });
                        let t = Instant::now();
                        let (s, v) = api.post("/resources", &body)?;
                        if s != StatusCode::CREATED {
                            bail!("write refused: {s} {v}");
                        }
                        lat.push(t.elapsed());
                    }
                    Ok(lat)
                })
            })
            .collect();
        let mut lat = Vec::new();
        for w in workers {
            lat.extend(w.join().expect("worker")?);
        }
        let wall = start.elapsed().as_secs_f64();
        lat.sort();
        runs.push(json!({
            "concurrency": c,
            "writes": lat.len(),
            "writes_per_s": (lat.len() as f64 / wall).round(),
            "p50_ms": percentile(&lat, 0.50),
            "p99_ms": percentile(&lat, 0.99),
        }));
    }
    Ok(json!({
        "scenario": "durable signed writes through the HTTP API (POST /resources)",
        "machine": machine(),
        "ed25519": ed25519_rates(),
        "runs": runs,
    }))
}

/// Time from spawning `copnet up` to its API answering: on a fresh data directory (includes
/// creating the identity) and on one holding `docs` documents.
fn cold_start(runs: usize, docs: usize) -> anyhow::Result<Value> {
    let measure = |data: &std::path::Path| -> anyhow::Result<f64> {
        let t = Instant::now();
        let mut node = NodeProc::start(data, "Cold Start Agency")?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        node.terminate()?;
        Ok(ms)
    };
    let mut fresh = Vec::new();
    for _ in 0..runs {
        let dir = tempfile::tempdir()?;
        fresh.push(measure(&dir.path().join("node"))?);
    }
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("node");
    {
        let mut node = NodeProc::start(&data, "Cold Start Agency")?;
        node.api
            .create("/federation", &json!({ "name": "Bench" }))?;
        let community = node.api.create("/communities", &json!({ "name": "CoP" }))?["id"]
            .as_str()
            .context("id")?
            .to_owned();
        for i in 0..docs {
            node.api.create(
                "/resources",
                &json!({ "community": community, "title": format!("R{i}"), "kind": "tool" }),
            )?;
        }
        node.terminate()?;
    }
    let mut populated = Vec::new();
    for _ in 0..runs {
        populated.push(measure(&data)?);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Ok(json!({
        "scenario": "cold start of `copnet up` until GET /api/v1/health answers",
        "machine": machine(),
        "runs": runs,
        "fresh_data_dir_median_ms": median(&mut fresh),
        "existing_data_dir_docs": docs + 1,
        "existing_data_dir_median_ms": median(&mut populated),
    }))
}

/// Federation scenarios over real processes on loopback: a fresh peripheral replicating `docs`
/// documents; reconnecting with them unchanged; one change reaching all of four nodes.
fn federation(docs: usize, changes: usize) -> anyhow::Result<Value> {
    let dir = tempfile::tempdir()?;
    let start = |name: &str| NodeProc::start(&dir.path().join(name), name);
    let a = start("member-a")?;
    copnet_ok(&a.data, &["federation", "create", "Bench federation"])?;
    let community = a
        .api
        .create("/communities", &json!({ "name": "Bench CoP" }))?["id"]
        .as_str()
        .context("id")?
        .to_owned();
    for i in 0..docs.saturating_sub(1) {
        a.api.create(
            "/resources",
            &json!({ "community": community, "title": format!("Resource {i}"), "kind": "research",
                     "summary": "A research brief on youth housing outcomes.", "topics": ["housing"] }),
        )?;
    }

    // 1. A fresh peripheral replicates everything.
    let mut p = start("peripheral")?;
    let token = copnet_ok(&a.data, &["federation", "invite", "--role", "peripheral"])?;
    let t = Instant::now();
    copnet_ok(&p.data, &["federation", "join", &token])?;
    wait_for(
        Duration::from_secs(600),
        "the peripheral to hold every document",
        || {
            let s = p.api.ok("/status").ok()?;
            (s["docs"].as_u64()? as usize >= docs && s["peers"][0]["docs_behind"] == 0)
                .then_some(())
        },
    )?;
    let replicate_s = t.elapsed().as_secs_f64();
    let first_traffic = p.api.ok("/status")?["traffic"].clone();

    // 2. Reconnect with everything unchanged.
    p.terminate()?;
    let t = Instant::now();
    let p2 = NodeProc::start_with(&p.data, &[])?;
    wait_converged(&[&a, &p2], Duration::from_secs(120))?;
    let reconnect_s = t.elapsed().as_secs_f64();
    let reconnect = p2.api.ok("/status")?["traffic"].clone();
    drop(p2);

    // 3. Latency of one change to all of four nodes.
    let members: Vec<NodeProc> = (0..3)
        .map(|i| start(&format!("member-{i}")))
        .collect::<Result<_, _>>()?;
    for m in &members {
        let token = copnet_ok(&a.data, &["federation", "invite"])?;
        copnet_ok(&m.data, &["federation", "join", &token])?;
    }
    let mut all: Vec<&NodeProc> = vec![&a];
    all.extend(members.iter());
    wait_converged(&all, Duration::from_secs(600))?;
    let mut latencies = Vec::new();
    for i in 0..changes {
        let t = Instant::now();
        let id = a.api.create(
            "/resources",
            &json!({ "community": community, "title": format!("Latency probe {i}"), "kind": "tool" }),
        )?["id"]
            .as_str()
            .context("id")?
            .to_owned();
        for m in &members {
            wait_for(Duration::from_secs(30), "the change to arrive", || {
                (m.api.get(&format!("/resources/{id}")).ok()?.0 == StatusCode::OK).then_some(())
            })?;
        }
        latencies.push(t.elapsed());
    }
    latencies.sort();
    Ok(json!({
        "scenario": "federation over libp2p on loopback (debug or release as built)",
        "machine": machine(),
        "documents": docs,
        "fresh_peripheral_replication_s": replicate_s,
        "fresh_peripheral_traffic": first_traffic,
        "reconnect_unchanged": { "wall_s": reconnect_s, "traffic_of_restarted_node": reconnect },
        "one_change_to_all_of_four_nodes_ms": {
            "p50": percentile(&latencies, 0.5), "p99": percentile(&latencies, 0.99),
            "max": percentile(&latencies, 1.0), "samples": latencies.len(),
        },
    }))
}

/// The de-identification gate over the shipped corpus and over long texts, and the search index:
/// indexing `docs` documents, then query latency.
fn repertoire(docs: usize) -> anyhow::Result<Value> {
    use copnet_node::deid::{Gate, Terms};
    use copnet_node::search::{Query, SearchDoc, SearchIndex};
    let corpus = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../node/corpus/deid-corpus.jsonl"),
    )?;
    let texts: Vec<String> = corpus
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            Ok(serde_json::from_str::<Value>(l)?["text"]
                .as_str()
                .unwrap_or("")
                .to_owned())
        })
        .collect::<anyhow::Result<_>>()?;
    let t = Instant::now();
    let gate = Gate::new();
    let build_ms = t.elapsed().as_secs_f64() * 1e3;
    let terms = Terms::default();
    let mut per_text = Vec::new();
    for text in &texts {
        let t = Instant::now();
        std::hint::black_box(gate.check(text, &terms));
        per_text.push(t.elapsed());
    }
    per_text.sort();
    let long: String = texts
        .iter()
        .cycle()
        .take(200)
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    let long: String = long.chars().take(50_000).collect();
    let mut per_long = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        std::hint::black_box(gate.check(&long, &terms));
        per_long.push(t.elapsed());
    }
    per_long.sort();

    let words = [
        "housing",
        "custody",
        "family",
        "school",
        "kinship",
        "intake",
        "trauma",
        "youth",
        "release",
        "tenancy",
        "outreach",
        "mentoring",
        "court",
        "health",
        "employment",
        "education",
    ];
    let index = SearchIndex::new()?;
    let t = Instant::now();
    for i in 0..docs {
        let w = |k: usize| words[(i * 7 + k * 3) % words.len()];
        index.upsert(SearchDoc {
            id: format!("res_{i}"),
            kind: ["resource", "consult", "event", "community"][i % 4].into(),
            community: format!("com_{}", i % 20),
            topics: vec![w(0).into()],
            title: format!("{} and {} guide {i}", w(1), w(2)),
            body: (0..40)
                .map(|k| w(k + 3))
                .collect::<Vec<_>>()
                .join(" ")
                .repeat(3),
            date_ms: i as i64 * 60_000,
            subkind: None,
        })?;
    }
    let n = index.len();
    let index_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut per_query = Vec::new();
    for i in 0..200 {
        let q = Query {
            text: format!(
                "{} {}",
                words[i % words.len()],
                words[(i * 5 + 1) % words.len()]
            ),
            limit: 20,
            ..Query::default()
        };
        let t = Instant::now();
        std::hint::black_box(index.search(&q)?);
        per_query.push(t.elapsed());
    }
    per_query.sort();
    Ok(json!({
        "gate": {
            "build_ms": build_ms,
            "corpus_texts": texts.len(),
            "per_text_ms": { "p50": percentile(&per_text, 0.5), "p99": percentile(&per_text, 0.99) },
            "text_50k_chars_ms": { "p50": percentile(&per_long, 0.5) },
        },
        "search": {
            "docs": n,
            "index_until_searchable_ms": index_ms,
            "query_ms": { "p50": percentile(&per_query, 0.5), "p99": percentile(&per_query, 0.99) },
        },
        "machine": machine(),
    }))
}

fn machine() -> Value {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_default();
    json!({ "cpus": cpus, "cpu": model })
}
