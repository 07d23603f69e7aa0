//! A community's page (charter, people by participation level, repertoire, rhythm), and the
//! resource library with search and filters.

use std::collections::BTreeSet;

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use copnet_protocol::DocKind;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use super::auth::{Posted, Signed};
use super::layout::{self, Nav, Shell, strings, text};
use super::{
    CommunityQuery, DoneQuery, State, WebError, WebResult, communities, doc, docs, my_entry,
    my_person, page_of, pager, see,
};
use crate::api::{ApiError, ApiState, blocking};
use crate::replica::{NewResource, parse_id};

/// Resource kinds, as the library offers them.
const KINDS: &[(&str, &str)] = &[
    ("tool", "Tool"),
    ("policy", "Policy or procedure"),
    ("program-model", "Program model"),
    ("research", "Research"),
    ("training", "Training or webinar"),
    ("template", "Template"),
];

fn kind_label(k: &str) -> &str {
    KINDS
        .iter()
        .find(|(v, _)| *v == k)
        .map(|(_, l)| *l)
        .unwrap_or(k)
}

pub async fn page(
    axum::extract::State(s): State,
    who: Signed,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> WebResult<Markup> {
    let c = doc(&s, &id, DocKind::Community).await?;
    let v = &c.view;
    let resources = docs(&s, DocKind::Resource, Some(c.id)).await?;
    let consults = docs(&s, DocKind::Consult, Some(c.id)).await?;
    let evs = docs(&s, DocKind::Event, Some(c.id)).await?;
    let people: Vec<&Value> = v["people"]
        .as_array()
        .map(|a| a.iter().filter(|p| p["left_at"].is_null()).collect())
        .unwrap_or_default();
    let i_am_in = my_entry(&s, &who, v).is_some();
    let list_of = |label: &str, items: Vec<String>| {
        html! {
            @if !items.is_empty() {
                h3 { (label) }
                ul { @for i in &items { li { (i) } } }
            }
        }
    };
    let now = crate::replica::now_ms();
    let mut next: Vec<super::events::Occ> = evs
        .iter()
        .flat_map(|e| super::events::occurrences(e, now, i64::MAX, 3, None))
        .filter(|o| !o.cancelled)
        .collect();
    next.sort_by_key(|o| o.start_utc_ms);
    next.truncate(5);
    let name = text(v, "name").to_owned();
    let body = html! {
        (layout::notice(q.done.as_deref()))
        h1 { (name) }
        @if !i_am_in {
            form.inline method="post" action=(format!("/communities/{}/join", c.id)) {
                input type="hidden" name="_csrf" value=(who.csrf);
                button type="submit" { "Join this community" }
                span.meta { "as " (who.account.shown_name()) ", a peripheral member: reading is taking part too." }
            }
        }
        div.grid {
            section aria-labelledby="charter-h" {
                h2 #charter-h { "Charter" }
                @if !text(v, "purpose").is_empty() { (layout::paragraphs(text(v, "purpose"))) }
                @if !text(v, "domain").is_empty() { p { strong { "Domain: " } (text(v, "domain")) } }
                @if !text(v, "practice_focus").is_empty() { p { strong { "Practice focus: " } (text(v, "practice_focus")) } }
                @if !text(v, "audience_description").is_empty() { p { strong { "For: " } (text(v, "audience_description")) } }
                (list_of("Goals", strings(v, "goals")))
                (list_of("Outcomes we look for", strings(v, "outcomes")))
                (list_of("Stakeholders", strings(v, "stakeholders")))
                @if !strings(v, "topics").is_empty() { p.meta { "Topics: " (strings(v, "topics").join(", ")) } }
                h2 { "Rhythm" }
                p { @if text(v, "rhythm").is_empty() { "No rhythm set yet." } @else { "Meets " (text(v, "rhythm")) "." } }
                @if !next.is_empty() {
                    ul { @for o in &next { li { (o.title) " — " (o.when()) } } }
                }
                p { a href=(format!("/events?community={}", c.id)) { "This community’s events" } }
            }
            section #people data-live aria-labelledby="people-h" {
                h2 #people-h { "People (" (people.len()) ")" }
                @for (level, label) in [("core", "Core"), ("active", "Active"), ("peripheral", "Peripheral")] {
                    @let here: Vec<&&Value> = people.iter().filter(|p| p["level"] == level).collect();
                    h3 { (label) " (" (here.len()) ")" }
                    @if here.is_empty() { p.meta { "No one yet." } }
                    ul {
                        @for p in &here {
                            li {
                                (text(p, "name")) " · " span.meta { (layout::org_of(&s, text(p, "node"))) }
                                @if p["steward"] == true { " " span.badge.ok { "steward" } }
                            }
                        }
                    }
                }
            }
        }
        section #repertoire data-live aria-labelledby="rep-h" {
            h2 #rep-h { "Repertoire" }
            div.grid {
                div {
                    h3 { "Resources (" (resources.len()) ")" }
                    ul { @for r in resources.iter().take(10) { li { a href=(format!("/library?community={}#r-{}", c.id, r.id)) { (text(&r.view, "title")) } " " span.meta { (kind_label(text(&r.view, "kind"))) } } } }
                    p { a href=(format!("/library?community={}", c.id)) { "The whole library of this community" } }
                }
                div {
                    h3 { "Case consults (" (consults.len()) ")" }
                    ul { @for x in consults.iter().take(10) { li { a href=(format!("/consults/{}", x.id)) { (text(&x.view, "title")) } " " span.meta { (text(&x.view, "status")) } } } }
                    p { a href=(format!("/consults/new?community={}", c.id)) { "Bring a case consult here" } }
                }
            }
        }
    };
    Ok(layout::page(&Shell::new(&s, &who), Nav::Home, &name, body))
}

#[derive(Deserialize)]
pub struct Nothing {}

pub async fn join(
    axum::extract::State(s): State,
    Path(id): Path<String>,
    posted: Posted<Nothing>,
) -> WebResult {
    let c = parse_id(&id, DocKind::Community).map_err(|e| ApiError::not_found(e.0))?;
    // Joining from the page is a statement of interest: peripheral, until they take part.
    let r = s.replica.clone();
    let name = posted.who.account.shown_name().to_owned();
    let target = id.clone();
    let joined = blocking(move || {
        r.join_community(
            &target,
            crate::replica::NewPerson {
                name,
                level: Some("peripheral".into()),
                ..Default::default()
            },
        )
    })
    .await;
    if let Err(e) = joined {
        // Already in (e.g. from another tab): that is what they wanted.
        my_person(&s, &posted.who, c)
            .await
            .map_err(|_| WebError(e))?;
    }
    Ok(see(&format!(
        "/communities/{c}?done=You+joined+this+community."
    )))
}

#[derive(Deserialize)]
pub struct LibraryQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    community: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    topic: String,
    done: Option<String>,
    page: Option<usize>,
}

/// The search's snippet, with its «matched» words marked.
fn snippet(t: &str) -> Markup {
    html! {
        @for (i, part) in t.split(['«', '»']).enumerate() {
            @if i % 2 == 1 { mark { (part) } } @else { (part) }
        }
    }
}

pub async fn library(
    axum::extract::State(s): State,
    who: Signed,
    Query(q): Query<LibraryQuery>,
) -> WebResult<Markup> {
    let community = (!q.community.is_empty())
        .then(|| parse_id(&q.community, DocKind::Community))
        .transpose()
        .map_err(|e| ApiError::invalid(e.0))?;
    if q.q.chars().count() > 500 {
        return Err(ApiError::invalid("search text is longer than 500 characters").into());
    }
    let all = docs(&s, DocKind::Resource, community).await?;
    let topics: BTreeSet<String> = all
        .iter()
        .flat_map(|r| strings(&r.view, "topics"))
        .collect();
    let keep = |r: &crate::store::DocEntry| {
        (q.kind.is_empty() || text(&r.view, "kind") == q.kind)
            && (q.topic.is_empty() || strings(&r.view, "topics").contains(&q.topic))
    };
    // With search text: in order of relevance, with the matching passage.
    let shown: Vec<(&crate::store::DocEntry, Option<String>)> = if q.q.trim().is_empty() {
        all.iter().filter(|r| keep(r)).map(|r| (r, None)).collect()
    } else {
        let query = crate::search::Query {
            text: q.q.clone(),
            kinds: vec!["resource".into()],
            community: community.map(|c| c.to_string()),
            topic: (!q.topic.is_empty()).then(|| q.topic.to_lowercase()),
            limit: crate::search::MAX_LIMIT,
            ..Default::default()
        };
        let r = s.replica.clone();
        let hits = blocking(move || {
            r.search(&query)
                .map_err(|e| ApiError::invalid(format!("search failed: {e}")))
        })
        .await?;
        let by_id: std::collections::HashMap<String, &crate::store::DocEntry> =
            all.iter().map(|r| (r.id.to_string(), r)).collect();
        hits.into_iter()
            .filter_map(|h| {
                let e = *by_id.get(&h.id)?;
                keep(e).then_some((e, Some(h.snippet)))
            })
            .collect()
    };
    let names = communities(&s).await?;
    let page = q.page.unwrap_or(1).max(1);
    let pager_here = pager(
        "/library",
        &[
            ("q", &q.q),
            ("community", &q.community),
            ("kind", &q.kind),
            ("topic", &q.topic),
        ],
        shown.len(),
        page,
    );
    let body = html! {
        h1 { "Resource library" }
        (layout::notice(q.done.as_deref()))
        p { "Tools, policies and procedures, program models, research and trainings the federation’s communities share. "
            a href=(format!("/library/new{}", if q.community.is_empty() { String::new() } else { format!("?community={}", q.community) })) { "Add a resource" } }
        form.filters method="get" action="/library" role="search" {
            label { "Search" input type="search" name="q" value=(q.q) placeholder="e.g. housing first"; }
            label { "Community"
                select name="community" {
                    option value="" { "All communities" }
                    @for (id, n) in names.iter() { option value=(id) selected[q.community == *id] { (n) } }
                }
            }
            label { "Kind"
                select name="kind" {
                    option value="" { "Any kind" }
                    @for (v, l) in KINDS { option value=(v) selected[q.kind == *v] { (l) } }
                }
            }
            label { "Topic"
                select name="topic" {
                    option value="" { "Any topic" }
                    @for t in &topics { option value=(t) selected[q.topic == *t] { (t) } }
                }
            }
            button type="submit" { "Search" }
        }
        div #library data-live {
            p.meta role="status" { (shown.len()) " resource" (if shown.len() == 1 { "" } else { "s" }) }
            (pager_here)
            ul.cards {
                @for (r, snip) in page_of(&shown, page) {
                    @let v = &r.view;
                    li.card id=(format!("r-{}", r.id)) {
                        h2 { @if let Some(href) = layout::safe_href(text(v, "url")) { a href=(href) rel="noopener noreferrer" { (text(v, "title")) } } @else { (text(v, "title")) } }
                        p.meta {
                            span.badge.muted { (kind_label(text(v, "kind"))) } " "
                            (names.name_of(&r.community.to_string())) " · from " (layout::org_of(&s, &r.creator.to_string()))
                            " · updated " (layout::day(text(v, "updated_at")))
                            @if !text(v, "review_by").is_empty() { " · review by " (text(v, "review_by")) }
                        }
                        @if let Some(sn) = snip { p { (snippet(sn)) } } @else if !text(v, "summary").is_empty() { p { (text(v, "summary")) } }
                        @if !strings(v, "topics").is_empty() { p.meta { "Topics: " (strings(v, "topics").join(", ")) } }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        &Shell::new(&s, &who),
        Nav::Library,
        "Resource library",
        body,
    ))
}

#[derive(Deserialize, Default, Clone)]
pub struct ResourceForm {
    #[serde(default)]
    community: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    topics: String,
}

pub async fn new_resource(
    axum::extract::State(s): State,
    who: Signed,
    Query(q): Query<CommunityQuery>,
) -> WebResult<Markup> {
    let f = ResourceForm {
        community: q.community.unwrap_or_default(),
        ..Default::default()
    };
    resource_form(&s, &who, &f, None).await
}

async fn resource_form(
    s: &ApiState,
    who: &Signed,
    f: &ResourceForm,
    error: Option<&str>,
) -> WebResult<Markup> {
    let names = communities(s).await?;
    let body = html! {
        h1 { "Add a resource" }
        @if let Some(e) = error { p.notice.error role="alert" { (e) } }
        form.stack method="post" action="/library" {
            input type="hidden" name="_csrf" value=(who.csrf);
            label for="community" { "Community" }
            select id="community" name="community" required {
                option value="" { "Choose a community" }
                @for (id, n) in names.iter() { option value=(id) selected[f.community == *id] { (n) } }
            }
            label for="title" { "Title" }
            input type="text" id="title" name="title" value=(f.title) required;
            label for="kind" { "Kind" }
            select id="kind" name="kind" required {
                @for (v, l) in KINDS { option value=(v) selected[f.kind == *v] { (l) } }
            }
            label for="summary" { "Summary " span.meta { "(optional)" } }
            textarea id="summary" name="summary" { (f.summary) }
            label for="url" { "Link " span.meta { "(optional)" } }
            input type="text" id="url" name="url" value=(f.url) inputmode="url" placeholder="https://";
            label for="topics" { "Topics " span.meta { "(optional, separated by commas)" } }
            input type="text" id="topics" name="topics" value=(f.topics);
            button type="submit" { "Add to the library" }
        }
    };
    Ok(layout::page(
        &Shell::new(s, who),
        Nav::Library,
        "Add a resource",
        body,
    ))
}

pub async fn add_resource(
    axum::extract::State(s): State,
    posted: Posted<ResourceForm>,
) -> WebResult<Response> {
    let (who, f) = (posted.who, posted.form);
    let Ok(community) = parse_id(&f.community, DocKind::Community) else {
        let page = resource_form(
            &s,
            &who,
            &f,
            Some("Not added: choose the community it belongs to."),
        )
        .await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let person = my_person(&s, &who, community).await?;
    let opt = |t: &str| (!t.trim().is_empty()).then(|| t.trim().to_owned());
    let input = NewResource {
        community: f.community.clone(),
        title: f.title.clone(),
        kind: f.kind.clone(),
        summary: opt(&f.summary),
        url: opt(&f.url),
        topics: f
            .topics
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        person: Some(person),
        ..Default::default()
    };
    let r = s.replica.clone();
    match blocking(move || r.add_resource(input)).await {
        Ok(e) => Ok(see(&format!(
            "/library?community={}&done=Added+to+the+library.#r-{}",
            e.community, e.id
        ))),
        Err(e) if e.status.is_client_error() => {
            let msg = format!("Not added: {}", e.message);
            let page = resource_form(&s, &who, &f, Some(&msg)).await?;
            Ok((e.status, page).into_response())
        }
        Err(e) => Err(WebError(e)),
    }
}
