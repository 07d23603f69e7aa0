//! The harness for copnet's multi-process tests: real `copnet` processes on 127.0.0.1:0, each
//! with its own temporary data directory, driven over their HTTP API and through the CLI.
//!
//! Waits are always "until a condition holds, or fail after a timeout" ([`wait_for`]); a test
//! never sleeps for a fixed time and hopes.

pub mod hostile;
pub mod workload;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use serde_json::Value;

pub use reqwest::StatusCode;

/// How long a node gets to come up.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The `copnet` binary of this build, built if it is missing or stale.
pub fn copnet_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test binary path");
        // Tests live in target/<profile>/deps/, binaries (the bench) in target/<profile>/.
        let mut profile_dir = exe.parent().expect("binary has a directory").to_owned();
        if profile_dir.file_name().is_some_and(|n| n == "deps") {
            profile_dir.pop();
        }
        let bin = profile_dir.join("copnet");
        // `cargo test --workspace` has built it already; build only when it is missing or older
        // than the sources (say, `cargo test -p copnet-tests` after editing the node). An
        // unconditional build would resolve another feature set and rebuild half the tree.
        if is_stale(&bin) {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut build = Command::new(cargo);
            build.args(["build", "--quiet", "-p", "copnet-cli", "--bin", "copnet"]);
            if profile_dir.file_name().is_some_and(|n| n == "release") {
                build.arg("--release");
            }
            let status = build
                .status()
                .expect("run cargo build for the copnet binary");
            assert!(status.success(), "building the copnet binary failed");
        }
        assert!(bin.exists(), "no copnet binary at {}", bin.display());
        bin
    })
}

/// Whether `bin` is missing or older than any source file of the crates it is built from.
fn is_stale(bin: &Path) -> bool {
    let Ok(built) = std::fs::metadata(bin).and_then(|m| m.modified()) else {
        return true;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut dirs: Vec<PathBuf> = ["cli", "node", "protocol"]
        .iter()
        .map(|c| root.join(c).join("src"))
        .collect();
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                dirs.push(path);
            } else if e
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|m| m > built)
            {
                return true;
            }
        }
    }
    false
}

/// Runs the CLI against `data` and returns its output.
pub fn copnet(data: &Path, args: &[&str]) -> Output {
    Command::new(copnet_bin())
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("COPNET_DATA")
        .stdin(Stdio::null())
        .output()
        .expect("run copnet")
}

/// Runs the CLI and returns its trimmed stdout, failing with its stderr if it failed.
pub fn copnet_ok(data: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = copnet(data, args);
    if !out.status.success() {
        bail!(
            "copnet {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

/// Polls `check` until it returns `Some`, or fails after `timeout` naming `what`.
pub fn wait_for<T>(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> Option<T>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(5);
    loop {
        if let Some(v) = check() {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

/// A `copnet up` child process.
pub struct NodeProc {
    child: Option<Child>,
    pub data: PathBuf,
    pub api: Api,
}

impl NodeProc {
    /// Starts `copnet up` on `data` (initialising it as `org` if new) with the API on a free
    /// loopback port, and waits until it answers.
    pub fn start(data: &Path, org: &str) -> anyhow::Result<Self> {
        Self::start_with(data, &["--org", org])
    }

    pub fn start_with(data: &Path, extra: &[&str]) -> anyhow::Result<Self> {
        Self::start_env(data, extra, &[])
    }

    /// Starts a node with extra arguments and environment variables. `--http` or `--listen` in
    /// `extra` replace the defaults (a free loopback port; loopback TCP and QUIC).
    pub fn start_env(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data.parent().unwrap_or(data))?;
        // A node killed with SIGKILL leaves its old address behind.
        let _ = std::fs::remove_file(data.join("api.addr"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data.with_extension("log"))?;
        let mut child = Command::new(copnet_bin())
            .arg("--data")
            .arg(data)
            .arg("up")
            .args(if extra.contains(&"--http") {
                &[][..]
            } else {
                &["--http", "127.0.0.1:0"][..]
            })
            .args(if extra.contains(&"--listen") {
                &[][..]
            } else {
                &[
                    "--listen",
                    "/ip4/127.0.0.1/tcp/0",
                    "--listen",
                    "/ip4/127.0.0.1/udp/0/quic-v1",
                ][..]
            })
            .args(extra)
            // `COPNET_TEST_LOG=debug` to see every session in the nodes' logs.
            .env(
                "RUST_LOG",
                std::env::var("COPNET_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env_remove("COPNET_DATA")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("spawn copnet up")?;
        let api = wait_for(START_TIMEOUT, "the node to answer on its API", || {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(Err(anyhow!("copnet up exited early with {status}")));
            }
            let addr = std::fs::read_to_string(data.join("api.addr")).ok()?;
            let token = std::fs::read_to_string(data.join("api-token")).ok()?;
            let api = Api::new(addr.trim(), token.trim());
            api.health().then_some(Ok(api))
        })
        .and_then(|r| r)
        .with_context(|| format!("log: {}", data.with_extension("log").display()))?;
        Ok(Self {
            child: Some(child),
            data: data.to_owned(),
            api,
        })
    }

    /// SIGKILL: the process gets no chance to flush or clean up.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits for a graceful exit.
    pub fn terminate(&mut self) -> anyhow::Result<std::process::ExitStatus> {
        let mut c = self
            .child
            .take()
            .ok_or_else(|| anyhow!("already stopped"))?;
        // SAFETY: kill(2) on a pid we own; no memory is involved.
        unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGTERM) };
        wait_for(
            Duration::from_secs(30),
            "the node to exit after SIGTERM",
            || c.try_wait().ok().flatten(),
        )
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A blocking client for one node's API.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub token: String,
    http: reqwest::blocking::Client,
}

impl Api {
    pub fn new(addr: &str, token: &str) -> Self {
        Self {
            base: format!("http://{addr}/api/v1"),
            token: token.to_owned(),
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("http client"),
        }
    }

    pub fn health(&self) -> bool {
        self.http
            .get(format!("{}/health", self.base))
            .timeout(Duration::from_secs(2))
            .send()
            .is_ok_and(|r| r.status().is_success())
    }

    fn send(&self, req: reqwest::blocking::RequestBuilder) -> anyhow::Result<(StatusCode, Value)> {
        let resp = req.bearer_auth(&self.token).send()?;
        let status = resp.status();
        Ok((status, resp.json().unwrap_or(Value::Null)))
    }

    pub fn get(&self, path: &str) -> anyhow::Result<(StatusCode, Value)> {
        self.send(self.http.get(format!("{}{}", self.base, path)))
    }

    pub fn post(&self, path: &str, body: &Value) -> anyhow::Result<(StatusCode, Value)> {
        self.send(self.http.post(format!("{}{}", self.base, path)).json(body))
    }

    pub fn patch(&self, path: &str, body: &Value) -> anyhow::Result<(StatusCode, Value)> {
        self.send(self.http.patch(format!("{}{}", self.base, path)).json(body))
    }

    /// GETs and expects 200; returns the body.
    pub fn ok(&self, path: &str) -> anyhow::Result<Value> {
        match self.get(path)? {
            (StatusCode::OK, v) => Ok(v),
            (s, v) => bail!("GET {path} → {s}: {v}"),
        }
    }

    /// POSTs and expects 201 Created; returns the body.
    pub fn create(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        match self.post(path, body)? {
            (StatusCode::CREATED, v) => Ok(v),
            (s, v) => bail!("POST {path} → {s}: {v}"),
        }
    }
}

/// The fenced `sh` block between `<!-- walkthrough:start -->` and `<!-- walkthrough:end -->`
/// in the README, as a script.
pub fn readme_walkthrough() -> anyhow::Result<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))?;
    let start = readme
        .find("<!-- walkthrough:start -->")
        .ok_or_else(|| anyhow!("README has no walkthrough:start marker"))?;
    let end = readme
        .find("<!-- walkthrough:end -->")
        .ok_or_else(|| anyhow!("README has no walkthrough:end marker"))?;
    let section = &readme[start..end];
    let mut script = String::new();
    let mut inside = false;
    for line in section.lines() {
        if line.starts_with("```") {
            inside = !inside;
            continue;
        }
        if inside {
            script.push_str(line);
            script.push('\n');
        }
    }
    if script.trim().is_empty() {
        bail!("the README walkthrough has no code");
    }
    Ok(script)
}

/// Waits until every peer in `status.peers` is connected and has nothing behind, on every node.
pub fn wait_converged(nodes: &[&NodeProc], timeout: Duration) -> anyhow::Result<()> {
    wait_for(timeout, "the federation to converge", || {
        nodes
            .iter()
            .all(|n| {
                n.api.ok("/status").is_ok_and(|s| {
                    s["peers"].as_array().is_some_and(|peers| {
                        peers.len() + 1 >= nodes.len()
                            && peers
                                .iter()
                                .filter(|p| {
                                    nodes
                                        .iter()
                                        .any(|m| m.node_id() == p["node_id"].as_str().unwrap_or(""))
                                })
                                .all(|p| p["connected"] == true && p["docs_behind"] == 0)
                    })
                })
            })
            .then_some(())
    })
    .map_err(|e| {
        // What each node saw, so that a failure on a CI machine can be read without rerunning.
        let mut why = format!("{e}");
        for n in nodes {
            let peers = n
                .api
                .ok("/status")
                .map(|s| s["peers"].to_string())
                .unwrap_or_else(|e| format!("(no status: {e})"));
            let log = std::fs::read_to_string(n.data.with_extension("log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(LOG_TAIL_LINES).collect();
            why.push_str(&format!(
                "\n--- {} peers: {peers}\n--- last lines of its log:\n{}",
                n.data.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ));
        }
        anyhow!(why)
    })
}

/// Lines of each node's log a convergence failure shows.
const LOG_TAIL_LINES: usize = 40;

impl NodeProc {
    pub fn node_id(&self) -> String {
        self.api
            .ok("/status")
            .ok()
            .and_then(|s| s["node_id"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// Invites `joiner` into `inviter`'s federation with `role`, through the CLI.
/// The invite is one line, and the joiner is told the role it joined as.
pub fn invite_and_join(inviter: &NodeProc, joiner: &NodeProc, role: &str) -> anyhow::Result<()> {
    let token = copnet_ok(&inviter.data, &["federation", "invite", "--role", role])?;
    if !token.starts_with("copnet-invite-") || token.contains('\n') {
        bail!("not one invite string: {token}");
    }
    let out = copnet_ok(&joiner.data, &["federation", "join", &token])?;
    if !out.contains(&format!("as {role}")) {
        bail!("the joiner was not told its role: {out}");
    }
    Ok(())
}

/// What a user sees of a node's repertoire: every community, resource, consult and event as the
/// API lists them, by id. Two nodes that converged show the same.
pub fn repertoire(node: &NodeProc) -> anyhow::Result<std::collections::BTreeMap<String, Value>> {
    let mut out = std::collections::BTreeMap::new();
    for kind in ["communities", "resources", "consults", "events"] {
        let list = node.api.ok(&format!("/{kind}"))?;
        let items = list
            .as_array()
            .or_else(|| list[kind].as_array())
            .cloned()
            .ok_or_else(|| anyhow!("/{kind} is not a list: {list}"))?;
        for item in items {
            let id = item["id"]
                .as_str()
                .ok_or_else(|| anyhow!("an item without an id: {item}"))?
                .to_owned();
            out.insert(id, item);
        }
    }
    Ok(out)
}

/// Waits until every node shows the same repertoire, and returns it.
pub fn wait_same_repertoire(
    nodes: &[&NodeProc],
    timeout: Duration,
) -> anyhow::Result<std::collections::BTreeMap<String, Value>> {
    let mut last = String::new();
    wait_for(timeout, "every node to show the same repertoire", || {
        let all: Vec<_> = nodes.iter().map(|n| repertoire(n).ok()).collect();
        let first = all.first()?.clone()?;
        if all.iter().all(|r| r.as_ref() == Some(&first)) {
            return Some(first);
        }
        last = all
            .iter()
            .map(|r| r.as_ref().map_or(0, |r| r.len()).to_string())
            .collect::<Vec<_>>()
            .join("/");
        None
    })
    .with_context(|| format!("documents per node at the end: {last}"))
}
