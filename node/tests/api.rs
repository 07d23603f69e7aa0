//! The HTTP API against a real node on 127.0.0.1:0: authentication, error format, and that a
//! refused request writes nothing.

mod common;

use common::{TestNode, assert_error};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn every_endpoint_but_health_needs_the_token() {
    let t = TestNode::start().await;
    let health = t
        .http
        .get(format!("{}/health", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    for (method, path) in [
        ("GET", "/status"),
        ("GET", "/communities"),
        ("POST", "/communities"),
        ("GET", "/resources"),
        ("POST", "/federation"),
        ("GET", "/search?q=housing"),
        ("POST", "/import"),
        ("GET", "/calendar"),
        ("GET", "/communities/com_1111111111111111111111/export"),
        ("POST", "/communities/com_1111111111111111111111/people"),
        (
            "PUT",
            "/resources/res_1111111111111111111111/attachment?name=a.pdf",
        ),
        ("GET", "/resources/res_1111111111111111111111/attachment"),
        ("POST", "/consults/cst_1111111111111111111111/answer"),
        ("POST", "/events/evt_1111111111111111111111/rsvps"),
        ("GET", "/events/evt_1111111111111111111111/calendar.ics"),
        (
            "GET",
            "/communities/com_1111111111111111111111/calendar.ics?key=wrong",
        ),
    ] {
        let m: reqwest::Method = method.parse().unwrap();
        let none = t
            .http
            .request(m.clone(), format!("{}{}", t.base, path))
            .send()
            .await
            .unwrap();
        assert_eq!(
            none.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path} without a token"
        );
        assert_error(&none.json().await.unwrap(), "unauthorized");
        let wrong = t
            .http
            .request(m, format!("{}{}", t.base, path))
            .bearer_auth("0".repeat(64))
            .send()
            .await
            .unwrap();
        assert_eq!(
            wrong.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path} with a wrong token"
        );
    }

    // Every route the API has, read from its source, so that a new endpoint cannot forget the
    // token: each method is refused (401) or not routed (405), and at least one is refused.
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let route = regex::Regex::new(r#"\.route\(\s*"([^"]+)""#).unwrap();
    let mut paths = Vec::new();
    for file in std::fs::read_dir(&src).unwrap() {
        let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
        paths.extend(route.captures_iter(&text).map(|c| c[1].to_owned()));
    }
    assert!(paths.len() > 30, "found only {paths:?}");
    for path in paths {
        let url = format!(
            "{}{}",
            t.base,
            path.replace("{id}", "res_1111111111111111111111")
                .replace("{person}", "per_1111111111111111111111")
        );
        let mut statuses = Vec::new();
        for m in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let resp = t
                .http
                .request(m.parse().unwrap(), &url)
                .send()
                .await
                .unwrap();
            statuses.push(resp.status());
        }
        if path == "/health" {
            assert_eq!(statuses[0], StatusCode::OK);
        } else if path.starts_with("/faults/") {
            // Fault injection is not even routed unless the node was started with it.
            assert!(
                statuses.iter().all(|s| *s == StatusCode::NOT_FOUND),
                "{path}: {statuses:?}"
            );
        } else {
            assert!(
                statuses
                    .iter()
                    .all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::METHOD_NOT_ALLOWED)
                    && statuses.contains(&StatusCode::UNAUTHORIZED),
                "{path} without a token: {statuses:?}"
            );
        }
    }
    t.node.shutdown().await;
}

#[tokio::test]
async fn bad_requests_get_a_json_error_and_write_nothing() {
    let t = TestNode::start().await;
    let community = t.with_community().await;
    let before = t.docs().await;

    // Malformed JSON.
    let resp = t
        .req(reqwest::Method::POST, "/resources")
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_error(&resp.json().await.unwrap(), "bad_request");

    // No JSON content type.
    let resp = t
        .req(reqwest::Method::POST, "/communities")
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // Unknown field: a typo must not be silently dropped.
    let (s, b) = t
        .post(
            "/resources",
            json!({ "community": community, "title": "T", "kind": "tool", "tittle": "x" }),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");

    let cases = [
        (
            "/resources",
            json!({ "community": community, "title": "  ", "kind": "tool" }),
            "title must not be empty",
        ),
        (
            "/resources",
            json!({ "community": community, "title": "T", "kind": "poem" }),
            "unknown resource kind",
        ),
        (
            "/resources",
            json!({ "community": community, "title": "T", "kind": "tool", "url": "javascript:alert(1)" }),
            "http",
        ),
        (
            "/resources",
            json!({ "community": "com_2zYhBWw6JdnrVRdCGHDbmD", "title": "T", "kind": "tool" }),
            "no community",
        ),
        (
            "/resources",
            json!({ "community": "res_2zYhBWw6JdnrVRdCGHDbmD", "title": "T", "kind": "tool" }),
            "community id was expected",
        ),
        (
            "/consults",
            json!({ "community": community, "title": "T", "question": "", "situation": "S" }),
            "question must not be empty",
        ),
        (
            "/events",
            json!({ "community": community, "title": "T", "start": "2026-12-03 3pm", "tz": "America/Toronto", "duration": "60m" }),
            "2026-12-03T15:00",
        ),
        (
            "/events",
            json!({ "community": community, "title": "T", "start": "2026-12-03T15:00", "tz": "Toronto", "duration": "60m" }),
            "time zone",
        ),
        (
            "/events",
            json!({ "community": community, "title": "T", "start": "2026-12-03T15:00", "tz": "America/Toronto", "duration": "forever" }),
            "duration",
        ),
        (
            "/events",
            json!({ "community": community, "title": "T", "start": "2026-12-03T15:00", "tz": "America/Toronto", "duration": "1h", "rrule": "FREQ=NEVER" }),
            "rrule",
        ),
    ];
    for (path, body, needle) in cases {
        let (s, b) = t.post(path, body.clone()).await;
        assert!(s.is_client_error(), "{path} {body} → {s}");
        assert!(
            b["error"]["message"].as_str().unwrap().contains(needle),
            "{path} {body}: {b} should mention {needle:?}"
        );
    }

    // Unknown ids and endpoints.
    let (s, b) = t.get("/resources/res_2zYhBWw6JdnrVRdCGHDbmD").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_error(&b, "not_found");
    let (s, _) = t.get("/consults/nonsense").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, b) = t.get("/nowhere").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_error(&b, "not_found");
    let (s, b) = t.call(reqwest::Method::DELETE, "/status", None).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED, "{b}");

    // Oversized body.
    let huge = json!({ "name": "x".repeat(2 * 1024 * 1024) });
    let (s, b) = t.post("/communities", huge).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{b}");

    assert_eq!(t.docs().await, before, "refused requests wrote nothing");
    t.node.shutdown().await;
}

#[tokio::test]
async fn content_needs_a_federation_and_a_federation_is_founded_once() {
    let t = TestNode::start().await;
    let (s, b) = t.post("/communities", json!({ "name": "Early" })).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_error(&b, "no_federation");
    let (s, f) = t.post("/federation", json!({ "name": "First" })).await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(f["id"].as_str().unwrap().starts_with("fed_"));
    let (s, b) = t.post("/federation", json!({ "name": "Second" })).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_error(&b, "already_in_federation");
    let (_, status) = t.get("/status").await;
    assert_eq!(status["federation"]["name"], "First");
    assert_eq!(status["federation"]["role"], "member");
    t.node.shutdown().await;
}

#[tokio::test]
async fn documents_round_trip_through_the_api() {
    let t = TestNode::start().await;
    let community = t.with_community().await;
    let (s, r) = t
        .post(
            "/resources",
            json!({ "community": community, "title": "Safety planning template", "kind": "template",
                    "topics": ["Safety", "safety", "planning"], "url": "https://example.org/plan" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["topics"], json!(["safety", "planning"]));
    let id = r["id"].as_str().unwrap();

    let (s, e) = t
        .call(
            reqwest::Method::PATCH,
            &format!("/resources/{id}"),
            Some(json!({ "summary": "Two pages", "url": "" })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert_eq!(e["summary"], "Two pages");
    assert_eq!(e["url"], Value::Null);
    assert_eq!(e["title"], "Safety planning template");

    let (s, c) = t
        .post("/consults", json!({ "community": community, "title": "Re-entry housing", "question": "Who to call first?", "situation": "A young person leaves custody next week." }))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(c["audience"], "members", "consults default to members");
    let cid = c["id"].as_str().unwrap();
    for text in [
        "Start with the housing worker",
        "Check the benefits timeline",
    ] {
        let (s, _) = t
            .post(&format!("/consults/{cid}/replies"), json!({ "text": text }))
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (_, shown) = t.get(&format!("/consults/{cid}")).await;
    assert_eq!(shown["reply_count"], 2);
    assert_eq!(shown["replies"][1]["text"], "Check the benefits timeline");

    let (_, listed) = t.get(&format!("/resources?community={community}")).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let (s, _) = t.get("/resources?community=garbage").await;
    assert!(s.is_client_error());
    t.node.shutdown().await;
}

#[tokio::test]
async fn caches_rebuild_from_the_signed_changes() {
    let t = TestNode::start().await;
    let community = t.with_community().await;
    for i in 0..5 {
        let (s, _) = t
            .post("/resources", json!({ "community": community, "title": format!("Guide {i}"), "kind": "research" }))
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (_, before) = t.get("/resources").await;
    let replica = t.node.replica().clone();
    let report = tokio::task::spawn_blocking(move || replica.rebuild())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.documents, 6);
    assert_eq!(report.invalid_changes, 0);
    let (_, after) = t.get("/resources").await;
    assert_eq!(before, after);
    t.node.shutdown().await;
}
