//! Events as iCalendar: one event's file and a feed per community, built from the documents by
//! [`crate::ics`]. Everything a calendar needs to stay right is derived from the replicated
//! document itself, so every node serves the same calendar: the UID is the event id, SEQUENCE is
//! the document's change count, cancellations come from the document's cancel records.

use chrono::NaiveDateTime;
use copnet_protocol::{DocId, DocKind};

use crate::ics::{self, CalendarEvent};
use crate::replica::{Replica, ReplicaError, Result, now_ms};
use crate::validate;

/// UIDs are `<event id>@copnet`: globally unique (ids are random) and the same everywhere.
pub fn uid(id: &DocId) -> String {
    format!("{id}@copnet")
}

fn calendar_event(replica: &Replica, id: &DocId) -> Result<CalendarEvent> {
    let (e, sequence) = replica.event(id)?;
    let tz = validate::time_zone(&e.tz)?;
    let (start_local, _) = validate::start(&e.start_local, tz)?;
    let cancelled_occurrences = e
        .cancelled_occurrences
        .keys()
        .filter_map(|k| NaiveDateTime::parse_from_str(k, "%Y-%m-%dT%H:%M").ok())
        .collect();
    let organizer = replica
        .roster_state()
        .and_then(|st| st.member(&e.header.creator).map(|m| m.profile.org.clone()));
    Ok(CalendarEvent {
        uid: uid(id),
        title: e.title,
        kind: e.kind.as_str().to_owned(),
        // The writer appends the link to the description: Google and Outlook do not show URL.
        description: e.agenda,
        location: e.location,
        url: e.link,
        start_local,
        tz,
        duration_minutes: e.duration_minutes,
        rrule: e.rrule,
        cancelled: e.cancelled,
        cancelled_occurrences,
        sequence,
        created_ms: e.header.created_at_ms,
        last_modified_ms: e.updated_at_ms,
        organizer,
        // Who is coming stays on the nodes: a feed is easy to forward.
        attendees: vec![],
    })
}

/// One event as a calendar file.
pub fn event_calendar(replica: &Replica, id: &DocId) -> Result<String> {
    let event = calendar_event(replica, id)?;
    let name = event.title.clone();
    Ok(ics::calendar(&name, &[event], now_ms()))
}

/// Every event of a community as one calendar, for subscribing.
pub fn community_calendar(replica: &Replica, community: &DocId) -> Result<String> {
    let c = replica.get(community)?;
    let name = c
        .view
        .get("name")
        .and_then(|v| v.as_str())
        .unwrap_or("copnet community")
        .to_owned();
    let mut events = Vec::new();
    for entry in replica.list(DocKind::Event, Some(community))? {
        match calendar_event(replica, &entry.id) {
            Ok(e) => events.push(e),
            Err(ReplicaError::Input(e)) => {
                tracing::warn!(event = %entry.id, error = %e, "event left out of the calendar");
            }
            Err(e) => return Err(e),
        }
    }
    events.sort_by(|a, b| a.uid.cmp(&b.uid));
    Ok(ics::calendar(&name, &events, now_ms()))
}
