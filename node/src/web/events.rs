//! Events: a month view and a list of occurrences, RSVP per occurrence, the calendar file of an
//! event and the subscription address of a community's calendar.

use std::collections::HashMap;

use axum::extract::{Path, Query};
use axum::response::Response;
use chrono::{Datelike, NaiveDate};
use copnet_protocol::DocKind;
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::{Posted, Signed};
use super::layout::{self, Nav, Shell, text};
use super::{Names, State, WebResult, doc, docs, my_entry, my_person, see};
use crate::api::{ApiError, blocking, calendar_key};
use crate::replica::NewRsvp;
use crate::store::DocEntry;

/// One occurrence of an event, as pages show it.
pub use crate::occurrences::Scheduled as Occ;

impl Occ {
    pub fn when(&self) -> String {
        format!("{} ({})", self.local.format("%a %-d %b %Y, %H:%M"), self.tz)
    }

    /// An id for the page's anchor.
    pub fn anchor(&self) -> String {
        format!(
            "{}-{}",
            self.event.rsplit('_').next().unwrap_or(&self.event),
            self.name.replace([':', 'T'], "")
        )
    }
}

/// The occurrences of an event starting in `[from_ms, to_ms)`, at most `limit`; none if its
/// timing does not read. `me` is the signed-in person's id in the event's community.
pub fn occurrences(
    e: &DocEntry,
    from_ms: i64,
    to_ms: i64,
    limit: usize,
    me: Option<&str>,
) -> Vec<Occ> {
    crate::occurrences::scheduled(&e.view, from_ms, to_ms, limit, me).unwrap_or_default()
}

#[derive(Deserialize)]
pub struct MonthQuery {
    month: Option<String>,
    community: Option<String>,
    done: Option<String>,
}

/// The signed-in person's id in each community they take part in.
fn my_people(
    s: &crate::api::ApiState,
    who: &Signed,
    communities: &[DocEntry],
) -> HashMap<String, String> {
    communities
        .iter()
        .filter_map(|c| {
            let p = my_entry(s, who, &c.view)?;
            Some((c.id.to_string(), text(p, "id").to_owned()))
        })
        .collect()
}

pub async fn page(
    axum::extract::State(s): State,
    who: Signed,
    Query(q): Query<MonthQuery>,
) -> WebResult<Markup> {
    let today = crate::replica::now_utc().date_naive();
    let first = match q.month.as_deref().filter(|m| !m.is_empty()) {
        Some(m) => NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").map_err(|_| {
            ApiError::invalid(format!("month {m:?} is not a month: write it like 2027-03"))
        })?,
        None => today.with_day(1).expect("day 1 exists"),
    };
    let next = first + chrono::Months::new(1);
    let prev = first - chrono::Months::new(1);
    let community = q.community.clone().filter(|c| !c.is_empty());
    let community_id = community
        .as_deref()
        .map(|c| crate::replica::parse_id(c, DocKind::Community))
        .transpose()
        .map_err(|e| ApiError::invalid(e.0))?;
    let all_communities = docs(&s, DocKind::Community, None).await?;
    let mine = my_people(&s, &who, &all_communities);
    let evs = docs(&s, DocKind::Event, community_id).await?;
    // The grid starts on the Monday on or before the 1st, and runs whole weeks.
    let grid_start = first - chrono::Days::new(first.weekday().num_days_from_monday() as u64);
    let grid_end = {
        let last = next - chrono::Days::new(1);
        last + chrono::Days::new(6 - last.weekday().num_days_from_monday() as u64)
    };
    let ms = |d: NaiveDate| crate::validate::day_start_ms(d);
    // A day's slack either side: occurrences are placed by their local date.
    let (from, to) = (ms(grid_start) - 86_400_000, ms(grid_end) + 2 * 86_400_000);
    let mut occs: Vec<Occ> = evs
        .iter()
        .flat_map(|e| {
            occurrences(
                e,
                from,
                to,
                64,
                mine.get(&e.community.to_string()).map(String::as_str),
            )
        })
        .collect();
    occs.sort_by_key(|o| o.start_utc_ms);
    let names = Names::of(&all_communities);
    let key = calendar_key(&s.token);
    let month_label = first.format("%B %Y").to_string();
    let in_month: Vec<&Occ> = occs
        .iter()
        .filter(|o| o.local.date() >= first && o.local.date() < next)
        .collect();
    let nav_link = |d: NaiveDate, label: &str| {
        let mut href = format!("/events?month={}", d.format("%Y-%m"));
        if let Some(c) = &community {
            href.push_str(&format!("&community={c}"));
        }
        html! { a href=(href) { (label) } }
    };

    let weeks: Vec<Vec<NaiveDate>> = {
        let mut days = Vec::new();
        let mut d = grid_start;
        while d <= grid_end {
            days.push(d);
            d = d + chrono::Days::new(1);
        }
        days.chunks(7).map(<[NaiveDate]>::to_vec).collect()
    };

    let body = html! {
        h1 { "Events" }
        (layout::notice(q.done.as_deref()))
        form.filters method="get" action="/events" {
            label { "Community"
                select name="community" {
                    option value="" { "All communities" }
                    @for (id, n) in names.iter() {
                        option value=(id) selected[community.as_deref() == Some(id.as_str())] { (n) }
                    }
                }
            }
            input type="hidden" name="month" value=(first.format("%Y-%m"));
            button.secondary type="submit" { "Show" }
        }
        nav.month-nav aria-label="Months" {
            (nav_link(prev, "← Previous month")) " · " strong { (month_label) } " · " (nav_link(next, "Next month →"))
        }
        div #month data-live {
            div.table-scroll {
                table.month {
                    caption.meta { "Occurrences in " (month_label) ", by local date" }
                    thead { tr { @for d in ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] { th scope="col" { (d) } } } }
                    tbody {
                        @for week in &weeks {
                            tr {
                                @for d in week {
                                    @let todays: Vec<&&Occ> = in_month.iter().filter(|o| o.local.date() == *d).collect();
                                    td.other[d.month() != first.month()] .today[*d == today] .has[!todays.is_empty()] {
                                        span.date { (d.day()) }
                                        @for o in &todays {
                                            a.title href=(format!("#o-{}", o.anchor())) {
                                                (o.local.format("%H:%M")) " " (o.title)
                                                @if o.cancelled { " (cancelled)" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Occurrences in " (month_label) }
            @if in_month.is_empty() { p.meta { "No events this month." } }
            ul.occurrences {
                @for o in &in_month {
                    li.card id=(format!("o-{}", o.anchor())) {
                        h3 { (o.title) @if o.cancelled { " " span.badge.bad { "cancelled" } } }
                        p.meta {
                            (o.when()) @if !o.kind.is_empty() { " · " (o.kind) }
                            " · " (names.name_of(&o.community))
                        }
                        p.meta { (o.going) " going · " (o.maybe) " maybe · " (o.declined) " not going" }
                        @if !o.cancelled {
                            form.inline method="post" action=(format!("/events/{}/rsvp", o.event)) aria-label=(format!("RSVP to {} on {}", o.title, o.local.format("%-d %b"))) {
                                input type="hidden" name="_csrf" value=(who.csrf);
                                input type="hidden" name="occurrence" value=(o.name);
                                input type="hidden" name="month" value=(first.format("%Y-%m"));
                                span { "Your answer:" }
                                @for (value, label) in [("going", "Going"), ("maybe", "Maybe"), ("declined", "Not going")] {
                                    @if o.mine.as_deref() == Some(value) {
                                        button.secondary.chosen type="submit" name="status" value=(value) { (label) " (your answer)" }
                                    } @else {
                                        button.secondary type="submit" name="status" value=(value) { (label) }
                                    }
                                }
                            }
                        }
                        p { a href=(format!("/events/{}/calendar.ics", o.event)) download { "Add to my calendar (.ics)" } }
                    }
                }
            }
        }
        h2 { "Subscribe to a community's calendar" }
        p.meta { "Calendar apps fetch these addresses on their own; anyone with an address sees that community's events, so share it only within your organisation." }
        ul {
            @for (id, n) in names.iter() {
                li { (n) ": " code { "http://" (s.http) "/api/v1/communities/" (id) "/calendar.ics?key=" (key) } }
            }
        }
    };
    Ok(layout::page(
        &Shell::new(&s, &who),
        Nav::Events,
        "Events",
        body,
    ))
}

#[derive(Deserialize)]
pub struct RsvpForm {
    occurrence: String,
    status: String,
    #[serde(default)]
    month: Option<String>,
}

pub async fn rsvp(
    axum::extract::State(s): State,
    Path(id): Path<String>,
    posted: Posted<RsvpForm>,
) -> WebResult {
    let event = doc(&s, &id, DocKind::Event).await?;
    let person = my_person(&s, &posted.who, event.community).await?;
    let f = posted.form;
    let r = s.replica.clone();
    let input = NewRsvp {
        person,
        status: f.status.clone(),
        occurrence: Some(f.occurrence.clone()),
    };
    let event_id = id.clone();
    let (_, occurrence) = blocking(move || r.rsvp(&event_id, input)).await?;
    let month = f
        .month
        .filter(|m| m.len() == 7 && m.chars().all(|c| c.is_ascii_digit() || c == '-'))
        .unwrap_or_default();
    let answer = match f.status.trim() {
        "going" => "going",
        "maybe" => "maybe",
        _ => "not going",
    };
    let done: String = url::form_urlencoded::byte_serialize(
        format!("Your answer for {occurrence} is saved: {answer}.").as_bytes(),
    )
    .collect();
    Ok(see(&format!("/events?month={month}&done={done}")))
}

/// An event's calendar file, for the signed-in person to open in their calendar app.
pub async fn ics(
    axum::extract::State(s): State,
    _who: Signed,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let id = crate::replica::parse_id(&id, DocKind::Event).map_err(|e| ApiError::not_found(e.0))?;
    let r = s.replica.clone();
    let name = id.to_string();
    let body = blocking(move || crate::calendar::event_calendar(&r, &id)).await?;
    Ok(crate::api::ics_response(&name, body, "attachment"))
}
