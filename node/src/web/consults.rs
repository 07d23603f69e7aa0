//! Case consults: the list, composing one with the de-identification gate shown inline, and the
//! thread with its replies.

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use copnet_protocol::{DocId, DocKind};
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::{Posted, Signed};
use super::layout::{self, Nav, Shell, text};
use super::{
    CommunityQuery, State, WebError, WebResult, communities, doc, docs, my_person, page_of, pager,
    see,
};
use crate::api::{ApiState, blocking};
use crate::replica::{FieldFinding, NewConsult, NewReply, ReplicaError, parse_id};

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    community: Option<String>,
    page: Option<usize>,
}

pub async fn list_page(s: &ApiState, who: &Signed, q: ListQuery) -> WebResult<Markup> {
    let community = q
        .community
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(|c| parse_id(c, DocKind::Community))
        .transpose()
        .map_err(|e| crate::api::ApiError::invalid(e.0))?;
    let status = q.status.clone().filter(|st| !st.is_empty());
    let mut all = docs(s, DocKind::Consult, community).await?;
    if let Some(st) = &status {
        all.retain(|c| text(&c.view, "status") == st);
    }
    let names = communities(s).await?;
    let page = q.page.unwrap_or(1).max(1);
    let body = html! {
        h1 { "Case consults" }
        p { a.button href="/consults/new" { "Bring a case consult" } }
        form.filters method="get" action="/consults" {
            label { "Community"
                select name="community" {
                    option value="" { "All communities" }
                    @for (id, n) in names.iter() {
                        option value=(id) selected[q.community.as_deref() == Some(id.as_str())] { (n) }
                    }
                }
            }
            label { "Status"
                select name="status" {
                    option value="" { "Any" }
                    @for st in ["open", "answered", "closed"] {
                        option value=(st) selected[status.as_deref() == Some(st)] { (st) }
                    }
                }
            }
            button.secondary type="submit" { "Filter" }
        }
        div #consults data-live {
            p.meta { (all.len()) " consult" (if all.len() == 1 { "" } else { "s" }) }
            (pager("/consults", &[("community", q.community.as_deref().unwrap_or("")), ("status", status.as_deref().unwrap_or(""))], all.len(), page))
            ul.cards {
                @for c in page_of(&all, page) {
                    li.card {
                        a href=(format!("/consults/{}", c.id)) { (text(&c.view, "title")) }
                        " " (status_badge(text(&c.view, "status")))
                        br;
                        span.meta {
                            (text(&c.view, "question"))
                        }
                        br;
                        span.meta {
                            (c.view["reply_count"].as_u64().unwrap_or(0)) " replies · "
                            (names.name_of(&c.community.to_string())) " · from " (layout::org_of(s, &c.creator.to_string()))
                            " · " (layout::day(text(&c.view, "created_at")))
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        &Shell::new(s, who),
        Nav::Consults,
        "Case consults",
        body,
    ))
}

pub async fn index(
    axum::extract::State(s): State,
    who: Signed,
    Query(q): Query<ListQuery>,
) -> WebResult<Markup> {
    list_page(&s, &who, q).await
}

fn status_badge(st: &str) -> Markup {
    let class = match st {
        "open" => "warn",
        "answered" => "ok",
        _ => "muted",
    };
    html! { span class=(format!("badge {class}")) { (st) } }
}

/// A consult being written: every field optional, so that a half-filled form can be checked.
#[derive(Deserialize, Default, Clone)]
pub struct Draft {
    #[serde(default)]
    community: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    question: String,
    #[serde(default)]
    situation: String,
    #[serde(default)]
    background: String,
    #[serde(default)]
    assessment: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    attest: String,
    /// For a reply: the consult it answers, and its text.
    #[serde(default)]
    consult: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    kind: String,
}

impl Draft {
    fn parts(&self) -> Vec<(&'static str, String)> {
        [
            ("title", &self.title),
            ("question", &self.question),
            ("situation", &self.situation),
            ("background", &self.background),
            ("assessment", &self.assessment),
            ("request", &self.request),
            ("reply", &self.text),
        ]
        .into_iter()
        .filter(|(_, t)| !t.trim().is_empty())
        .map(|(f, t)| (f, t.clone()))
        .collect()
    }
}

/// The community a draft is written in: the consult's, for a reply.
async fn community_of(s: &ApiState, d: &Draft) -> WebResult<DocId> {
    if !d.consult.trim().is_empty() {
        return Ok(doc(s, &d.consult, DocKind::Consult).await?.community);
    }
    Ok(parse_id(&d.community, DocKind::Community)
        .map_err(|_| crate::api::ApiError::invalid("choose the community the consult is for"))?)
}

/// Runs the gate on a draft: the findings, or none. An attestation does not hide findings.
async fn gate(s: &ApiState, community: DocId, d: &Draft) -> WebResult<Vec<FieldFinding>> {
    let r = s.replica.clone();
    let parts = d.parts();
    let found = blocking(move || {
        let c = r.community(&community)?;
        let borrowed: Vec<(&str, &str)> = parts.iter().map(|(f, t)| (*f, t.as_str())).collect();
        match r.screen(&c, &borrowed, None) {
            Ok(_) => Ok(vec![]),
            Err(ReplicaError::Identifying(refusal)) => Ok(refusal.findings),
            Err(e) => Err(e),
        }
    })
    .await?;
    Ok(found)
}

/// The gate's panel: what could identify someone, field by field, and how to fix it.
fn gate_panel(findings: &[FieldFinding], checked: bool) -> Markup {
    html! {
        @if findings.is_empty() {
            @if checked {
                div.gate.clear { p { strong { "De-identification check: nothing found." } " Still read it once more as the young person’s family would." } }
            } @else {
                div.gate.clear { p { "The de-identification gate checks what you write for names, dates of birth, addresses, phone numbers, small places and other details that could identify someone." } }
            }
        } @else {
            div.gate {
                p { strong { "The de-identification gate found " (findings.len()) " detail" (if findings.len() == 1 { "" } else { "s" }) " that could identify someone." }
                    " Rewrite them (roles like “the young person”, age ranges, “a regional town”), or, if you are sure they identify no one, say what you checked below." }
                ul {
                    @for f in findings {
                        li { strong { (f.field) } ": " mark { (f.finding.matched) } " — " (f.finding.why) }
                    }
                }
            }
        }
    }
}

/// The live check while composing (the script posts the form here as you type).
pub async fn check(axum::extract::State(s): State, posted: Posted<Draft>) -> WebResult<Markup> {
    if posted.form.community.trim().is_empty() && posted.form.consult.trim().is_empty() {
        return Ok(gate_panel(&[], false));
    }
    let community = community_of(&s, &posted.form).await?;
    let findings = gate(&s, community, &posted.form).await?;
    Ok(gate_panel(&findings, true))
}

pub async fn compose(
    axum::extract::State(s): State,
    who: Signed,
    Query(q): Query<CommunityQuery>,
) -> WebResult<Markup> {
    let draft = Draft {
        community: q.community.unwrap_or_default(),
        ..Default::default()
    };
    compose_page(&s, &who, &draft, &[], None).await
}

async fn compose_page(
    s: &ApiState,
    who: &Signed,
    d: &Draft,
    findings: &[FieldFinding],
    error: Option<&str>,
) -> WebResult<Markup> {
    let names = communities(s).await?;
    let field = |id: &'static str,
                 label: &'static str,
                 hint: &'static str,
                 value: &str,
                 long: bool,
                 required: bool| {
        let hint_id = format!("{id}-hint");
        html! {
            label for=(id) { (label) @if !required { " " span.meta { "(optional)" } } }
            @if !hint.is_empty() { span.hint id=(hint_id) { (hint) } }
            @if long {
                textarea id=(id) name=(id) required[required] aria-describedby=[(!hint.is_empty()).then_some(&hint_id)] { (value) }
            } @else {
                input type="text" id=(id) name=(id) value=(value) required[required] aria-describedby=[(!hint.is_empty()).then_some(&hint_id)];
            }
        }
    };
    let body = html! {
        h1 { "Bring a case consult" }
        p { "Describe a de-identified case and the one question you want help with. Peers reply; afterwards you summarise what helped." }
        @if let Some(e) = error { p.notice.error role="alert" { (e) } }
        div.grid {
            form.stack method="post" action="/consults" data-gate {
                input type="hidden" name="_csrf" value=(who.csrf);
                label for="community" { "Community" }
                select id="community" name="community" required {
                    option value="" { "Choose a community" }
                    @for (id, n) in names.iter() {
                        option value=(id) selected[d.community == *id] { (n) }
                    }
                }
                (field("title", "Title", "A few words: what the consult is about.", &d.title, false, true))
                (field("question", "Key question", "The one question you want peers to answer.", &d.question, false, true))
                (field("situation", "Situation", "What is happening now, without names, exact dates or places.", &d.situation, true, true))
                (field("background", "Background", "", &d.background, true, false))
                (field("assessment", "Your assessment", "", &d.assessment, true, false))
                (field("request", "What would help", "", &d.request, true, false))
                label for="attest" { "If the gate flags something that identifies no one, say what you checked" " " span.meta { "(optional)" } }
                input type="text" id="attest" name="attest" value=(d.attest) aria-describedby="attest-hint";
                span.hint id="attest-hint" { "For example: “checked with my supervisor; these are a public service’s names”." }
                button type="submit" { "Publish to the community" }
            }
            aside aria-labelledby="gate-h" {
                h2 #gate-h { "De-identification check" }
                div #gate aria-live="polite" { (gate_panel(findings, !findings.is_empty())) }
            }
        }
    };
    Ok(layout::page(
        &Shell::new(s, who),
        Nav::Consults,
        "Bring a case consult",
        body,
    ))
}

pub async fn publish(axum::extract::State(s): State, posted: Posted<Draft>) -> WebResult<Response> {
    let (who, d) = (posted.who, posted.form);
    let missing: Vec<&str> = [
        ("community", &d.community),
        ("title", &d.title),
        ("key question", &d.question),
        ("situation", &d.situation),
    ]
    .into_iter()
    .filter(|(_, v)| v.trim().is_empty())
    .map(|(n, _)| n)
    .collect();
    if !missing.is_empty() {
        let msg = format!("Not published: fill in the {}.", missing.join(", "));
        let page = compose_page(&s, &who, &d, &[], Some(&msg)).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let community = community_of(&s, &d).await?;
    let findings = gate(&s, community, &d).await?;
    if !findings.is_empty() && d.attest.trim().is_empty() {
        let msg = "Not published: the de-identification gate found details that could identify someone. They are listed beside the form.";
        let page = compose_page(&s, &who, &d, &findings, Some(msg)).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let person = my_person(&s, &who, community).await?;
    let opt = |t: &str| (!t.trim().is_empty()).then(|| t.to_owned());
    let input = NewConsult {
        community: d.community.clone(),
        title: d.title.clone(),
        question: d.question.clone(),
        situation: d.situation.clone(),
        background: opt(&d.background),
        assessment: opt(&d.assessment),
        request: opt(&d.request),
        attest: opt(&d.attest),
        person: Some(person),
        ..Default::default()
    };
    let r = s.replica.clone();
    match blocking(move || r.open_consult(input)).await {
        Ok(entry) => Ok(see(&format!("/consults/{}", entry.id))),
        Err(e) if e.status.is_client_error() => {
            let msg = format!("Not published: {}", e.message);
            let page = compose_page(&s, &who, &d, &findings, Some(&msg)).await?;
            Ok((e.status, page).into_response())
        }
        Err(e) => Err(WebError(e)),
    }
}

pub async fn thread(
    axum::extract::State(s): State,
    who: Signed,
    Path(id): Path<String>,
) -> WebResult<Markup> {
    thread_page(&s, &who, &id, &Draft::default(), &[], None).await
}

async fn thread_page(
    s: &ApiState,
    who: &Signed,
    id: &str,
    draft: &Draft,
    findings: &[FieldFinding],
    error: Option<&str>,
) -> WebResult<Markup> {
    let c = doc(s, id, DocKind::Consult).await?;
    let community = doc(s, &c.community.to_string(), DocKind::Community)
        .await
        .ok();
    let cv = community.as_ref().map(|e| &e.view);
    let v = &c.view;
    let person = |p: &serde_json::Value| {
        p.as_str()
            .and_then(|p| layout::person_name(cv, p))
            .unwrap_or_else(|| "someone".into())
    };
    let section = |label: &str, field: &str| {
        html! {
            @if !text(v, field).is_empty() {
                h3 { (label) }
                (layout::paragraphs(text(v, field)))
            }
        }
    };
    let closed = text(v, "status") == "closed";
    // Only the presenting organisation moves its consult through its lifecycle.
    let presenting = c.creator == s.replica.node_id();
    let title = text(v, "title").to_owned();
    let body = html! {
        p.meta { a href="/consults" { "Case consults" } " › "
            @if let Some(cv) = cv { a href=(format!("/communities/{}", c.community)) { (text(cv, "name")) } } }
        h1 { (title) " " (status_badge(text(v, "status"))) }
        p.meta {
            "Presented by " (person(&v["presenter"])) " · " (layout::org_of(s, &c.creator.to_string()))
            " · " (layout::day(text(v, "created_at")))
            @if !text(v, "follow_up_on").is_empty() { " · follow-up on " (text(v, "follow_up_on")) }
        }
        div.card {
            h2 { "Key question" }
            p { strong { (text(v, "question")) } }
            (section("Situation", "situation"))
            (section("Background", "background"))
            (section("Assessment", "assessment"))
            (section("What would help", "request"))
        }
        div #thread data-live {
            @if !text(v, "presenter_summary").is_empty() {
                h2 { "What helped, in the presenter’s words" }
                div.card { (layout::paragraphs(text(v, "presenter_summary"))) }
            }
            h2 { "Replies (" (v["reply_count"].as_u64().unwrap_or(0)) ")" }
            @if v["replies"].as_array().is_none_or(Vec::is_empty) { p.meta { "No replies yet. Yours could be the first." } }
            ol.replies {
                @for r in v["replies"].as_array().into_iter().flatten() {
                    li.reply.clarifying[r["kind"] == "clarifying"] {
                        p.meta {
                            strong { (person(&r["person"])) } " · " (layout::org_of(s, text(r, "author")))
                            " · " (layout::day(text(r, "created_at")))
                            @if r["kind"] == "clarifying" { " · " span.badge.warn { "clarifying question" } }
                        }
                        (layout::paragraphs(text(r, "text")))
                    }
                }
            }
        }
        @if presenting && !closed {
            details open[text(v, "presenter_summary").is_empty() && v["reply_count"].as_u64().unwrap_or(0) > 0] {
                summary { "Summarise what helped (presenting organisation)" }
                form.stack method="post" action=(format!("/consults/{}/answer", c.id)) {
                    input type="hidden" name="_csrf" value=(who.csrf);
                    label for="summary" { "What helped, in your words" }
                    span.hint id="summary-hint" { "Peers see this; it moves the consult to answered. The gate checks it too." }
                    textarea id="summary" name="summary" required aria-describedby="summary-hint" { (text(v, "presenter_summary")) }
                    label for="summary-attest" { "If the gate flags something that identifies no one, say what you checked " span.meta { "(optional)" } }
                    input type="text" id="summary-attest" name="attest";
                    button type="submit" { "Save the summary" }
                }
            }
        }
        @if closed {
            p.notice { "This consult is closed; it takes no more replies." }
        } @else {
            h2 #reply-h { "Reply" }
            @if let Some(e) = error { p.notice.error role="alert" { (e) } }
            div.grid {
                form.stack method="post" action=(format!("/consults/{}/replies", c.id)) data-gate aria-labelledby="reply-h" {
                    input type="hidden" name="_csrf" value=(who.csrf);
                    input type="hidden" name="consult" value=(c.id.to_string());
                    fieldset {
                        legend { "Kind of reply" }
                        label { input type="radio" name="kind" value="idea" checked[draft.kind != "clarifying"]; " An idea or experience" }
                        br;
                        label { input type="radio" name="kind" value="clarifying" checked[draft.kind == "clarifying"]; " A clarifying question" }
                    }
                    label for="text" { "Your reply" }
                    textarea id="text" name="text" required { (draft.text) }
                    label for="attest" { "If the gate flags something that identifies no one, say what you checked " span.meta { "(optional)" } }
                    input type="text" id="attest" name="attest" value=(draft.attest);
                    button type="submit" { "Post reply" }
                }
                aside aria-label="De-identification check" {
                    div #gate aria-live="polite" { (gate_panel(findings, !findings.is_empty())) }
                }
            }
        }
    };
    Ok(layout::page(
        &Shell::new(s, who),
        Nav::Consults,
        &title,
        body,
    ))
}

#[derive(Deserialize)]
pub struct AnswerForm {
    summary: String,
    #[serde(default)]
    attest: String,
}

/// The presenter's summary of what helped: the consult becomes answered.
pub async fn answer(
    axum::extract::State(s): State,
    Path(id): Path<String>,
    posted: Posted<AnswerForm>,
) -> WebResult<Response> {
    let f = posted.form;
    let input = crate::replica::ConsultAnswer {
        summary: f.summary,
        attest: (!f.attest.trim().is_empty()).then_some(f.attest),
        ..Default::default()
    };
    let r = s.replica.clone();
    let target = id.clone();
    match blocking(move || r.answer_consult(&target, input)).await {
        Ok(entry) => Ok(see(&format!("/consults/{}#thread", entry.id))),
        Err(e) if e.status.is_client_error() => {
            // The gate's refusal names what it found in its message.
            let msg = format!("The summary was not saved: {}", e.message);
            let page =
                thread_page(&s, &posted.who, &id, &Draft::default(), &[], Some(&msg)).await?;
            Ok((e.status, page).into_response())
        }
        Err(e) => Err(WebError(e)),
    }
}

pub async fn reply(
    axum::extract::State(s): State,
    Path(id): Path<String>,
    posted: Posted<Draft>,
) -> WebResult<Response> {
    let (who, mut d) = (posted.who, posted.form);
    d.consult = id.clone();
    if d.text.trim().is_empty() {
        let page = thread_page(
            &s,
            &who,
            &id,
            &d,
            &[],
            Some("Not posted: write your reply first."),
        )
        .await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let community = community_of(&s, &d).await?;
    let findings = gate(&s, community, &d).await?;
    if !findings.is_empty() && d.attest.trim().is_empty() {
        let msg = "Not posted: the de-identification gate found details that could identify someone. They are listed beside the form.";
        let page = thread_page(&s, &who, &id, &d, &findings, Some(msg)).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let person = my_person(&s, &who, community).await?;
    let input = NewReply {
        text: d.text.clone(),
        kind: (!d.kind.is_empty()).then(|| d.kind.clone()),
        attest: (!d.attest.trim().is_empty()).then(|| d.attest.clone()),
        person: Some(person),
    };
    let r = s.replica.clone();
    let target = id.clone();
    match blocking(move || r.reply_consult(&target, input)).await {
        Ok(entry) => Ok(see(&format!("/consults/{}#thread", entry.id))),
        Err(e) if e.status.is_client_error() => {
            let msg = format!("Not posted: {}", e.message);
            let page = thread_page(&s, &who, &id, &d, &findings, Some(&msg)).await?;
            Ok((e.status, page).into_response())
        }
        Err(e) => Err(WebError(e)),
    }
}
