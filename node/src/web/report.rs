//! The facilitator report of a community, with charts drawn on the server as SVG: activity over
//! time, participation levels, and who is missing. Every chart has its numbers in a table
//! beside it, for screen readers and for anyone who prefers numbers. The small-number rule
//! applies to the charts as to the numbers: a count from 1 to 4 is drawn as "<5", at one size.

use axum::extract::Query;
use copnet_protocol::DocKind;
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use super::auth::Signed;
use super::layout::{self, Nav, Shell};
use super::{State, WebResult, communities};
use crate::api::{ApiError, blocking};
use crate::report::{self, Count};

#[derive(Deserialize)]
pub struct ReportQuery {
    #[serde(default)]
    community: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
}

/// Colours of the activity series; each has 3:1 contrast or more against white (WCAG 1.4.11).
const SERIES: [(&str, &str); 4] = [
    ("Consults", "#0b5394"),
    ("Replies", "#b45309"),
    ("Resources", "#1e6b36"),
    ("Attendance", "#6b21a8"),
];

/// The height drawn for a count shown as "<5".
const SMALL: f64 = 2.5;

fn drawn(c: Count) -> f64 {
    if c.0 > 0 && c.0 < copnet_protocol::docs::SMALL_NUMBER {
        SMALL
    } else {
        c.0 as f64
    }
}

pub async fn page(
    axum::extract::State(s): State,
    who: Signed,
    Query(q): Query<ReportQuery>,
) -> WebResult<Markup> {
    who.require_facilitator()?;
    let names = communities(&s).await?;
    let chosen = if q.community.is_empty() {
        names.first().map(|(id, _)| id.clone())
    } else {
        crate::replica::parse_id(&q.community, DocKind::Community)
            .map_err(|e| ApiError::invalid(e.0))?;
        Some(q.community.clone())
    };
    let date = |field: &str, v: &str| {
        (!v.is_empty())
            .then(|| crate::validate::date(field, v).map_err(|e| ApiError::invalid(e.0)))
            .transpose()
    };
    let (since, until) = report::checked_period(
        date("from", &q.since)?,
        date("to", &q.until)?,
        crate::replica::now_ms(),
    )
    .map_err(ApiError::invalid)?;
    let rep = match &chosen {
        Some(id) => {
            let (r, id) = (s.replica.clone(), id.clone());
            Some(blocking(move || r.report(&id, since, until)).await?)
        }
        None => None,
    };
    let body = html! {
        h1 { "Facilitator report" }
        form.filters method="get" action="/report" {
            label { "Community"
                select name="community" {
                    @for (id, n) in names.iter() { option value=(id) selected[chosen.as_deref() == Some(id.as_str())] { (n) } }
                }
            }
            label { "From" input type="date" name="since" value=(q.since); }
            label { "To" input type="date" name="until" value=(q.until); }
            button type="submit" { "Show" }
        }
        @match &rep {
            None => p { "There is no community on this node yet." },
            Some(rep) => (render(rep, &chosen.clone().unwrap_or_default())),
        }
    };
    Ok(layout::page(
        &Shell::new(&s, &who),
        Nav::Report,
        "Facilitator report",
        body,
    ))
}

fn render(rep: &report::Report, id: &str) -> Markup {
    html! {
        h2 { (rep.name) }
        p.meta { (layout::day(&rep.since)) " to " (layout::day(&rep.until)) ". Small numbers: " (rep.small_number_rule) "." }
        p { a href=(format!("/communities/{id}")) { "The community’s page" } }
        div.grid {
            section aria-labelledby="act-h" {
                h3 #act-h { "Activity by month" }
                (activity_chart(&rep.activity.monthly))
                details {
                    summary { "The numbers" }
                    div.table-scroll {
                        table {
                            thead { tr { th scope="col" { "Month" } @for (n, _) in SERIES { th scope="col" { (n) } } th scope="col" { "RSVPs" } } }
                            tbody {
                                @for r in &rep.activity.monthly {
                                    tr { th scope="row" { (r.period) } td { (r.consults) } td { (r.replies) } td { (r.resources) } td { (r.attendance) } td { (r.rsvps) } }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="lvl-h" {
                h3 #lvl-h { "Participation levels" }
                (levels_chart(rep))
                p.meta { (rep.members.observation_rule) }
                table {
                    thead { tr { th scope="col" { "Level" } th scope="col" { "Declared" } th scope="col" { "Observed" } } }
                    tbody {
                        @for l in ["core", "active", "peripheral"] {
                            tr { th scope="row" { (l) } td { (rep.members.declared.get(l).copied().unwrap_or_default()) } td { (rep.members.observed.get(l).copied().unwrap_or_default()) } }
                        }
                    }
                }
                p { (rep.members.total) " members; " (rep.members.joined) " joined and " (rep.members.left) " left in the period." }
            }
        }
        section aria-labelledby="missing-h" {
            h3 #missing-h { "Who is missing?" }
            @if rep.who_is_missing.gaps.is_empty() {
                p { "No gaps against the stakeholders the charter lists." }
            } @else {
                ul { @for g in &rep.who_is_missing.gaps { li { (g) } } }
            }
            @if !rep.who_is_missing.groups.is_empty() {
                div.table-scroll {
                    table.stack {
                        thead { tr { th scope="col" { "Stakeholder group" } th scope="col" { "Members" } th scope="col" { "Attended" } th scope="col" { "Contributed" } th scope="col" { "Status" } } }
                        tbody {
                            @for g in &rep.who_is_missing.groups {
                                tr {
                                    td data-label="Group" { (g.group) }
                                    td data-label="Members" { (g.members) }
                                    td data-label="Attended" { (g.attended) }
                                    td data-label="Contributed" { (g.contributed) }
                                    td data-label="Status" {
                                        @let class = if g.status == "taking part" { "badge ok" } else if g.status == "missing" { "badge bad" } else { "badge warn" };
                                        span class=(class) { (g.status) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if !rep.who_is_missing.quiet_organisations.is_empty() {
                p { "Organisations with members but no activity in the period: " (rep.who_is_missing.quiet_organisations.join(", ")) "." }
            }
        }
        section aria-labelledby="consult-h" {
            h3 #consult-h { "Consults and resources" }
            ul {
                li { (rep.consults.opened) " consults opened; " (rep.consults.answered) " answered"
                    @if let Some(p) = rep.consults.answered_percent { " (" (p) "%)" } "." }
                li { (rep.consults.replies) " replies, " (rep.consults.replies_across_organisations) " of them across organisations." }
                @if let Some(h) = rep.consults.median_hours_to_first_reply { li { "Median time to a first reply: " (format!("{h:.1}")) " hours." } }
                li { (rep.resources.added) " resources added and " (rep.resources.updated) " updated; " (rep.resources.total) " in all." }
                @if !rep.resources.overdue_for_review.is_empty() {
                    li { (rep.resources.overdue_for_review.len()) " overdue for review." }
                }
            }
        }
    }
}

/// Grouped bars per month, one colour per series.
fn activity_chart(rows: &[report::ActivityRow]) -> Markup {
    let (w, h, left, bottom) = (640.0, 240.0, 36.0, 40.0);
    let values = |r: &report::ActivityRow| [r.consults, r.replies, r.resources, r.attendance];
    let max = rows
        .iter()
        .flat_map(|r| values(r).map(drawn))
        .fold(0.0_f64, f64::max)
        .max(5.0);
    let slot = (w - left) / rows.len().max(1) as f64;
    let bar = (slot - 6.0) / SERIES.len() as f64;
    let y = |v: f64| (h - bottom) - v / max * (h - bottom - 10.0);
    let mut svg = String::new();
    for (i, r) in rows.iter().enumerate() {
        for (j, v) in values(r).into_iter().enumerate() {
            let x = left + i as f64 * slot + 3.0 + j as f64 * bar;
            let top = y(drawn(v));
            svg.push_str(&format!(
                r#"<rect x="{x:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{} {}: {}</title></rect>"#,
                bar.max(1.0),
                (h - bottom - top).max(0.0),
                SERIES[j].1,
                html_escape(&r.period),
                SERIES[j].0,
                html_escape(&v.to_string())
            ));
        }
        if rows.len() <= 12 || i % 2 == 0 {
            svg.push_str(&format!(
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                left + i as f64 * slot + slot / 2.0,
                h - bottom + 16.0,
                html_escape(r.period.get(5..).unwrap_or(&r.period))
            ));
        }
    }
    // Axis with the top value.
    svg.push_str(&format!(
        r##"<line x1="{left}" y1="{0}" x2="{w}" y2="{0}" stroke="#4a5360"/><text x="{1}" y="16" text-anchor="end">{2}</text><text x="{1}" y="{0}" text-anchor="end">0</text>"##,
        h - bottom,
        left - 4.0,
        max.round()
    ));
    html! {
        svg.chart viewBox=(format!("0 0 {w} {h}")) role="img" aria-labelledby="act-title" {
            title #act-title { "Activity by month: consults, replies, resources and attendance" }
            (PreEscaped(svg))
        }
        ul.legend { @for (i, (n, _)) in SERIES.iter().enumerate() { li { span class=(format!("swatch s{i}")) {} (n) } } }
    }
}

/// Declared and observed people per level, as paired horizontal bars.
fn levels_chart(rep: &report::Report) -> Markup {
    let levels = ["core", "active", "peripheral"];
    let get = |m: &std::collections::BTreeMap<&'static str, Count>, l: &str| {
        m.get(l).copied().unwrap_or_default()
    };
    let max = levels
        .iter()
        .flat_map(|l| {
            [
                drawn(get(&rep.members.declared, l)),
                drawn(get(&rep.members.observed, l)),
            ]
        })
        .fold(0.0_f64, f64::max)
        .max(5.0);
    let (w, left) = (420.0, 90.0);
    let mut svg = String::new();
    for (i, l) in levels.iter().enumerate() {
        let y0 = 10.0 + i as f64 * 56.0;
        svg.push_str(&format!(
            r#"<text x="{}" y="{:.1}" text-anchor="end">{l}</text>"#,
            left - 6.0,
            y0 + 22.0
        ));
        for (j, (label, colour, c)) in [
            ("declared", "#0b5394", get(&rep.members.declared, l)),
            ("observed", "#b45309", get(&rep.members.observed, l)),
        ]
        .into_iter()
        .enumerate()
        {
            let len = drawn(c) / max * (w - left - 40.0);
            let y = y0 + j as f64 * 20.0;
            let c = html_escape(&c.to_string());
            svg.push_str(&format!(
                r#"<rect x="{left}" y="{y:.1}" width="{len:.1}" height="16" fill="{colour}"><title>{l}, {label}: {c}</title></rect><text x="{:.1}" y="{:.1}">{c}</text>"#,
                left + len + 4.0,
                y + 13.0
            ));
        }
    }
    html! {
        svg.chart viewBox=(format!("0 0 {w} 180")) role="img" aria-labelledby="lvl-title" {
            title #lvl-title { "People by participation level, declared and observed" }
            (PreEscaped(svg))
        }
        ul.legend {
            li { span.swatch.s0 {} "Declared" }
            li { span.swatch.s1 {} "Observed" }
        }
    }
}

fn html_escape(s: &str) -> String {
    maud::html! { (s) }.into_string()
}
