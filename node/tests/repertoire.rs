//! The repertoire through the HTTP API of a real node: charters and people, resources with files
//! and history, the consult lifecycle behind the de-identification gate, events with RSVPs,
//! cancellations and calendars, export and import.

mod common;

use common::{TestNode, assert_error};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_community_has_a_charter_and_people_at_every_level() {
    let t = TestNode::start().await;
    t.post("/federation", json!({ "name": "F" })).await;
    let (st, c) = t
        .post(
            "/communities",
            json!({
                "name": "Youth justice resettlement",
                "domain": "youth justice",
                "practice_focus": "leaving custody",
                "purpose": "Share what works in the first 72 hours",
                "audience": "caseworkers and team leaders",
                "goals": ["Fewer nights without a bed after release"],
                "outcomes": ["A shared release checklist"],
                "stakeholders": ["young people with lived experience", "housing providers"],
                "topics": ["Custody", "Housing"],
            }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    let id = s(&c["id"]);
    assert_eq!(c["stakeholders"][1], "housing providers");
    assert_eq!(c["topics"], json!(["custody", "housing"]));

    let join = |name: &str, level: &str, steward: bool| json!({ "name": name, "level": level, "expertise": ["family work"], "steward": steward });
    let (st, a) = t
        .post(
            &format!("/communities/{id}/people"),
            join("Sam R.", "core", true),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    let sam = s(&a["person"]);
    let (_, b) = t
        .post(
            &format!("/communities/{id}/people"),
            join("Alex T.", "peripheral", false),
        )
        .await;
    let alex = s(&b["person"]);
    let (st, dup) = t
        .post(
            &format!("/communities/{id}/people"),
            join("sam r.", "active", false),
        )
        .await;
    assert_eq!(
        st,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the same person twice: {dup}"
    );
    let (st, bad) = t
        .post(
            &format!("/communities/{id}/people"),
            join("Jo", "lurker", false),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        s(&bad["error"]["message"]).contains("core, active, peripheral"),
        "{bad}"
    );

    // Alex moves to active; Sam leaves (and stops being a steward).
    let (st, _) = t
        .patch(
            &format!("/communities/{id}/people/{alex}"),
            json!({ "level": "active" }),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, c) = t
        .patch(
            &format!("/communities/{id}/people/{sam}"),
            json!({ "left": true }),
        )
        .await;
    assert_eq!(
        c["people_by_level"],
        json!({ "core": 0, "active": 1, "peripheral": 0 })
    );
    assert_eq!(c["stewards"], json!([]));
    let sam_row = c["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == json!(sam))
        .unwrap();
    assert!(
        sam_row["left_at"].is_string(),
        "a person who left keeps their record: {sam_row}"
    );
    let (st, _) = t
        .patch(
            &format!("/communities/{id}/people/per_nobody"),
            json!({ "level": "core" }),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Charter edits are recorded in the history, with who made them.
    t.patch(
        &format!("/communities/{id}"),
        json!({ "goals": ["A bed every night"] }),
    )
    .await;
    let (_, h) = t.get(&format!("/communities/{id}/history")).await;
    let h = h.as_array().unwrap();
    assert_eq!(
        h.len(),
        6,
        "create, two joins, two person edits, the goals: {h:?}"
    );
    assert_eq!(h.last().unwrap()["fields"], json!(["goals"]));
    assert_eq!(h.last().unwrap()["author_org"], "Northside Family Support");
    t.node.shutdown().await;
}

#[tokio::test]
async fn a_post_can_be_attributed_to_someone_who_joined_after_earlier_posts() {
    // Writes read the community they belong to from a cache; a person who joined after it was
    // filled must still be found, and one who left must no longer be.
    let t = TestNode::start().await;
    let com = t.with_community().await;
    let post = |person: &str| json!({ "community": com, "title": "Guide", "kind": "tool", "person": person });
    let (st, e) = t.post("/resources", post("Sam R.")).await;
    assert_eq!(
        st,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not a member yet: {e}"
    );
    let (st, a) = t
        .post(
            &format!("/communities/{com}/people"),
            json!({ "name": "Sam R.", "level": "active" }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    let sam = s(&a["person"]);
    let (st, r) = t.post("/resources", post("Sam R.")).await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    assert_eq!(r["added_by"], json!(sam));
    let (st, left) = t
        .patch(
            &format!("/communities/{com}/people/{sam}"),
            json!({ "left": true }),
        )
        .await;
    assert!(st.is_success(), "{left}");
    let (st, e) = t.post("/resources", post(&sam)).await;
    assert_eq!(
        st,
        StatusCode::UNPROCESSABLE_ENTITY,
        "left the community: {e}"
    );
}

#[tokio::test]
async fn resources_carry_their_metadata_a_file_and_a_history() {
    let t = TestNode::start().await;
    let com = t.with_community().await;
    let (st, r) = t
        .post(
            "/resources",
            json!({
                "community": com, "title": "Release planning guide", "kind": "program-model",
                "summary": "Steps for the week before release.", "intended_for": "caseworkers",
                "jurisdiction": "Victoria", "evidence": "4", "review_by": "2020-01-31",
                "licence": "CC BY 4.0", "adapted_from": "https://example.org/original",
            }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    let id = s(&r["id"]);
    assert_eq!(r["evidence"], 4);
    for (field, value) in [
        ("evidence", "6"),
        ("review_by", "31/01/2020"),
        ("kind", "video"),
    ] {
        let mut body = json!({ "community": com, "title": "X", "kind": "tool" });
        body[field] = json!(value);
        let (st, e) = t.post("/resources", body).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{field}={value}: {e}");
    }
    let (_, fresh) = t
        .post("/resources", json!({ "community": com, "title": "Fresh", "kind": "tool", "review_by": "2999-01-01" }))
        .await;
    assert_eq!(fresh["evidence"], "not-rated");
    let (_, overdue) = t.get("/resources?overdue=true").await;
    let ids: Vec<String> = overdue
        .as_array()
        .unwrap()
        .iter()
        .map(|r| s(&r["id"]))
        .collect();
    assert_eq!(
        ids,
        vec![id.clone()],
        "only the resource past its review date is overdue"
    );

    // A file: uploaded, replicated in the document, served back byte for byte.
    let file: Vec<u8> = (0..1_300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let resp = t
        .req(
            reqwest::Method::PUT,
            &format!("/resources/{id}/attachment?name=guide.pdf"),
        )
        .header("content-type", "application/pdf")
        .body(file.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["attachment"]["size"], file.len());
    let resp = t
        .req(reqwest::Method::GET, &format!("/resources/{id}/attachment"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    assert_eq!(resp.bytes().await.unwrap().to_vec(), file);
    let too_big = vec![0u8; 4 * 1024 * 1024 + 1];
    let resp = t
        .req(
            reqwest::Method::PUT,
            &format!("/resources/{id}/attachment?name=big.bin"),
        )
        .body(too_big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let (_, still) = t.get(&format!("/resources/{id}")).await;
    assert_eq!(
        still["attachment"]["name"], "guide.pdf",
        "a refused upload changes nothing"
    );

    t.patch(
        &format!("/resources/{id}"),
        json!({ "evidence": "not-rated", "review_by": "" }),
    )
    .await;
    let (_, h) = t.get(&format!("/resources/{id}/history")).await;
    let fields: Vec<Value> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fields"].clone())
        .collect();
    assert_eq!(fields.len(), 3, "created, file attached, edited: {h}");
    assert!(
        fields[1].as_array().unwrap().contains(&json!("attachment")),
        "{h}"
    );
    assert_eq!(fields[2], json!(["evidence", "review_by"]));
    t.node.shutdown().await;
}

#[tokio::test]
async fn the_gate_blocks_identifying_details_until_fixed_or_attested() {
    let t = TestNode::start().await;
    let com = t.with_community().await;
    let before = t.docs().await;
    let (st, e) = t
        .post(
            "/consults",
            json!({
                "community": com, "title": "Missed appointments",
                "question": "How do we re-engage?",
                "situation": "The young person stopped answering.\nHer aunt can be reached on 0412 345 678.",
            }),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_error(&e, "identifying_details");
    let f = &e["error"]["details"]["findings"][0];
    assert_eq!(f["field"], "situation");
    assert_eq!(f["kind"], "phone");
    assert_eq!(f["matched"], "0412 345 678");
    assert_eq!(f["line"], 2);
    assert!(!s(&f["why"]).is_empty());
    assert_eq!(
        t.docs().await,
        before,
        "nothing is signed or stored while blocked"
    );

    // The community's own terms are flagged too.
    t.patch(
        &format!("/communities/{com}"),
        json!({ "privacy_terms": ["Riverbend Flexi School"] }),
    )
    .await;
    let (st, e) = t
        .post(
            "/consults",
            json!({ "community": com, "title": "School refusal", "question": "What helps?",
                    "situation": "A young person at riverbend flexi school has stopped attending." }),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(
        e["error"]["details"]["findings"][0]["kind"],
        "community-term"
    );

    // Fixed: passes with no attestation needed.
    let (st, c) = t
        .post(
            "/consults",
            json!({ "community": com, "title": "Missed appointments", "question": "How do we re-engage?",
                    "situation": "The young person stopped answering; a relative is in touch with us." }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    assert_eq!(c["attestations"], json!({}));
    assert_eq!(
        c["audience"], "members",
        "consults are for member nodes by default"
    );

    // Or attested: stored with the post, naming what was flagged but not the text itself.
    let (st, e) = t
        .post(
            &format!("/consults/{}/replies", s(&c["id"])),
            json!({ "text": "Call 0412 345 678", "attest": "ok" }),
        )
        .await;
    assert_eq!(
        st,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a token attestation is not enough: {e}"
    );
    let (st, r) = t
        .post(
            &format!("/consults/{}/replies", s(&c["id"])),
            json!({ "text": "Our after-hours worker is on 0400 111 222, call any time.",
                    "attest": "de-identified; this is our worker's service phone, not a client's" }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    let reply = &r["replies"][0];
    assert_eq!(reply["attestation"]["flagged"], json!(["phone"]));
    assert!(
        !r.to_string().contains("\"matched\""),
        "the matched text is not stored: {r}"
    );
    t.node.shutdown().await;
}

#[tokio::test]
async fn a_consult_goes_from_open_to_answered_to_closed_with_a_follow_up() {
    let t = TestNode::start().await;
    let com = t.with_community().await;
    let (_, c) = t
        .post(
            "/consults",
            json!({ "community": com, "title": "Kinship care", "question": "How to involve the grandparents?",
                    "situation": "A sibling group is staying with extended family.",
                    "background": "Two placements broke down last year.",
                    "assessment": "The family wants to help but feels judged.",
                    "request": "Ideas for a first family meeting.",
                    "follow_up_on": "2020-02-01" }),
        )
        .await;
    let id = s(&c["id"]);
    assert_eq!(c["status"], "open");
    assert_eq!(c["background"], "Two placements broke down last year.");
    let (st, r) = t
        .post(
            &format!("/consults/{id}/replies"),
            json!({ "text": "Who chose the meeting place?", "kind": "clarifying" }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    assert_eq!(r["replies"][0]["kind"], "clarifying");
    let (st, e) = t
        .post(
            &format!("/consults/{id}/outcome"),
            json!({ "outcome": "It went well." }),
        )
        .await;
    assert_eq!(
        st,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an outcome comes after the summary: {e}"
    );

    let (_, due) = t.get("/consults?follow_up_due=true").await;
    assert_eq!(
        due.as_array().unwrap().len(),
        1,
        "its follow-up date has passed: {due}"
    );
    let (st, a) = t
        .post(
            &format!("/consults/{id}/answer"),
            json!({ "summary": "Meeting at the family's home helped most." }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{a}");
    assert_eq!(a["status"], "answered");
    assert!(a["answered_at"].is_string());
    let (_, answered) = t.get("/consults?status=answered").await;
    assert_eq!(answered.as_array().unwrap().len(), 1);
    let (_, closed) = t
        .post(
            &format!("/consults/{id}/outcome"),
            json!({ "outcome": "The children stayed; school attendance is up." }),
        )
        .await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(
        closed["outcome"],
        "The children stayed; school attendance is up."
    );
    let (_, due) = t.get("/consults?follow_up_due=true").await;
    assert_eq!(due, json!([]), "answered follow-ups are no longer due");
    let (st, _) = t
        .post(
            &format!("/consults/{id}/replies"),
            json!({ "text": "Late idea" }),
        )
        .await;
    assert_eq!(
        st,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a closed consult takes no replies"
    );
    t.node.shutdown().await;
}

#[tokio::test]
async fn events_take_rsvps_per_occurrence_and_export_to_calendars() {
    let t = TestNode::start().await;
    let com = t.with_community().await;
    let (_, p) = t
        .post(
            &format!("/communities/{com}/people"),
            json!({ "name": "Sam R.", "level": "active" }),
        )
        .await;
    let sam = s(&p["person"]);
    let (st, e) = t
        .post(
            "/events",
            json!({ "community": com, "title": "Monthly practice call", "kind": "call",
                    "start": "2030-01-03T15:00", "tz": "America/Toronto", "duration": "1h",
                    "rrule": "FREQ=MONTHLY;BYDAY=1TH", "link": "https://meet.example.org/cop",
                    "agenda": "Case consult, then resources" }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{e}");
    let id = s(&e["id"]);

    let (st, r) = t
        .post(
            &format!("/events/{id}/rsvps"),
            json!({ "person": sam, "status": "going", "occurrence": "2030-02-07" }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    assert_eq!(r["occurrence"], "2030-02-07T15:00");
    let (st, r) = t
        .post(
            &format!("/events/{id}/rsvps"),
            json!({ "person": sam, "status": "maybe" }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    assert_eq!(
        r["occurrence"], "2030-01-03T15:00",
        "the next occurrence by default"
    );
    for bad in [
        json!({ "person": sam, "status": "going", "occurrence": "2030-02-08" }),
        json!({ "person": "per_000000000000", "status": "going" }),
        json!({ "person": sam, "status": "perhaps" }),
    ] {
        let (st, e) = t.post(&format!("/events/{id}/rsvps"), bad.clone()).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {e}");
    }
    let (_, shown) = t.get(&format!("/events/{id}")).await;
    let up = shown["upcoming"].as_array().unwrap();
    assert_eq!(up[0]["occurrence"], "2030-01-03T15:00");
    assert_eq!(up[0]["maybe"], 1);
    assert_eq!(up[1]["going"], 1);

    // Calendars: a feed address with the calendar key; without it, nothing.
    let (_, info) = t.get("/calendar").await;
    let key = s(&info["key"]);
    let feed = |q: &str| {
        t.http
            .get(format!("{}/communities/{com}/calendar.ics{q}", t.base))
            .send()
    };
    assert_eq!(feed("").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        feed("?key=nope").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let resp = feed(&format!("?key={key}")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let ics = resp.text().await.unwrap();
    let sequence = |ics: &str| -> Vec<u32> {
        ics.lines()
            .filter_map(|l| l.strip_prefix("SEQUENCE:"))
            .map(|v| v.trim().parse().unwrap())
            .collect()
    };
    assert!(ics.contains(&format!("UID:{id}@copnet")), "{ics}");
    assert!(ics.contains("BEGIN:VTIMEZONE"), "{ics}");
    let first = sequence(&ics)[0];

    // Cancelling one occurrence: RSVPs to it are refused, the calendar shows it cancelled, and
    // SEQUENCE has moved on.
    let (st, c) = t
        .post(
            &format!("/events/{id}/cancel"),
            json!({ "occurrence": "2030-03-07" }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    let (st, _) = t
        .post(
            &format!("/events/{id}/rsvps"),
            json!({ "person": sam, "status": "going", "occurrence": "2030-03-07" }),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let ics = t
        .req(reqwest::Method::GET, &format!("/events/{id}/calendar.ics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        ics.contains("RECURRENCE-ID;TZID=America/Toronto:20300307T150000"),
        "{ics}"
    );
    assert!(ics.contains("STATUS:CANCELLED"), "{ics}");
    assert!(
        sequence(&ics).iter().all(|s| *s > first),
        "{first} then {ics}"
    );

    // Afterwards: notes, minutes and attendance for an occurrence.
    let (st, r) = t
        .post(&format!("/events/{id}/record"), json!({ "occurrence": "2030-01-03", "minutes": "Agreed a release checklist.", "attended": [sam] }))
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(
        r["minutes"]["2030-01-03T15:00"],
        "Agreed a release checklist."
    );
    assert_eq!(r["attendance"][0]["person"], json!(sam));
    t.node.shutdown().await;
}

#[tokio::test]
async fn an_export_loads_back_after_leaving_and_a_tampered_one_is_refused() {
    let t = TestNode::start().await;
    let com = t.with_community().await;
    for i in 0..3 {
        t.post(
            "/resources",
            json!({ "community": com, "title": format!("Guide {i}"), "kind": "tool" }),
        )
        .await;
    }
    t.post("/consults", json!({ "community": com, "title": "Case", "question": "Q?", "situation": "A young person." })).await;
    let (st, export) = t.get(&format!("/communities/{com}/export")).await;
    assert_eq!(st, StatusCode::OK, "{export}");
    assert_eq!(export["documents"].as_array().unwrap().len(), 5);

    // Importing what the node already has changes nothing.
    let (st, r) = t.post("/import", export.clone()).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["new_changes"], 0);

    // One flipped bit anywhere in a document refuses the whole import.
    let mut tampered = export.clone();
    let doc = &mut tampered["documents"][1]["automerge"];
    let mut bytes = base64_decode(doc.as_str().unwrap());
    let n = bytes.len();
    bytes[n - 20] ^= 1;
    *doc = json!(base64_encode(&bytes));
    let (st, e) = t.post("/import", tampered).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(
        s(&e["error"]["message"]).starts_with("import refused"),
        "{e}"
    );
    let mut forged = export.clone();
    forged["documents"][2]["signatures"][0]["signature"] = json!("00".repeat(64));
    let (st, _) = t.post("/import", forged).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);

    // Leave and purge: the knowledge is gone from the node, then comes back from the export.
    let (st, _) = t.post("/federation/leave", json!({ "purge": true })).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(t.docs().await, 0);
    let (st, r) = t.post("/import", export).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["new_documents"], 5);
    let (_, list) = t.get("/resources").await;
    assert_eq!(list.as_array().unwrap().len(), 3);
    t.node.shutdown().await;
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[tokio::test]
async fn search_finds_what_the_node_holds_and_stays_current() {
    let t = TestNode::start().await;
    let com = t.with_community().await;
    let (_, other) = t
        .post("/communities", json!({ "name": "Kinship care" }))
        .await;
    let other = s(&other["id"]);
    let (_, res) = t
        .post("/resources", json!({ "community": com, "title": "Housing First for Youth fidelity guide", "kind": "program-model", "topics": ["housing"] }))
        .await;
    let res = s(&res["id"]);
    t.post("/resources", json!({ "community": other, "title": "Family group conferencing", "kind": "tool", "summary": "Bringing the wider family and their housing options in early." })).await;
    t.post("/consults", json!({ "community": com, "title": "Leaving care at 18", "question": "Where can they live?", "situation": "A young person turns 18 next month and has nowhere to live." })).await;
    t.post("/events", json!({ "community": com, "title": "Housing webinar", "kind": "webinar", "start": "2030-05-01T10:00", "tz": "Australia/Sydney", "duration": "1h" })).await;

    let ids = |v: &Value| -> Vec<String> {
        v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| s(&h["id"]))
            .collect()
    };
    let (st, all) = t.get("/search?q=housing").await;
    assert_eq!(st, StatusCode::OK, "{all}");
    assert_eq!(all["count"], 3, "a title, a summary and an event: {all}");
    assert_eq!(
        all["hits"][2]["title"], "Family group conferencing",
        "title matches rank above a summary match: {all}"
    );
    assert!(s(&all["hits"][0]["snippet"]).contains('«'), "{all}");
    let (_, r) = t.get("/search?q=housing&kind=resource").await;
    assert_eq!(r["count"], 2);
    let (_, r) = t.get(&format!("/search?q=housing&community={other}")).await;
    assert_eq!(r["count"], 1);
    let (_, r) = t.get("/search?q=&topic=housing").await;
    assert_eq!(ids(&r), vec![res.clone()]);
    let (_, r) = t
        .get("/search?q=housing&kind=event&from=2030-01-01&to=2031-01-01")
        .await;
    assert_eq!(r["count"], 1, "the event, by its start date: {r}");
    let (_, r) = t.get("/search?q=nowhere+live").await;
    assert_eq!(r["hits"][0]["kind"], "consult");

    // An edit is searchable at once, and the old words stop matching.
    t.patch(
        &format!("/resources/{res}"),
        json!({ "title": "Supported tenancy fidelity guide" }),
    )
    .await;
    let (_, r) = t.get("/search?q=tenancy").await;
    assert_eq!(ids(&r), vec![res.clone()]);
    let (_, r) = t.get("/search?q=youth&kind=resource").await;
    assert_eq!(r["count"], 0, "the old title's words are gone: {r}");

    for bad in [
        "kind=video",
        "community=res_x",
        "from=May",
        "limit=0",
        "sort=new",
    ] {
        let (st, e) = t.get(&format!("/search?q=x&{bad}")).await;
        assert!(st.is_client_error(), "{bad}: {e}");
    }
    let (st, _) = t.get("/search?q=%22unbalanced%20AND%20(").await;
    assert_eq!(st, StatusCode::OK, "odd text never errors");
    t.node.shutdown().await;
}

#[tokio::test]
async fn names_in_private_names_txt_are_always_flagged() {
    // A family name that no list would know, and that reads like an ordinary word.
    let t = TestNode::start_with_private_names(Some("# our clients\nBirdwhistle\n")).await;
    let com = t.with_community().await;
    let (st, e) = t
        .post(
            "/consults",
            json!({ "community": com, "title": "Re-engagement", "question": "What helps?",
                    "situation": "The birdwhistle family have stopped answering the door." }),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(
        e["error"]["details"]["findings"][0]["matched"], "birdwhistle",
        "{e}"
    );
    t.node.shutdown().await;
}
