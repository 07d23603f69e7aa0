use autosurgeon::{Hydrate, Reconcile};
use serde::Serialize;

use super::Header;

/// A community event: a monthly call, a webinar, a face-to-face meeting.
///
/// The start is kept as the organiser wrote it (local wall-clock time in a named IANA time zone),
/// because a recurring 15:00 call stays at 15:00 across daylight-saving changes; `start_utc_ms` is
/// the first occurrence's instant, derived from those two when the event was written.
#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize)]
pub struct Event {
    pub header: Header,
    pub title: String,
    /// `YYYY-MM-DDTHH:MM[:SS]`, local time in `tz`.
    pub start_local: String,
    pub tz: String,
    pub start_utc_ms: i64,
    pub duration_minutes: u32,
    /// An RFC 5545 `RRULE` value such as `FREQ=MONTHLY;BYDAY=1TH`, for the community's rhythm.
    pub rrule: Option<String>,
    pub updated_at_ms: i64,
}
