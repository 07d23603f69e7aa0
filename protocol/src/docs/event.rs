use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile};
use serde::Serialize;

use super::Header;
use crate::ids::NodeId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    Call,
    Webinar,
    Meeting,
    Training,
}

super::word_enum!(EventKind, "event kind", {
    Call => "call",
    Webinar => "webinar",
    Meeting => "meeting",
    Training => "training",
});

/// An answer to "are you coming?", mapped onto iCalendar's PARTSTAT (ACCEPTED, TENTATIVE,
/// DECLINED).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RsvpStatus {
    Going,
    Maybe,
    Declined,
}

super::word_enum!(RsvpStatus, "RSVP", {
    Going => "going",
    Maybe => "maybe",
    Declined => "declined",
});

/// A community event: a monthly call, a webinar, a face-to-face meeting.
///
/// The start is kept as the organiser wrote it (local wall-clock time in a named IANA time zone),
/// because a recurring 15:00 call stays at 15:00 across daylight-saving changes; `start_utc_ms` is
/// the first occurrence's instant, derived from those two when the event was written.
///
/// Occurrences are named by their local start `YYYY-MM-DDTHH:MM`. Everything recorded per
/// occurrence lives in flat maps keyed by occurrence (and person), never in a nested map created
/// on first use: two nodes that RSVP to the same occurrence at once would otherwise each create
/// the nested map and one of them would be lost in the merge.
#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize)]
pub struct Event {
    pub header: Header,
    pub title: String,
    #[autosurgeon(missing = "default_kind")]
    pub kind: EventKind,
    /// `YYYY-MM-DDTHH:MM[:SS]`, local time in `tz`.
    pub start_local: String,
    pub tz: String,
    pub start_utc_ms: i64,
    pub duration_minutes: u32,
    /// An RFC 5545 `RRULE` value such as `FREQ=MONTHLY;BYDAY=1TH`, for the community's rhythm.
    pub rrule: Option<String>,
    #[autosurgeon(missing = "Default::default")]
    pub location: Option<String>,
    #[autosurgeon(missing = "Default::default")]
    pub link: Option<String>,
    #[autosurgeon(missing = "Default::default")]
    pub agenda: String,
    /// The whole series is cancelled.
    #[autosurgeon(missing = "Default::default")]
    pub cancelled: bool,
    /// Single cancelled occurrences, by occurrence.
    #[autosurgeon(missing = "Default::default")]
    pub cancelled_occurrences: BTreeMap<String, bool>,
    /// RSVPs by `<occurrence>|<person id>`.
    #[autosurgeon(missing = "Default::default")]
    pub rsvps: BTreeMap<String, Rsvp>,
    /// Who attended, by `<occurrence>|<person id>`.
    #[autosurgeon(missing = "Default::default")]
    pub attendance: BTreeMap<String, Attendance>,
    /// Notes and minutes, by occurrence.
    #[autosurgeon(missing = "Default::default")]
    pub notes: BTreeMap<String, String>,
    #[autosurgeon(missing = "Default::default")]
    pub minutes: BTreeMap<String, String>,
    pub updated_at_ms: i64,
}

fn default_kind() -> EventKind {
    EventKind::Meeting
}

#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize)]
pub struct Rsvp {
    pub occurrence: String,
    pub person: String,
    pub status: RsvpStatus,
    /// The node that recorded it.
    pub node: NodeId,
    pub at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize)]
pub struct Attendance {
    pub occurrence: String,
    pub person: String,
    pub node: NodeId,
    pub at_ms: i64,
}

/// The key of a per-person, per-occurrence record.
pub fn occurrence_key(occurrence: &str, person: &str) -> String {
    format!("{occurrence}|{person}")
}
