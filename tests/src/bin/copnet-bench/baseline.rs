//! The automerge-repo baseline of S2 and S3: the same documents, exported from the copnet node
//! as standard automerge files, served by an automerge-repo sync server and fetched by an
//! automerge-repo client — two Node.js processes on loopback, speaking automerge-repo's websocket
//! protocol through a counting TCP relay, so that both systems' bytes are counted the same way
//! (every byte of the TCP stream, handshakes and framing included).
//!
//! The scripts and pinned packages are in `tests/bench/automerge-repo`; the first run installs
//! the packages there with `npm ci`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use base64::Engine;
use serde_json::{Value, json};

use super::{Populated, ratio};

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/automerge-repo")
}

/// Installs the pinned packages unless they are there.
fn install() -> anyhow::Result<()> {
    let dir = scripts();
    if dir.join("node_modules/@automerge/automerge-repo").exists() {
        return Ok(());
    }
    eprintln!(
        "[bench] installing automerge-repo (npm ci) in {}",
        dir.display()
    );
    let npm = |args: &[&str]| {
        Command::new("npm")
            .args(args)
            .current_dir(&dir)
            // Standard output is the benchmark's JSON.
            .stdout(Stdio::from(std::io::stderr()))
            .status()
            .context("run npm: the automerge-repo baseline needs Node.js and npm")
    };
    if npm(&["ci", "--no-audit", "--no-fund"])?.success() {
        return Ok(());
    }
    // `npm ci` refuses a lock file that omits optional platform packages a registry does not
    // serve (cbor-x's native helpers, which it can do without); `npm install` takes the same
    // pinned versions from the lock and skips what it cannot fetch.
    eprintln!("[bench] npm ci refused the lock file; trying npm install with it");
    if !npm(&["install", "--no-audit", "--no-fund"])?.success() {
        bail!(
            "npm could not install the baseline's packages in {}",
            dir.display()
        );
    }
    Ok(())
}

/// Counts every byte relayed between a client and the server, each way.
struct Relay {
    port: u16,
    to_server: Arc<AtomicU64>,
    to_client: Arc<AtomicU64>,
}

impl Relay {
    fn start(server_port: u16) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let (to_server, to_client) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (up, down) = (to_server.clone(), to_client.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", server_port)) else {
                    continue;
                };
                let _ = (client.set_nodelay(true), server.set_nodelay(true));
                for (from, to, count) in [
                    (client.try_clone(), server.try_clone(), up.clone()),
                    (server.try_clone(), client.try_clone(), down.clone()),
                ] {
                    let (Ok(mut from), Ok(mut to)) = (from, to) else {
                        continue;
                    };
                    std::thread::spawn(move || {
                        let mut buf = vec![0u8; 64 * 1024];
                        while let Ok(n) = from.read(&mut buf) {
                            if n == 0 || to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                            count.fetch_add(n as u64, Ordering::Relaxed);
                        }
                        let _ = to.shutdown(Shutdown::Write);
                    });
                }
            }
        });
        Ok(Self {
            port,
            to_server,
            to_client,
        })
    }

    fn totals(&self) -> (u64, u64) {
        (
            self.to_server.load(Ordering::Relaxed),
            self.to_client.load(Ordering::Relaxed),
        )
    }
}

pub struct Baseline {
    dir: PathBuf,
    server: Child,
    relay: Relay,
    docs: usize,
    raw_bytes: u64,
}

impl Drop for Baseline {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

impl Baseline {
    /// Exports `p`'s documents (those a peripheral may read, unless `members_too`) and starts an
    /// automerge-repo sync server holding them.
    pub fn start(p: &Populated, members_too: bool) -> anyhow::Result<Self> {
        install()?;
        let dir = p.dir.path().join("automerge-repo");
        let docs_dir = dir.join("docs");
        std::fs::create_dir_all(&docs_dir)?;
        let communities = p.a.api.ok("/communities")?;
        let communities = communities
            .as_array()
            .or_else(|| communities["communities"].as_array())
            .cloned()
            .context("a list of communities")?;
        let (mut docs, mut raw_bytes) = (0usize, 0u64);
        for c in communities {
            let id = c["id"].as_str().context("community id")?;
            let export = p.a.api.ok(&format!("/communities/{id}/export"))?;
            for d in export["documents"]
                .as_array()
                .context("exported documents")?
            {
                if !members_too && d["view"]["audience"] == "members" {
                    continue;
                }
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(d["automerge"].as_str().context("automerge file")?)?;
                let name = d["id"].as_str().context("document id")?;
                std::fs::write(docs_dir.join(format!("{name}.automerge")), &bytes)?;
                docs += 1;
                raw_bytes += bytes.len() as u64;
            }
        }
        let mut server = Command::new("node")
            .arg(scripts().join("server.mjs"))
            .arg("--docs")
            .arg(&docs_dir)
            .arg("--storage")
            .arg(dir.join("server-storage"))
            .arg("--ids")
            .arg(dir.join("ids.json"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("run node: the automerge-repo baseline needs Node.js")?;
        let mut line = String::new();
        BufReader::new(server.stdout.take().context("server stdout")?).read_line(&mut line)?;
        let ready: Value = serde_json::from_str(&line)
            .with_context(|| format!("the automerge-repo server did not start: {line:?}"))?;
        let port = ready["port"].as_u64().context("server port")? as u16;
        eprintln!(
            "[bench] automerge-repo server holds {} documents",
            ready["docs"]
        );
        Ok(Self {
            relay: Relay::start(port)?,
            dir,
            server,
            docs,
            raw_bytes,
        })
    }

    fn client(&self) -> anyhow::Result<Value> {
        let before = self.relay.totals();
        let t = Instant::now();
        let out = Command::new("node")
            .arg(scripts().join("client.mjs"))
            .arg("--url")
            .arg(format!("ws://127.0.0.1:{}", self.relay.port))
            .arg("--ids")
            .arg(self.dir.join("ids.json"))
            .arg("--storage")
            .arg(self.dir.join("client-storage"))
            .stderr(Stdio::inherit())
            .output()
            .context("run the automerge-repo client")?;
        let process_s = t.elapsed().as_secs_f64();
        if !out.status.success() {
            bail!("the automerge-repo client failed ({})", out.status);
        }
        let mut v: Value = serde_json::from_slice(&out.stdout).with_context(|| {
            format!(
                "the automerge-repo client printed {:?}",
                String::from_utf8_lossy(&out.stdout)
            )
        })?;
        let after = self.relay.totals();
        let (sent, received) = (after.0 - before.0, after.1 - before.1);
        v["wire_bytes_sent"] = json!(sent);
        v["wire_bytes_received"] = json!(received);
        v["wire_bytes_total"] = json!(sent + received);
        v["wall_s"] = json!(v["last_message_ms"].as_f64().unwrap_or(0.0) / 1000.0);
        v["client_process_s"] = json!(process_s);
        v["documents_served"] = json!(self.docs);
        Ok(v)
    }

    /// S2: a fresh client fetches every document.
    pub fn replicate(&self) -> anyhow::Result<Value> {
        let mut v = self.client()?;
        let wire = v["wire_bytes_total"].as_u64().unwrap_or(0);
        v["raw_bytes"] = json!(self.raw_bytes);
        v["raw_bytes_are"] = json!("the saved automerge documents as exported (compressed)");
        v["wire_bytes_over_raw"] = ratio(wire as f64, self.raw_bytes as f64);
        Ok(v)
    }

    /// S3: the client starts again on its storage and asks for every document.
    pub fn reconnect(&mut self) -> anyhow::Result<Value> {
        self.client()
    }
}
