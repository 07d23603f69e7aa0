//! Facilitation through the HTTP API of a real node: what stories and surveys refuse, that
//! survey answers stay on the node until an aggregate is published once, and the report's
//! formats and inputs.

mod common;

use common::{TestNode, assert_error};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

async fn person(t: &TestNode, com: &str, name: &str) -> String {
    let (st, v) = t
        .post(
            &format!("/communities/{com}/people"),
            json!({ "name": name, "level": "active" }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    s(&v["person"])
}

async fn event(t: &TestNode, com: &str) -> String {
    let (st, e) = t
        .post(
            "/events",
            json!({ "community": com, "title": "Monthly call", "start": "2026-01-08T15:00",
                    "tz": "Europe/London", "duration": "1h", "rrule": "FREQ=MONTHLY;BYDAY=2TH" }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{e}");
    s(&e["id"])
}

fn questions() -> Value {
    json!([
        { "kind": "scale", "text": "How useful was the call?" },
        { "kind": "choice", "text": "Will you use the checklist?", "options": ["yes", "no"] },
        { "kind": "text", "text": "What would help next time?" },
    ])
}

#[tokio::test]
async fn bad_stories_and_surveys_are_refused_with_a_reason() {
    let t = TestNode::start().await;
    let com = t.with_community().await;
    let call = event(&t, &com).await;
    let cases = [
        (
            "/stories",
            json!({ "community": com, "title": "T", "text": "x", "cycle": "eventual" }),
            "value cycle",
        ),
        (
            "/stories",
            json!({ "community": com, "title": "T", "text": "x", "cycle": "applied", "links": [com] }),
            "story links",
        ),
        (
            "/stories",
            json!({ "community": com, "title": "T", "text": "x", "cycle": "applied", "person": "Nobody Here" }),
            "no one called",
        ),
        (
            "/surveys",
            json!({ "community": com, "title": "T", "event": call, "questions": [questions()[0]] }),
            "3 to 5 questions",
        ),
        (
            "/surveys",
            json!({ "community": com, "title": "T", "questions": questions() }),
            "follows an event",
        ),
        (
            "/surveys",
            json!({ "community": com, "title": "T", "phase": "baseline", "questions": questions() }),
            "covers a period",
        ),
        (
            "/surveys",
            json!({ "community": com, "title": "T", "event": call, "closes_on": "2020-01-01", "questions": questions() }),
            "has passed",
        ),
        (
            "/surveys",
            json!({ "community": com, "title": "T", "event": call, "questions": [
                questions()[0], { "kind": "choice", "text": "Pick", "options": ["only one"] }, questions()[2] ] }),
            "at least two options",
        ),
    ];
    for (path, body, says) in cases {
        let (st, v) = t.post(path, body.clone()).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {v}");
        assert_error(&v, "invalid_input");
        assert!(
            s(&v["error"]["message"]).contains(says),
            "{body}: expected {says:?} in {v}"
        );
    }
    // A story that names a child is stopped by the gate, like a consult.
    let (st, v) = t
        .post(
            "/stories",
            json!({ "community": com, "title": "What changed", "cycle": "realised",
                    "text": "Jayden Smith now has a flat; call his mum on 0412 345 678." }),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_error(&v, "identifying_details");
    assert_eq!(t.docs().await, 2, "nothing was written");
}

#[tokio::test]
async fn answers_stay_on_the_node_and_the_aggregate_is_published_once() {
    let t = TestNode::start().await;
    let com = t.with_community().await;
    let call = event(&t, &com).await;
    let mut people = Vec::new();
    for name in ["Ana", "Bex", "Cal", "Dee", "Eve", "Fin"] {
        people.push(person(&t, &com, name).await);
    }
    let (st, sv) = t
        .post(
            "/surveys",
            json!({ "community": com, "title": "After the call", "event": call,
                    "occurrence": "2026-02-12", "questions": questions() }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{sv}");
    assert_eq!(sv["occurrence"], "2026-02-12T15:00");
    let id = s(&sv["id"]);
    let answers = [
        ("5", "yes"),
        ("4", "yes"),
        ("4", "yes"),
        ("3", "no"),
        ("4", "yes"),
        ("2", "yes"),
    ];
    for (i, (q1, q2)) in answers.iter().enumerate() {
        let name = ["Ana", "Bex", "Cal", "Dee", "Eve", "Fin"][i];
        let (st, v) = t
            .post(
                &format!("/surveys/{id}/responses"),
                json!({ "person": name, "answers": { "q1": q1, "q2": q2, "q3": format!("secret words {i}") } }),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    // Bad answers say what is wrong.
    for (body, says) in [
        (
            json!({ "person": people[0], "answers": { "q1": "1" } }),
            "already answered",
        ),
        (
            json!({ "person": "Zed", "answers": { "q1": "1" } }),
            "no one called",
        ),
    ] {
        let (st, v) = t.post(&format!("/surveys/{id}/responses"), body).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(s(&v["error"]["message"]).contains(says), "{v}");
    }
    let extra = person(&t, &com, "Gil").await;
    for (answers, says) in [
        (json!({ "q1": "6" }), "not on the scale"),
        (json!({ "q2": "maybe" }), "not one of the options"),
        (json!({ "q9": "x" }), "no question"),
        (json!({}), "at least one"),
    ] {
        let (st, v) = t
            .post(
                &format!("/surveys/{id}/responses"),
                json!({ "person": extra, "answers": answers }),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(s(&v["error"]["message"]).contains(says), "{v}");
    }
    // Open: the shared document holds nothing of the answers.
    let (_, open) = t.get(&format!("/surveys/{id}")).await;
    assert_eq!(open["results"]["nodes_reporting"], 0);
    assert_eq!(open["this_node"]["responses"], 6);
    assert_eq!(open["this_node"]["free_text"], json!({}));
    let (_, exported) = t.get(&format!("/communities/{com}/export")).await;
    assert!(!exported.to_string().contains("secret words"));

    let (st, closed) = t.post(&format!("/surveys/{id}/close"), json!({})).await;
    assert_eq!(st, StatusCode::OK, "{closed}");
    let (_, v) = t.get(&format!("/surveys/{id}")).await;
    let r = &v["results"];
    assert_eq!(
        (&r["status"], &r["nodes_reporting"], &r["respondents"]),
        (&json!("closed"), &json!(1), &json!("6"))
    );
    // 5+4+4+3+4+2 = 22 over 6 answers.
    assert_eq!(r["questions"][0]["mean"], 3.67);
    assert_eq!(
        r["questions"][1]["counts"],
        json!([{ "answer": "yes", "count": "5" }, { "answer": "no", "count": "<5" }])
    );
    assert_eq!(
        v["this_node"]["free_text"]["q3"].as_array().unwrap().len(),
        6
    );
    // Published once; the shared document carries counts, never the words.
    let (_, exported) = t.get(&format!("/communities/{com}/export")).await;
    let text = exported.to_string();
    assert!(!text.contains("secret words"), "free text left the node");
    let (st, v) = t
        .post(
            &format!("/surveys/{id}/responses"),
            json!({ "person": extra, "answers": { "q1": "3" } }),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(s(&v["error"]["message"]).contains("closed"), "{v}");
}

#[tokio::test]
async fn the_report_comes_as_json_csv_or_text_and_checks_its_inputs() {
    let t = TestNode::start().await;
    let com = t.with_community().await;
    let (st, v) = t
        .patch(
            &format!("/communities/{com}"),
            json!({ "rhythm": "fortnightly", "stakeholders": ["schools"] }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, r) = t
        .get(&format!(
            "/communities/{com}/report?since=2026-01-01&until=2026-03-31"
        ))
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["since"], "2026-01-01T00:00:00Z");
    assert_eq!(r["until"], "2026-04-01T00:00:00Z");
    // No meeting in any fortnight of the quarter: every complete beat missed. Fortnights start
    // on the first Monday in the period (12 January); the one running past the end is not judged.
    assert_eq!(r["events"]["rhythm"]["kept"], 0);
    assert_eq!(
        r["events"]["rhythm"]["missed"],
        json!(["2026-W03", "2026-W05", "2026-W07", "2026-W09", "2026-W11"])
    );
    assert_eq!(r["who_is_missing"]["groups"][0]["status"], "missing");
    let resp = t
        .req(
            reqwest::Method::GET,
            &format!("/communities/{com}/report?format=csv"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = resp.text().await.unwrap();
    assert!(csv.starts_with("section,item,measure,value\n"), "{csv}");
    for (q, says) in [
        ("since=yesterday", "not a date"),
        ("format=pdf", "not one of json, csv, text"),
        ("since=2026-05-01&until=2026-01-01", "before its end"),
        ("colour=blue", "unknown field"),
    ] {
        let (st, v) = t.get(&format!("/communities/{com}/report?{q}")).await;
        assert!(st.is_client_error(), "{q} → {st}");
        assert!(s(&v["error"]["message"]).contains(says), "{q}: {v}");
    }
    let (st, _) = t.get("/communities/com_doesnotexist/report").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, p) = t.get(&format!("/communities/{com}/participation")).await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert!(s(&p["notice"]).contains("never replicated"));
}
