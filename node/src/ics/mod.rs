//! PLACEHOLDER — replaced by the real writer.
pub struct CalendarEvent {
    pub uid: String,
    pub title: String,
    pub kind: String,
    pub description: String,
    pub location: Option<String>,
    pub url: Option<String>,
    pub start_local: chrono::NaiveDateTime,
    pub tz: chrono_tz::Tz,
    pub duration_minutes: u32,
    pub rrule: Option<String>,
    pub cancelled: bool,
    pub cancelled_occurrences: Vec<chrono::NaiveDateTime>,
    pub sequence: u32,
    pub created_ms: i64,
    pub last_modified_ms: i64,
    pub organizer: Option<String>,
    pub attendees: Vec<Attendee>,
}
pub struct Attendee {
    pub name: String,
}
pub fn calendar(name: &str, events: &[CalendarEvent], _now_ms: i64) -> String {
    format!("BEGIN:VCALENDAR\r\nX-WR-CALNAME:{name}\r\n{}END:VCALENDAR\r\n", events.len())
}
