//! copnet's benchmark program: the scenarios of BENCHMARKS.md, each over real `copnet` processes
//! on loopback, each printing one JSON object. Build and run it in release mode:
//!
//! ```sh
//! cargo run --release -p copnet-tests --bin copnet-bench -- s1
//! cargo run --release -p copnet-tests --bin copnet-bench -- s2 --docs 10000 --baseline
//! cargo run --release -p copnet-tests --bin copnet-bench -- s3 --docs 1000,10000,100000 --baseline
//! ```
//!
//! `copnet-bench help` lists every scenario and its options.

mod baseline;

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use copnet_protocol::{Domain, NodeKey, keys};
use copnet_tests::hostile::{peak_rss, proc_status_bytes};
use copnet_tests::workload::{Apply, Workload};
use copnet_tests::{NodeProc, StatusCode, copnet_ok, invite_and_join, wait_converged, wait_for};
use serde_json::{Value, json};

const USAGE: &str = "usage: copnet-bench SCENARIO [OPTIONS]

  s1 [--count 4000] [--concurrency 1,4,16,64]   durable signed writes through the API
  s2 [--docs 10000] [--role peripheral|member] [--seed 1] [--baseline]
                                               initial replication to a fresh node
  s3 [--docs 1000,10000,100000] [--seed 1] [--baseline]
                                               reconnect with N unchanged documents
  s4 [--docs 10000] [--share 0.01] [--seed 1]  catch-up after both sides changed a share
  s5 [--samples 100] [--docs 1000]             one change reaching all of five nodes
  s6 [--docs 10000] [--seed 1]                 idle memory and disk ÷ logical bytes
  cold-start [--runs 7] [--docs 1000]          `copnet up` until its API answers
  repertoire [--docs 10000]                    de-identification gate and search index
  web [--docs 10000] [--samples 50]            web pages of a signed-in person, served

--baseline runs automerge-repo on the same documents (Node.js and npm needed; the first run
installs the pinned packages under tests/bench/automerge-repo).";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str, default: &str| -> String {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    };
    let has = |name: &str| args.iter().any(|a| a == name);
    let sizes = |s: String| -> anyhow::Result<Vec<usize>> {
        s.split(',')
            .map(|n| {
                n.trim()
                    .parse()
                    .context("sizes are numbers, e.g. 1000,10000")
            })
            .collect()
    };
    let seed: u64 = flag("--seed", "1").parse()?;
    let result = match args.first().map(String::as_str) {
        Some("web") => web_pages(
            flag("--docs", "10000").parse()?,
            flag("--samples", "50").parse()?,
            seed,
        )?,
        Some("s1") => s1(
            flag("--count", "4000").parse()?,
            &sizes(flag("--concurrency", "1,4,16,64"))?,
        )?,
        Some("s2") => {
            let role = flag("--role", "peripheral");
            if role != "peripheral" && role != "member" {
                bail!("--role is peripheral or member");
            }
            s2(
                flag("--docs", "10000").parse()?,
                &role,
                seed,
                has("--baseline"),
            )?
        }
        Some("s3") => s3(
            &sizes(flag("--docs", "1000,10000,100000"))?,
            seed,
            has("--baseline"),
        )?,
        Some("s4") => s4(
            flag("--docs", "10000").parse()?,
            flag("--share", "0.01").parse()?,
            seed,
        )?,
        Some("s5") => s5(
            flag("--samples", "100").parse()?,
            flag("--docs", "1000").parse()?,
            seed,
        )?,
        Some("s6") => s6(flag("--docs", "10000").parse()?, seed)?,
        Some("cold-start") => cold_start(
            flag("--runs", "7").parse()?,
            flag("--docs", "1000").parse()?,
        )?,
        Some("repertoire") => repertoire(flag("--docs", "10000").parse()?)?,
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            return Ok(());
        }
        _ => bail!("{USAGE}"),
    };
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}

/// Nodes listen on loopback TCP only, so that every byte they exchange is counted in
/// `traffic.wire_bytes_*` (QUIC is not counted).
const TCP_ONLY: [&str; 2] = ["--listen", "/ip4/127.0.0.1/tcp/0"];

fn start(dir: &std::path::Path, name: &str) -> anyhow::Result<NodeProc> {
    NodeProc::start_with(&dir.join(name), &["--org", name, TCP_ONLY[0], TCP_ONLY[1]])
}

fn restart(node: &mut NodeProc) -> anyhow::Result<NodeProc> {
    node.terminate()?;
    NodeProc::start_with(&node.data, &TCP_ONLY)
}

fn num(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

/// A node's sync and wire counters (since it started, or between two readings).
#[derive(Default)]
struct Counters {
    requests: u64,
    payload_sent: u64,
    payload_received: u64,
    wire_sent: u64,
    wire_received: u64,
}

impl Counters {
    fn of(node: &NodeProc) -> anyhow::Result<Self> {
        let t = &node.api.ok("/status")?["traffic"];
        Ok(Self {
            requests: num(&t["requests_sent"]) + num(&t["requests_received"]),
            payload_sent: num(&t["bytes_sent"]),
            payload_received: num(&t["bytes_received"]),
            wire_sent: num(&t["wire_bytes_sent"]),
            wire_received: num(&t["wire_bytes_received"]),
        })
    }

    fn since(&self, before: &Counters) -> Counters {
        Counters {
            requests: self.requests - before.requests,
            payload_sent: self.payload_sent - before.payload_sent,
            payload_received: self.payload_received - before.payload_received,
            wire_sent: self.wire_sent - before.wire_sent,
            wire_received: self.wire_received - before.wire_received,
        }
    }

    fn wire(&self) -> u64 {
        self.wire_sent + self.wire_received
    }

    fn payload(&self) -> u64 {
        self.payload_sent + self.payload_received
    }

    fn json(&self) -> Value {
        json!({
            "request_response_exchanges": self.requests,
            "payload_bytes_sent": self.payload_sent,
            "payload_bytes_received": self.payload_received,
            "wire_bytes_sent": self.wire_sent,
            "wire_bytes_received": self.wire_received,
        })
    }
}

/// Waits until `node`'s sync counters have not moved for `quiet`: the sessions under way ended.
fn wait_quiet(node: &NodeProc, quiet: Duration) -> anyhow::Result<Counters> {
    let mut last = Counters::of(node)?.requests;
    let mut since = Instant::now();
    wait_for(
        Duration::from_secs(120),
        "the sync traffic to settle",
        || {
            let now = Counters::of(node).ok()?;
            if now.requests != last {
                last = now.requests;
                since = Instant::now();
                return None;
            }
            (since.elapsed() >= quiet).then_some(now)
        },
    )
}

fn storage(node: &NodeProc) -> anyhow::Result<Value> {
    node.api.ok("/status/storage")
}

fn logical_bytes(storage: &Value) -> u64 {
    num(&storage["change_bytes"]) + num(&storage["signature_bytes"])
}

fn rss(node: &NodeProc) -> Value {
    let pid = node.pid().unwrap_or(0);
    json!({ "rss_bytes": proc_status_bytes(pid, "VmRSS"), "peak_rss_bytes": peak_rss(pid) })
}

fn ratio(a: f64, b: f64) -> Value {
    if b > 0.0 {
        json!((a / b * 1000.0).round() / 1000.0)
    } else {
        Value::Null
    }
}

/// A member node holding the generated repertoire of `docs` documents.
struct Populated {
    dir: tempfile::TempDir,
    a: NodeProc,
    docs: Vec<String>,
    seconds_to_write: f64,
}

/// A directory for one scenario's nodes; kept afterwards (with the nodes' logs) when
/// `COPNET_BENCH_KEEP` is set.
fn scenario_dir() -> anyhow::Result<tempfile::TempDir> {
    let mut dir = tempfile::Builder::new().prefix("copnet-bench-").tempdir()?;
    if std::env::var_os("COPNET_BENCH_KEEP").is_some() {
        dir.disable_cleanup(true);
        eprintln!("[bench] keeping {}", dir.path().display());
    }
    Ok(dir)
}

fn populated(docs: usize, seed: u64) -> anyhow::Result<Populated> {
    let dir = scenario_dir()?;
    let a = start(dir.path(), "member-a")?;
    copnet_ok(&a.data, &["federation", "create", "Bench federation"])?;
    let workload = Workload::generate(seed, docs);
    let t = Instant::now();
    let ids = workload.apply_parallel(&a.api, 4)?;
    eprintln!(
        "[bench] wrote {} documents ({} writes) in {:.1} s",
        ids.len(),
        workload.steps.len(),
        t.elapsed().as_secs_f64()
    );
    Ok(Populated {
        seconds_to_write: t.elapsed().as_secs_f64(),
        dir,
        a,
        docs: ids,
    })
}

fn collections(node: &NodeProc) -> anyhow::Result<(u64, u64)> {
    let s = node.api.ok("/status")?;
    Ok((
        num(&s["collections"]["federation"]),
        num(&s["collections"]["members"]),
    ))
}

/// Waits until `node` holds `want` documents and its peers are in sync with it.
fn wait_holds(node: &NodeProc, want: u64, timeout: Duration) -> anyhow::Result<()> {
    wait_for(timeout, "the node to hold every document", || {
        let s = node.api.ok("/status").ok()?;
        let peers = s["peers"].as_array()?;
        (num(&s["docs"]) >= want
            && !peers.is_empty()
            && peers
                .iter()
                .all(|p| p["connected"] == true && p["docs_behind"] == 0))
        .then_some(())
    })
}

// ---- S1 ------------------------------------------------------------------------------------

/// Durable signed writes through the HTTP API: each acknowledged only after the signed change,
/// its index entries and cache are committed and flushed.
fn s1(count: usize, concurrency: &[usize]) -> anyhow::Result<Value> {
    let dir = scenario_dir()?;
    let node = start(dir.path(), "member-a")?;
    copnet_ok(&node.data, &["federation", "create", "Bench"])?;
    let community = node
        .api
        .create("/communities", &json!({ "name": "Bench CoP" }))?["id"]
        .as_str()
        .context("community id")?
        .to_owned();
    let mut runs = Vec::new();
    for &c in concurrency {
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
            lat.extend(
                w.join()
                    .map_err(|_| anyhow::anyhow!("a writer panicked"))??,
            );
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
        "scenario": "S1 durable signed writes through the HTTP API (POST /resources), client on the same machine",
        "machine": machine(),
        "ed25519_one_core": ed25519_rates(),
        "runs": runs,
    }))
}

// ---- S2 and S3 -----------------------------------------------------------------------------

/// The node that replicated, and what it took.
struct Replicated {
    joiner: NodeProc,
    result: Value,
}

/// A fresh node joins `p.a`'s federation with `role` and replicates everything it may read.
fn replicate(p: &Populated, role: &str) -> anyhow::Result<Replicated> {
    let (fed, members) = collections(&p.a)?;
    let want = if role == "member" { fed + members } else { fed };
    let joiner = start(p.dir.path(), role)?;
    let t = Instant::now();
    invite_and_join(&p.a, &joiner, role)?;
    wait_holds(&joiner, want, Duration::from_secs(3600))?;
    let wall = t.elapsed().as_secs_f64();
    let traffic = Counters::of(&joiner)?;
    let held = storage(&joiner)?;
    let raw = logical_bytes(&held);
    Ok(Replicated {
        result: json!({
            "documents_generated": p.docs.len(),
            "documents_replicated": num(&held["documents"]),
            "changes_replicated": num(&held["changes"]),
            "wall_s": wall,
            "raw_bytes": raw,
            "raw_bytes_are": "automerge change bytes + 64-byte signatures of every change the joiner holds",
            "traffic_of_joiner": traffic.json(),
            "wire_bytes_total": traffic.wire(),
            "wire_bytes_over_raw": ratio(traffic.wire() as f64, raw as f64),
            "payload_bytes_over_raw": ratio(traffic.payload() as f64, raw as f64),
            "joiner": rss(&joiner),
        }),
        joiner,
    })
}

fn s2(docs: usize, role: &str, seed: u64, with_baseline: bool) -> anyhow::Result<Value> {
    let p = populated(docs, seed)?;
    let r = replicate(&p, role)?;
    let mut out = json!({
        "scenario": format!("S2 initial replication of a generated repertoire to a fresh {role} node"),
        "machine": machine(),
        "seed": seed,
        "writing_the_repertoire_s": p.seconds_to_write,
        "copnet": r.result,
    });
    if with_baseline {
        let b = baseline::Baseline::start(&p, role == "member")?;
        let first = b.replicate()?;
        out["copnet_over_automerge_repo"] = json!({
            "wall": ratio(out["copnet"]["wall_s"].as_f64().unwrap_or(0.0), first["wall_s"].as_f64().unwrap_or(0.0)),
            "wire_bytes": ratio(
                num(&out["copnet"]["wire_bytes_total"]) as f64,
                num(&first["wire_bytes_total"]) as f64),
        });
        out["automerge_repo"] = first;
    }
    Ok(out)
}

/// Reconnecting: the joiner restarts holding everything; nothing changed meanwhile.
fn s3(sizes: &[usize], seed: u64, with_baseline: bool) -> anyhow::Result<Value> {
    let mut runs = Vec::new();
    for &n in sizes {
        let p = populated(n, seed)?;
        let mut r = replicate(&p, "peripheral")?;
        let mut b = if with_baseline {
            let b = baseline::Baseline::start(&p, false)?;
            b.replicate()?;
            Some(b)
        } else {
            None
        };
        wait_quiet(&p.a, Duration::from_secs(1))?;
        let before_a = Counters::of(&p.a)?;
        let t = Instant::now();
        let joiner = restart(&mut r.joiner)?;
        wait_holds(
            &joiner,
            num(&storage(&joiner)?["documents"]),
            Duration::from_secs(600),
        )?;
        let in_sync_s = t.elapsed().as_secs_f64();
        // Both nodes start a session on connecting; count both to their end.
        let after = wait_quiet(&joiner, Duration::from_secs(2))?;
        let after_a = Counters::of(&p.a)?;
        let mut run = json!({
            "documents": n,
            "documents_held_by_the_reconnecting_node": num(&storage(&joiner)?["documents"]),
            "copnet": {
                "until_in_sync_s": in_sync_s,
                "traffic_of_reconnecting_node": after.json(),
                "traffic_of_other_node": after_a.since(&before_a).json(),
                "wire_bytes_total": after.wire(),
                "payload_bytes_total": after.payload(),
                "round_trips": after.requests,
            },
        });
        if let Some(b) = b.as_mut() {
            let again = b.reconnect()?;
            run["copnet_over_automerge_repo"] = json!({
                "wire_bytes": ratio(after.wire() as f64, num(&again["wire_bytes_total"]) as f64),
                "messages": ratio(after.requests as f64 * 2.0, (num(&again["messages_sent"]) + num(&again["messages_received"])) as f64),
            });
            run["automerge_repo"] = again;
        }
        eprintln!("[bench] s3 {n}: {run}");
        runs.push(run);
    }
    Ok(json!({
        "scenario": "S3 a peripheral node restarts and reconnects holding N unchanged documents",
        "machine": machine(),
        "seed": seed,
        "runs": runs,
    }))
}

// ---- S4 ------------------------------------------------------------------------------------

/// Two members in sync are cut apart; each edits a share of the resources; the cut heals.
fn s4(docs: usize, share: f64, seed: u64) -> anyhow::Result<Value> {
    let dir = scenario_dir()?;
    let faults = [("COPNET_FAULTS", "1")];
    let start_f = |name: &str| {
        NodeProc::start_env(
            &dir.path().join(name),
            &["--org", name, TCP_ONLY[0], TCP_ONLY[1]],
            &faults,
        )
    };
    let a = start_f("member-a")?;
    copnet_ok(&a.data, &["federation", "create", "Bench federation"])?;
    let ids = Workload::generate(seed, docs).apply_parallel(&a.api, 4)?;
    let b = start_f("member-b")?;
    invite_and_join(&a, &b, "member")?;
    wait_converged(&[&a, &b], Duration::from_secs(3600))?;
    wait_quiet(&a, Duration::from_secs(1))?;

    let resources: Vec<&String> = ids.iter().filter(|i| i.starts_with("res_")).collect();
    let k = ((docs as f64 * share).round() as usize).clamp(1, resources.len() / 2);
    let (a_id, b_id) = (a.node_id(), b.node_id());
    a.api
        .post("/faults/partition", &json!({ "nodes": [b_id] }))?;
    b.api
        .post("/faults/partition", &json!({ "nodes": [a_id] }))?;
    wait_for(
        Duration::from_secs(30),
        "the two nodes to be cut apart",
        || {
            let s = a.api.ok("/status").ok()?;
            (s["peers"][0]["connected"] == false).then_some(())
        },
    )?;
    let (la, lb) = (logical_bytes(&storage(&a)?), logical_bytes(&storage(&b)?));
    // Each side edits its own share of resources; the shares do not overlap.
    for i in 0..k {
        for (node, id, side) in [(&a, resources[2 * i], "A"), (&b, resources[2 * i + 1], "B")] {
            let (s, v) = node.api.patch(
                &format!("/resources/{id}"),
                &json!({ "summary": format!("Revised on side {side} while apart: what changed in practice, round {i}.") }),
            )?;
            if s != StatusCode::OK {
                bail!("edit refused: {s} {v}");
            }
        }
    }
    let missing = (logical_bytes(&storage(&a)?) - la) + (logical_bytes(&storage(&b)?) - lb);
    let (before_a, before_b) = (Counters::of(&a)?, Counters::of(&b)?);
    let t = Instant::now();
    a.api.post("/faults/heal", &json!({}))?;
    b.api.post("/faults/heal", &json!({}))?;
    wait_for(
        Duration::from_secs(600),
        "both sides to hold both sides' edits",
        || {
            let (sa, sb) = (a.api.ok("/status").ok()?, b.api.ok("/status").ok()?);
            let same = sa["peers"][0]["connected"] == true
                && sa["peers"][0]["docs_behind"] == 0
                && sb["peers"][0]["docs_behind"] == 0;
            (same && logical_bytes(&storage(&a).ok()?) == logical_bytes(&storage(&b).ok()?))
                .then_some(())
        },
    )?;
    let wall = t.elapsed().as_secs_f64();
    let after_b = wait_quiet(&b, Duration::from_secs(2))?;
    let after_a = Counters::of(&a)?;
    let (da, db) = (after_a.since(&before_a), after_b.since(&before_b));
    Ok(json!({
        "scenario": "S4 two members apart, each changes a share of the documents, then reconnect",
        "machine": machine(),
        "seed": seed,
        "documents": ids.len(),
        "changed_on_each_side": k,
        "missing_change_bytes": missing,
        "missing_bytes_are": "change bytes + signatures each side wrote while apart (what the other lacks)",
        "until_in_sync_s": wall,
        "traffic_of_a": da.json(),
        "traffic_of_b": db.json(),
        "wire_bytes_over_missing": ratio(da.wire() as f64, missing as f64),
        "payload_bytes_over_missing": ratio(da.payload() as f64, missing as f64),
        "round_trips": after_a.requests - before_a.requests,
    }))
}

// ---- S5 ------------------------------------------------------------------------------------

/// Latency from one node's API acknowledging a write to all four others serving it.
fn s5(samples: usize, docs: usize, seed: u64) -> anyhow::Result<Value> {
    let p = populated(docs, seed)?;
    let community = p.docs.first().context("a community")?.clone();
    let others: Vec<NodeProc> = (0..4)
        .map(|i| start(p.dir.path(), &format!("member-{i}")))
        .collect::<Result<_, _>>()?;
    for m in &others {
        invite_and_join(&p.a, m, "member")?;
    }
    let mut all: Vec<&NodeProc> = vec![&p.a];
    all.extend(others.iter());
    wait_converged(&all, Duration::from_secs(3600))?;
    let mut latencies = Vec::new();
    for i in 0..samples {
        let t = Instant::now();
        let id = p.a.api.create(
            "/resources",
            &json!({ "community": community, "title": format!("Latency probe {i}"), "kind": "tool" }),
        )?["id"]
            .as_str()
            .context("id")?
            .to_owned();
        for m in &others {
            wait_for(Duration::from_secs(30), "the change to arrive", || {
                (m.api.get(&format!("/resources/{id}")).ok()?.0 == StatusCode::OK).then_some(())
            })?;
        }
        latencies.push(t.elapsed());
    }
    latencies.sort();
    Ok(json!({
        "scenario": "S5 one change written on one node until all of the four others serve it (five nodes)",
        "machine": machine(),
        "documents_held": p.docs.len(),
        "samples": latencies.len(),
        "p50_ms": percentile(&latencies, 0.5),
        "p99_ms": percentile(&latencies, 0.99),
        "max_ms": percentile(&latencies, 1.0),
    }))
}

// ---- web pages ------------------------------------------------------------------------------

/// How long a node holding `docs` documents takes to serve each page of the web interface to a
/// signed-in person: sign-in, then `samples` requests of each page, one at a time.
fn web_pages(docs: usize, samples: usize, seed: u64) -> anyhow::Result<Value> {
    let p = populated(docs, seed)?;
    let password = "bench password, long enough";
    p.a.api.create(
        "/accounts",
        &json!({ "name": "bench", "role": "admin", "password": password }),
    )?;
    let base = p.a.api.base.trim_end_matches("/api/v1").to_owned();
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let cookie_of = |r: &reqwest::blocking::Response, name: &str| -> Option<String> {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(|v| v.split(';').next().unwrap_or("").to_owned())
    };
    let form = http.get(format!("{base}/signin")).send()?;
    let pre = cookie_of(&form, "__Host-copnet-signin").context("sign-in cookie")?;
    let page = form.text()?;
    let at = page.find("name=\"_csrf\" value=\"").context("csrf field")? + 20;
    let csrf = &page[at..at + page[at..].find('"').context("csrf end")?];
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("_csrf", csrf), ("name", "bench"), ("password", password)])
        .finish();
    let signed = http
        .post(format!("{base}/signin"))
        .header("cookie", pre)
        .header("origin", &base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()?;
    let session = cookie_of(&signed, "__Host-copnet").context("no session: sign-in failed")?;
    let community = p.docs.first().context("a community")?;
    let pages = [
        "/".to_owned(),
        format!("/communities/{community}"),
        "/library".to_owned(),
        "/library?q=housing".to_owned(),
        "/consults".to_owned(),
        "/events".to_owned(),
        format!("/report?community={community}"),
        "/federation".to_owned(),
    ];
    let mut rows = Vec::new();
    for path in &pages {
        let get = || -> anyhow::Result<usize> {
            let r = http
                .get(format!("{base}{path}"))
                .header("cookie", &session)
                .send()?;
            anyhow::ensure!(r.status() == StatusCode::OK, "{path}: {}", r.status());
            Ok(r.bytes()?.len())
        };
        let bytes = get()?;
        let mut times = Vec::with_capacity(samples);
        for _ in 0..samples {
            let t = Instant::now();
            get()?;
            times.push(t.elapsed());
        }
        times.sort();
        rows.push(json!({
            "page": path.replace(community.as_str(), "{community}"),
            "html_bytes": bytes,
            "p50_ms": percentile(&times, 0.5),
            "p99_ms": percentile(&times, 0.99),
        }));
    }
    Ok(json!({
        "scenario": "web pages served to a signed-in person, one request at a time",
        "machine": machine(),
        "documents_held": p.docs.len(),
        "samples_per_page": samples,
        "pages": rows,
    }))
}

// ---- S6 ------------------------------------------------------------------------------------

/// An idle node holding `docs` documents: resident memory, and disk against logical bytes.
fn s6(docs: usize, seed: u64) -> anyhow::Result<Value> {
    let mut p = populated(docs, seed)?;
    let node = restart(&mut p.a)?;
    // Idle: a peer-less node that has answered its API and settled.
    wait_quiet(&node, Duration::from_secs(5))?;
    let memory = rss(&node);
    let held = storage(&node)?;
    let logical = logical_bytes(&held);
    let dir_bytes = dir_size(&node.data);
    Ok(json!({
        "scenario": "S6 an idle node after a restart, holding a generated repertoire",
        "machine": machine(),
        "seed": seed,
        "documents": num(&held["documents"]),
        "memory": memory,
        "storage": held,
        "logical_bytes": logical,
        "data_directory_bytes": dir_bytes,
        "disk_over_logical": ratio(num(&held["disk_bytes"]) as f64, logical as f64),
        "data_directory_over_logical": ratio(dir_bytes as f64, logical as f64),
    }))
}

fn dir_size(path: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut dirs = vec![path.to_owned()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => dirs.push(e.path()),
                // Allocated blocks, not apparent length: sled preallocates.
                Ok(m) => total += std::os::unix::fs::MetadataExt::blocks(&m) * 512,
                Err(_) => {}
            }
        }
    }
    total
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
