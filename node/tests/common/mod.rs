//! A real node on 127.0.0.1:0 and an HTTP client for it, shared by the API tests.
#![allow(dead_code)]

use copnet_node::{Node, NodeOptions};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub struct TestNode {
    pub node: Node,
    pub http: reqwest::Client,
    pub base: String,
    _dir: tempfile::TempDir,
}

impl TestNode {
    pub async fn start() -> Self {
        Self::start_with_private_names(None).await
    }

    /// A node whose data directory has a `private-names.txt` with `names` before it starts.
    pub async fn start_with_private_names(names: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        if let Some(names) = names {
            std::fs::create_dir_all(dir.path().join("node")).unwrap();
            std::fs::write(dir.path().join("node/private-names.txt"), names).unwrap();
        }
        let node = Node::start(NodeOptions {
            data: dir.path().join("node"),
            org: Some("Northside Family Support".into()),
            sector: None,
            http: Some("127.0.0.1:0".parse().unwrap()),
            listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
            mdns: false,
        })
        .await
        .unwrap();
        let base = format!("http://{}/api/v1", node.http_addr());
        Self {
            node,
            http: reqwest::Client::new(),
            base,
            _dir: dir,
        }
    }

    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(self.node.token())
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut r = self.req(method, path);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn docs(&self) -> u64 {
        self.get("/status").await.1["docs"].as_u64().unwrap()
    }

    /// A federation and a community, ready for content.
    pub async fn with_community(&self) -> String {
        let (s, _) = self
            .post("/federation", json!({ "name": "Test federation" }))
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let (s, c) = self
            .post("/communities", json!({ "name": "Resettlement practice" }))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        c["id"].as_str().unwrap().to_owned()
    }
}

pub fn assert_error(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(
        !msg.is_empty() && !msg.contains('\n'),
        "one-line message: {msg:?}"
    );
}
