//! The CLI's HTTP client: finds the running node through `<data>/api.addr` and
//! `<data>/api-token`, and turns API errors into one-line messages.

use std::path::Path;

use anyhow::{Context, anyhow, bail};
use serde::Serialize;
use serde_json::Value;

pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    pub fn connect(data: &Path) -> anyhow::Result<Self> {
        if !data.join("identity.key").exists() {
            bail!(
                "{} is not a copnet data directory: start a node with `copnet up --data {}` (or pass the right --data)",
                data.display(),
                data.display()
            );
        }
        let addr_path = data.join("api.addr");
        let addr = std::fs::read_to_string(&addr_path).map_err(|_| {
            anyhow!(
                "the node for {} is not running: start it with `copnet up --data {}`",
                data.display(),
                data.display()
            )
        })?;
        let token = std::fs::read_to_string(data.join("api-token"))
            .with_context(|| format!("cannot read the API token in {}", data.display()))?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self {
            http,
            base: format!("http://{}/api/v1", addr.trim()),
            token: token.trim().to_owned(),
        })
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(self.http.get(self.url(path))).await
    }

    pub async fn post(&self, path: &str, body: &impl Serialize) -> anyhow::Result<Value> {
        self.send(self.http.post(self.url(path)).json(body)).await
    }

    /// DELETEs; the node answers 204 with no body.
    pub async fn delete(&self, path: &str) -> anyhow::Result<()> {
        let resp = self.request(self.http.delete(self.url(path))).await?;
        if !resp.status().is_success() {
            return Err(Self::error(resp).await);
        }
        Ok(())
    }

    pub async fn patch(&self, path: &str, body: &impl Serialize) -> anyhow::Result<Value> {
        self.send(self.http.patch(self.url(path)).json(body)).await
    }

    pub async fn put_bytes(
        &self,
        path: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> anyhow::Result<Value> {
        self.send(
            self.http
                .put(self.url(path))
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(bytes),
        )
        .await
    }

    /// GETs a non-JSON resource (a file, a calendar); errors still come as JSON.
    pub async fn get_bytes(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let resp = self.request(self.http.get(self.url(path))).await?;
        if resp.status().is_success() {
            return Ok(resp
                .bytes()
                .await
                .context("reading the node's answer")?
                .to_vec());
        }
        Err(Self::error(resp).await)
    }

    /// The base address of the node's API, for URLs shown to people.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    async fn request(&self, req: reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
        req.bearer_auth(&self.token).send().await.map_err(|e| {
            if e.is_connect() {
                anyhow!(
                    "the node is not answering at {} (is `copnet up` running?)",
                    self.base
                )
            } else if e.is_timeout() {
                anyhow!("the node at {} did not answer in time", self.base)
            } else {
                anyhow!("request to the node failed: {e}")
            }
        })
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let resp = self.request(req).await?;
        let status = resp.status();
        if !status.is_success() {
            return Err(Self::error(resp).await);
        }
        resp.json()
            .await
            .with_context(|| format!("the node answered {status} with a body that is not JSON"))
    }

    /// An API error as a message: the node's own words, and the gate's findings one per line.
    async fn error(resp: reqwest::Response) -> anyhow::Error {
        let status = resp.status();
        let Ok(body) = resp.json::<Value>().await else {
            return anyhow!("the node answered {status} with a body that is not JSON");
        };
        let mut message = body
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or("the node refused the request")
            .to_owned();
        if let Some(findings) = body
            .pointer("/error/details/findings")
            .and_then(Value::as_array)
        {
            for f in findings {
                let s = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or("");
                let n = |k: &str| f.get(k).and_then(Value::as_u64).unwrap_or(0);
                message.push_str(&format!(
                    "\n  {} line {}, col {}: {} {:?} — {}",
                    s("field"),
                    n("line"),
                    n("column"),
                    s("kind"),
                    s("matched"),
                    s("why")
                ));
            }
        }
        anyhow!("{message}")
    }
}

/// Percent-encodes a query value (ids are base58, but be safe).
pub fn query_value(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Percent-encodes a path segment, so a pasted id can never change the path.
pub fn segment(s: &str) -> String {
    query_value(s.trim())
}

/// The listing endpoint `base`, filtered by community when one is given.
pub fn list_path(base: &str, community: Option<&str>) -> String {
    match community {
        Some(c) => format!("{base}?community={}", query_value(c)),
        None => base.to_owned(),
    }
}
