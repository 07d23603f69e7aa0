//! Home: my communities, upcoming events, consults awaiting replies, and what changed since my
//! last visit.

use copnet_protocol::DocKind;
use maud::{Markup, html};
use serde_json::Value;

use super::auth::Signed;
use super::layout::{self, Nav, Shell, text};
use super::{Names, State, WebResult, docs, events, my_entry};
use crate::replica::now_ms;
use crate::store::DocEntry;

/// How far ahead "upcoming" looks.
const AHEAD_MS: i64 = 45 * 24 * 3600 * 1000;
/// Rows per section.
const ROWS: usize = 8;

pub async fn page(axum::extract::State(s): State, who: Signed) -> WebResult<Markup> {
    let communities = docs(&s, DocKind::Community, None).await?;
    let resources = docs(&s, DocKind::Resource, None).await?;
    let consults = docs(&s, DocKind::Consult, None).await?;
    let evs = docs(&s, DocKind::Event, None).await?;
    let (mine, others): (Vec<&DocEntry>, Vec<&DocEntry>) = communities
        .iter()
        .partition(|c| my_entry(&s, &who, &c.view).is_some());
    let names = Names::of(&communities);

    let now = now_ms();
    let mut upcoming: Vec<events::Occ> = evs
        .iter()
        .flat_map(|e| events::occurrences(e, now, now + AHEAD_MS, ROWS, None))
        .filter(|o| !o.cancelled)
        .collect();
    upcoming.sort_by_key(|o| o.start_utc_ms);
    upcoming.truncate(ROWS);

    let mut awaiting: Vec<&DocEntry> = consults
        .iter()
        .filter(|c| text(&c.view, "status") == "open")
        .collect();
    awaiting.sort_by_key(|c| (c.view["reply_count"].as_u64().unwrap_or(0), c.created_at_ms));
    awaiting.truncate(ROWS);

    let since = who.since_ms;
    let mut changed: Vec<&DocEntry> = match since {
        Some(t) => resources
            .iter()
            .chain(&consults)
            .chain(&evs)
            .chain(&communities)
            .filter(|e| e.updated_at_ms > t)
            .collect(),
        None => vec![],
    };
    changed.sort_by_key(|e| std::cmp::Reverse(e.updated_at_ms));
    let changed_total = changed.len();
    changed.truncate(ROWS * 2);

    let body = html! {
        h1 { "Welcome, " (who.account.shown_name()) }
        @if s.replica.federation().is_none() {
            p.notice { "This node is not in a federation yet. "
                @if who.is_admin() { a href="/federation" { "Create one or join with an invite" } "." }
                @else { "An admin of this node can create one or join with an invite." } }
        }
        section aria-labelledby="changes-h" {
            h2 #changes-h { "What changed since your last visit" }
            div #changes data-live {
                @match since {
                    None => p.meta { "This is your first visit: everything is new. Start with your communities below." },
                    Some(t) => {
                        p.meta { (changed_total) " document" (if changed_total == 1 { "" } else { "s" })
                            " changed since " (layout::day(&crate::views::rfc3339(t))) "." }
                        @if !changed.is_empty() {
                            ul.cards { @for e in &changed { li.card { (link(e)) " " span.meta { "in " (names.name_of(&e.community.to_string())) " · by " (layout::org_of(&s, &e.creator.to_string())) } } } }
                        }
                    }
                }
            }
        }
        div.grid {
            section aria-labelledby="mine-h" {
                h2 #mine-h { "Your communities" }
                div #mine data-live {
                    @if mine.is_empty() {
                        p.meta { "You take part in no community yet. Joining one adds you to its people; posting there joins you too." }
                    }
                    ul.cards { @for c in &mine { li.card { (community_card(c)) } } }
                    @if !others.is_empty() {
                        h3 { "Other communities in the federation" }
                        ul.cards { @for c in &others { li.card { (community_card(c)) } } }
                    }
                }
            }
            section aria-labelledby="upcoming-h" {
                h2 #upcoming-h { "Upcoming events" }
                div #upcoming data-live {
                    @if upcoming.is_empty() { p.meta { "Nothing in the next six weeks." } }
                    ul.cards {
                        @for o in &upcoming {
                            li.card {
                                a href=(format!("/events?month={}#o-{}", o.local.format("%Y-%m"), o.anchor())) { (o.title) }
                                br;
                                span.meta { (o.when()) " · " (names.name_of(&o.community)) " · " (o.going) " going" }
                            }
                        }
                    }
                    p { a href="/events" { "All events" } }
                }
                h2 #awaiting-h { "Consults awaiting replies" }
                div #awaiting data-live {
                    @if awaiting.is_empty() { p.meta { "No open consults." } }
                    ul.cards {
                        @for c in &awaiting {
                            li.card {
                                a href=(format!("/consults/{}", c.id)) { (text(&c.view, "title")) }
                                br;
                                span.meta {
                                    (replies(&c.view)) " · " (names.name_of(&c.community.to_string()))
                                    " · from " (layout::org_of(&s, &c.creator.to_string()))
                                }
                            }
                        }
                    }
                    p { a href="/consults/new" { "Bring a case consult" } }
                }
            }
        }
    };
    Ok(layout::page(&Shell::new(&s, &who), Nav::Home, "Home", body))
}

fn replies(v: &Value) -> String {
    match v["reply_count"].as_u64().unwrap_or(0) {
        0 => "no replies yet".into(),
        1 => "1 reply".into(),
        n => format!("{n} replies"),
    }
}

fn community_card(c: &DocEntry) -> Markup {
    let v = &c.view;
    let by = |l: &str| v["people_by_level"][l].as_u64().unwrap_or(0);
    html! {
        a href=(format!("/communities/{}", c.id)) { (text(v, "name")) }
        br;
        span.meta {
            (by("core")) " core · " (by("active")) " active · " (by("peripheral")) " peripheral"
            @if !text(v, "rhythm").is_empty() { " · meets " (text(v, "rhythm")) }
        }
    }
}

/// A link to any document's page, with its kind.
pub fn link(e: &DocEntry) -> Markup {
    let v = &e.view;
    let (kind, href, title) = match e.id.kind() {
        DocKind::Community => (
            "Community",
            format!("/communities/{}", e.id),
            text(v, "name"),
        ),
        DocKind::Resource => (
            "Resource",
            format!("/library?community={}#r-{}", e.community, e.id),
            text(v, "title"),
        ),
        DocKind::Consult => ("Consult", format!("/consults/{}", e.id), text(v, "title")),
        DocKind::Event => ("Event", "/events".to_owned(), text(v, "title")),
        _ => ("Document", "/".to_owned(), text(v, "title")),
    };
    html! { span.badge.muted { (kind) } " " a href=(href) { (title) } }
}
