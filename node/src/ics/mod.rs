//! RFC 5545 iCalendar export for copnet community events.
//!
//! [`calendar`] turns a list of [`CalendarEvent`]s into one `VCALENDAR`
//! (`METHOD:PUBLISH`) that can be imported into, or subscribed to from,
//! Google Calendar, Outlook and Apple Calendar. The module is pure: no I/O, no
//! clock (the export time comes in as `now_ms`), no global state.
//!
//! # Output format
//!
//! * Content lines end with CRLF and are folded at 75 **octets**. A fold never
//!   splits a UTF-8 sequence or a TEXT escape (`\,`, `\n`, ...), and avoids
//!   leaving whitespace at the end of a physical line, because several parsers
//!   trim trailing whitespace from each physical line before unfolding.
//! * TEXT values escape `\` `;` `,` and turn CRLF / CR / LF into `\n`. Other
//!   C0 control characters (except TAB) and DEL are dropped. Parameter values
//!   (`CN`) cannot carry `"` at all, so `"` becomes `'`.
//! * Every event uses `DTSTART;TZID=<IANA name>:YYYYMMDDTHHMMSS` and a
//!   `DTEND` in the same zone. `DURATION:PT<n>M` is written instead of `DTEND`
//!   only when the end's wall-clock time wouldn't name the right instant
//!   (for example, when it lands in the repeated hour at the end of DST).
//! * `DTSTAMP` is the export time (`now_ms`). `CREATED` and `LAST-MODIFIED` come
//!   from the event. All three are in UTC.
//! * Output is deterministic. Events are sorted by UID (the sort is stable, and
//!   when two events share a UID only the first is kept). Time zones are sorted
//!   by name. So the same events give byte-identical output in any input order,
//!   and `now_ms` changes only the `DTSTAMP` lines.
//!
//! # VTIMEZONE
//!
//! Each TZID used gets a `VTIMEZONE` built from chrono-tz data. chrono-tz has no
//! transition API, so the module probes the UTC offset once a day and
//! bisects to the exact second of each change. The probing starts on 1 January
//! of the earliest event year and runs to the end of the year after the last
//! instant the events need. That last instant is: the end of a one-off event;
//! `UNTIL`; the last occurrence when there's a `COUNT`; or, for a series with
//! no end, 31 December of `max(start year, last-modified year) + 10`.
//! Transitions are then packed:
//!
//! * Transitions of the same kind (same offsets, same name) on consecutive
//!   years, in the same month, at the same local time, on the same weekday
//!   become one `STANDARD`/`DAYLIGHT` sub-component with a yearly RRULE:
//!   `BYMONTH=m;BYDAY=2SU` (n-th), `BYDAY=-1SU` (last), or
//!   `BYMONTHDAY=23,..,29;BYDAY=FR` (tzdb's "Fri>=23", e.g. Israel, Chile).
//!   The BYDAY forms are tried first because Outlook's time-zone model can
//!   only hold those.
//! * The rule is left open-ended (no UNTIL), like tzdb's own rule, only if it
//!   also gives the real onsets for the next 28 years after the last one seen
//!   (a full weekday/leap cycle, checked against chrono-tz). Clients can then
//!   extend it indefinitely. Otherwise it gets `UNTIL=<last onset, UTC>`. For
//!   the usual case the result is the familiar two-component zone.
//! * Anything else (such as Morocco's Ramadan changes) gets one sub-component
//!   per transition. That's always right for the probed span. Cairo's "last
//!   Thursday 24:00" sometimes falls in November; it becomes a bounded run.
//! * The first sub-component is the observance in force at the start of the
//!   span. Its `DTSTART` is that observance's real onset, found by probing
//!   back as far as 1800. A zone with no DST (Asia/Kolkata, Australia/Brisbane)
//!   therefore has a single `STANDARD`.
//! * `DAYLIGHT` vs `STANDARD`: chrono-tz follows tzdb's "vanguard" data, where
//!   Europe/Dublin and Africa/Casablanca have *negative* DST. Like tzdb's
//!   "rearguard" format, those zones label the negative-DST observance STANDARD
//!   and the observance next to it DAYLIGHT. Offsets are unaffected; only the
//!   labels Outlook relies on change.
//!
//! # Cancelled occurrences
//!
//! A cancelled single occurrence is written **twice**:
//!
//! 1. An override `VEVENT` with the same UID and the same `SEQUENCE`, with
//!    `RECURRENCE-ID;TZID=..` set to the occurrence's original local start,
//!    plus `STATUS:CANCELLED` and `TRANSP:TRANSPARENT`. This is how Google
//!    represents a cancelled instance. Outlook/Exchange import it as an
//!    exception of the series (MS-OXCICAL). CalDAV-style clients
//!    (Thunderbird) show it struck through.
//! 2. An `EXDATE;TZID=..` on the master, on by default
//!    ([`CalendarOptions::exdate_for_cancelled_occurrences`]). EXDATE is the one
//!    mechanism every consumer knows. It's how Google's, iCloud's and
//!    Outlook's own feeds publish deleted instances. Apple Calendar and many
//!    small feed readers (dashboards, TRMNL, DAKboard, ...) act on EXDATE but
//!    not on `STATUS:CANCELLED` overrides, and without the EXDATE they would
//!    show the call as still on.
//!
//! Cost: the override now points at an excluded instance. RFC 5545 doesn't
//! define that case, MS-OXCICAL says an exporter "SHOULD NOT" do both, and a
//! strict validator may flag it. What was observed:
//!
//! * ical.js (Thunderbird, Nextcloud) hides the occurrence and ignores the
//!   orphaned override.
//! * Python `ical` (Home Assistant) shows one instance marked `CANCELLED`, the
//!   same as with the override alone.
//!
//! No consumer we know of shows the occurrence as confirmed. Turn the option
//! off for a strictly RFC-shaped file.
//!
//! Cancelled occurrences are checked against the RRULE (expanded in local wall
//! time, as RFC 5545 does). Times that aren't occurrences are dropped, so no
//! override points at a time the RRULE never produces. On a non-recurring event
//! the list is ignored (set `cancelled` instead). If the rule can't be parsed,
//! the times are trusted as given.
//!
//! # ORGANIZER / ATTENDEE
//!
//! The input has only display names, and a `mailto:` would invite clients to
//! send iTIP replies. Organiser and attendees are therefore written as
//! `ORGANIZER;CN="<name>":urn:uuid:<uuid>` (likewise `ATTENDEE`). The UUID is a deterministic
//! RFC 9562 version-8 UUID derived from the name, so it's the same on every
//! node. `urn:uuid:` is a registered URN namespace that CalDAV servers use for
//! calendar user addresses, and no client can mail it. Clients that only
//! understand `mailto:` show the `CN` or nothing; either is harmless in a
//! `PUBLISH` feed. Attendees (`ATTENDEE;CN=..;PARTSTAT=..`) are written only
//! when the caller passes them.
//!
//! # Meeting link
//!
//! `URL` is written, but Google Calendar and Outlook don't show it. So by
//! default the link is also appended to `DESCRIPTION` (on its own line, after
//! a blank one), unless the description already contains it
//! ([`CalendarOptions::append_url_to_description`]).
//!
//! # Robustness
//!
//! No input makes [`calendar`] panic or loop forever. RRULE expansion uses the
//! rrule crate's iteration limits plus our own cap. Timestamps that chrono
//! can't represent fall back to 1970-01-01. An event whose start year is
//! outside 1..=9999 can't be written as an iCalendar DATE-TIME and is skipped.
//! VTIMEZONE probing is clamped to the years 1800..=2400.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone,
    Timelike, Weekday,
};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

/// `PRODID` of every calendar this module writes.
pub const PRODID: &str = "-//copnet//copnet 0.1//EN";

/// Years of VTIMEZONE coverage past the start (or last change) of a series that
/// has no `UNTIL`/`COUNT`.
pub const OPEN_SERIES_HORIZON_YEARS: i32 = 10;

/// Upper bound on occurrences expanded when validating cancelled occurrences or
/// finding the last occurrence of a `COUNT` rule.
const MAX_EXPANSION: usize = 20_000;

const SCAN_MIN_YEAR: i32 = 1800;
const SCAN_MAX_YEAR: i32 = 2400;
const SCAN_STEP_SECS: i64 = 86_400;

/// Participation status exported as `PARTSTAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartStat {
    Accepted,
    Tentative,
    Declined,
}

impl PartStat {
    /// The RFC 5545 `PARTSTAT` value.
    pub fn as_ical(self) -> &'static str {
        match self {
            PartStat::Accepted => "ACCEPTED",
            PartStat::Tentative => "TENTATIVE",
            PartStat::Declined => "DECLINED",
        }
    }
}

/// One attendee, written as `ATTENDEE;CN="name";PARTSTAT=..:urn:uuid:..`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendee {
    pub name: String,
    pub partstat: PartStat,
}

/// An event (possibly recurring), as the caller hands it over.
#[derive(Debug, Clone, PartialEq)]
pub struct CalendarEvent {
    /// Stable across nodes and exports, e.g. `evt_3xK...@copnet`.
    pub uid: String,
    pub title: String,
    /// `call` | `webinar` | `meeting` | `training`, written as `CATEGORIES`.
    pub kind: String,
    pub description: String,
    pub location: Option<String>,
    /// Meeting link.
    pub url: Option<String>,
    /// Wall-clock start in `tz`.
    pub start_local: NaiveDateTime,
    pub tz: Tz,
    pub duration_minutes: u32,
    /// RRULE value without the `RRULE:` prefix, e.g. `FREQ=MONTHLY;BYDAY=1TH`.
    pub rrule: Option<String>,
    /// The whole series is cancelled: `STATUS:CANCELLED` on the master.
    pub cancelled: bool,
    /// Local start times of single cancelled occurrences.
    pub cancelled_occurrences: Vec<NaiveDateTime>,
    /// Incremented by the caller on every change.
    pub sequence: u32,
    pub created_ms: i64,
    pub last_modified_ms: i64,
    /// Organisation display name.
    pub organizer: Option<String>,
    /// Exported only when non-empty (community feeds pass none).
    pub attendees: Vec<Attendee>,
}

/// Knobs for [`calendar_with_options`]. [`calendar`] uses the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarOptions {
    /// Also exclude each cancelled occurrence with `EXDATE` on the master, in
    /// addition to the `STATUS:CANCELLED` override (see module docs). Default: true.
    pub exdate_for_cancelled_occurrences: bool,
    /// Append the meeting `url` to `DESCRIPTION` when it isn't already there,
    /// because Google and Outlook don't show `URL`. Default: true.
    pub append_url_to_description: bool,
    /// Suggested subscription refresh (`REFRESH-INTERVAL` and
    /// `X-PUBLISHED-TTL`), in minutes. `None` omits both. Default: 60.
    pub refresh_interval_minutes: Option<u32>,
}

impl Default for CalendarOptions {
    fn default() -> Self {
        CalendarOptions {
            exdate_for_cancelled_occurrences: true,
            append_url_to_description: true,
            refresh_interval_minutes: Some(60),
        }
    }
}

/// Renders one `VCALENDAR` with the default [`CalendarOptions`].
pub fn calendar(name: &str, events: &[CalendarEvent], now_ms: i64) -> String {
    calendar_with_options(name, events, now_ms, &CalendarOptions::default())
}

/// Renders one `VCALENDAR` (`METHOD:PUBLISH`) containing a `VTIMEZONE` for
/// every zone used and the events (masters and cancelled-occurrence overrides).
pub fn calendar_with_options(
    name: &str,
    events: &[CalendarEvent],
    now_ms: i64,
    options: &CalendarOptions,
) -> String {
    let dtstamp = fmt_utc(&ms_to_utc(now_ms));

    // Stable order and one master per UID.
    let mut sorted: Vec<&CalendarEvent> = events
        .iter()
        .filter(|e| (1..=9999).contains(&e.start_local.year()))
        .collect();
    sorted.sort_by(|a, b| a.uid.cmp(&b.uid));
    sorted.dedup_by(|later, earlier| later.uid == earlier.uid);

    let prepared: Vec<Prepared> = sorted.into_iter().map(Prepared::new).collect();

    // Span of wall-clock time each zone has to cover.
    let mut spans: BTreeMap<&'static str, (Tz, NaiveDateTime, NaiveDateTime)> = BTreeMap::new();
    for p in &prepared {
        let entry = spans
            .entry(p.ev.tz.name())
            .or_insert((p.ev.tz, p.span_first, p.span_last));
        entry.1 = entry.1.min(p.span_first);
        entry.2 = entry.2.max(p.span_last);
    }

    let mut w = Writer::default();
    w.raw("BEGIN:VCALENDAR");
    w.raw("VERSION:2.0");
    w.raw(&format!("PRODID:{PRODID}"));
    w.raw("CALSCALE:GREGORIAN");
    w.raw("METHOD:PUBLISH");
    if !name.is_empty() {
        w.text("X-WR-CALNAME", name);
        w.text("NAME", name);
    }
    if let Some(min) = options.refresh_interval_minutes {
        let min = min.max(1);
        let dur = if min % 60 == 0 {
            format!("PT{}H", min / 60)
        } else {
            format!("PT{min}M")
        };
        w.raw(&format!("REFRESH-INTERVAL;VALUE=DURATION:{dur}"));
        w.raw(&format!("X-PUBLISHED-TTL:{dur}"));
    }

    for (tz, first, last) in spans.values() {
        write_vtimezone(&mut w, *tz, *first, *last);
    }

    for p in &prepared {
        write_vevent(&mut w, p, &dtstamp, options, None);
        for occ in &p.cancelled {
            write_vevent(&mut w, p, &dtstamp, options, Some(*occ));
        }
    }

    w.raw("END:VCALENDAR");
    w.out
}

// ---------------------------------------------------------------------------
// Event preparation
// ---------------------------------------------------------------------------

struct Prepared<'a> {
    ev: &'a CalendarEvent,
    rule: Option<String>,
    /// Validated, sorted, de-duplicated cancelled occurrences (recurring only).
    cancelled: Vec<NaiveDateTime>,
    span_first: NaiveDateTime,
    span_last: NaiveDateTime,
}

impl<'a> Prepared<'a> {
    fn new(ev: &'a CalendarEvent) -> Self {
        let rule = ev.rrule.as_deref().and_then(sanitize_rrule);
        let start = ev.start_local;
        let duration = Duration::minutes(i64::from(ev.duration_minutes));
        let end_of = |t: NaiveDateTime| t.checked_add_signed(duration).unwrap_or(t);

        let horizon = {
            let lm_year = ms_to_utc(ev.last_modified_ms).year();
            let year = start
                .year()
                .max(lm_year)
                .saturating_add(OPEN_SERIES_HORIZON_YEARS);
            ymd_hms(year.min(SCAN_MAX_YEAR), 12, 31, 23, 59, 59).unwrap_or(start)
        };

        let mut cancelled = Vec::new();
        let span_last;
        match &rule {
            None => {
                span_last = end_of(start);
            }
            Some(rule_str) => {
                let wanted: BTreeSet<NaiveDateTime> =
                    ev.cancelled_occurrences.iter().copied().collect();
                match FloatingRule::new(rule_str, start, ev.tz) {
                    None => {
                        // Can't expand: trust the caller's times.
                        cancelled = wanted.into_iter().collect();
                        span_last = horizon;
                    }
                    Some(fr) => {
                        let max_wanted = wanted.iter().next_back().copied();
                        let need_last = fr.count.is_some() && fr.until_local.is_none();
                        let mut last_occ = None;
                        let mut n = 0usize;
                        for occ in fr.iter() {
                            n += 1;
                            if wanted.contains(&occ) {
                                cancelled.push(occ);
                            }
                            last_occ = Some(occ);
                            let past_wanted = max_wanted.is_none_or(|m| occ >= m);
                            if (past_wanted && !need_last) || n >= MAX_EXPANSION {
                                break;
                            }
                        }
                        span_last = if let Some(until) = fr.until_local {
                            end_of(until.max(start))
                        } else if fr.count.is_some() && n < MAX_EXPANSION {
                            end_of(last_occ.unwrap_or(start))
                        } else {
                            horizon
                        };
                    }
                }
            }
        }

        let span_first = start.min(cancelled.first().copied().unwrap_or(start));
        let span_last = span_last
            .max(end_of(start))
            .max(end_of(cancelled.last().copied().unwrap_or(start)));
        Prepared {
            ev,
            rule,
            cancelled,
            span_first,
            span_last,
        }
    }
}

/// Strips an `RRULE:` prefix, whitespace and control characters.
fn sanitize_rrule(raw: &str) -> Option<String> {
    let mut s: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect();
    if s.len() >= 6 && s[..6].eq_ignore_ascii_case("RRULE:") {
        s.drain(..6);
    }
    if s.is_empty() { None } else { Some(s) }
}

/// An RRULE expanded in "floating" wall-clock time (DTSTART's naive local time
/// treated as UTC). This is the RFC 5545 model: recurrences are computed on
/// local time, and the instants are resolved through the time zone afterwards.
struct FloatingRule {
    set: rrule::RRuleSet,
    count: Option<u32>,
    until_local: Option<NaiveDateTime>,
}

impl FloatingRule {
    fn new(rule: &str, start_local: NaiveDateTime, tz: Tz) -> Option<Self> {
        let parsed: rrule::RRule<rrule::Unvalidated> = rule.parse().ok()?;
        let count = parsed.get_count();
        let until_local = parsed.get_until().map(|u| {
            if u.timezone().is_local() {
                u.naive_local()
            } else {
                // UNTIL is an instant; compare it in the event's wall clock.
                tz.from_utc_datetime(&u.naive_utc()).naive_local()
            }
        });
        let parsed = match until_local {
            Some(u) => parsed.until(rrule::Tz::UTC.from_utc_datetime(&u)),
            None => parsed,
        };
        let start = rrule::Tz::UTC.from_utc_datetime(&start_local);
        let set = parsed.build(start).ok()?.limit();
        Some(FloatingRule {
            set,
            count,
            until_local,
        })
    }

    fn iter(&self) -> impl Iterator<Item = NaiveDateTime> + '_ {
        (&self.set).into_iter().map(|d| d.naive_utc())
    }
}

// ---------------------------------------------------------------------------
// VEVENT
// ---------------------------------------------------------------------------

fn write_vevent(
    w: &mut Writer,
    p: &Prepared,
    dtstamp: &str,
    options: &CalendarOptions,
    recurrence_id: Option<NaiveDateTime>,
) {
    let ev = p.ev;
    let tzid = ev.tz.name();
    let start = recurrence_id.unwrap_or(ev.start_local);

    w.raw("BEGIN:VEVENT");
    w.text("UID", &ev.uid);
    w.raw(&format!("DTSTAMP:{dtstamp}"));
    if let Some(rid) = recurrence_id {
        w.prop("RECURRENCE-ID", &[("TZID", tzid, false)], &fmt_local(&rid));
    }
    w.prop("DTSTART", &[("TZID", tzid, false)], &fmt_local(&start));
    match end_repr(ev.tz, start, ev.duration_minutes) {
        EndRepr::DtEnd(end) => w.prop("DTEND", &[("TZID", tzid, false)], &fmt_local(&end)),
        EndRepr::Duration(d) => w.raw(&format!("DURATION:{d}")),
    }
    if recurrence_id.is_none()
        && let Some(rule) = &p.rule
    {
        w.raw(&format!("RRULE:{rule}"));
        if options.exdate_for_cancelled_occurrences {
            for occ in &p.cancelled {
                w.prop("EXDATE", &[("TZID", tzid, false)], &fmt_local(occ));
            }
        }
    }
    w.text("SUMMARY", &ev.title);

    let url = ev
        .url
        .as_deref()
        .map(sanitize_uri)
        .filter(|u| !u.is_empty());
    let mut description = ev.description.clone();
    if let Some(u) = &url
        && options.append_url_to_description
        && !description.contains(u.as_str())
    {
        if !description.trim().is_empty() {
            description.push_str("\n\n");
        } else {
            description.clear();
        }
        description.push_str(u);
    }
    if !description.is_empty() {
        w.text("DESCRIPTION", &description);
    }
    if let Some(loc) = ev.location.as_deref().filter(|l| !l.trim().is_empty()) {
        w.text("LOCATION", loc);
    }
    if let Some(u) = &url {
        w.raw(&format!("URL:{u}"));
    }
    if !ev.kind.trim().is_empty() {
        w.text("CATEGORIES", ev.kind.trim());
    }
    let cancelled = recurrence_id.is_some() || ev.cancelled;
    w.raw(if cancelled {
        "STATUS:CANCELLED"
    } else {
        "STATUS:CONFIRMED"
    });
    if cancelled {
        w.raw("TRANSP:TRANSPARENT");
    }
    w.raw(&format!("SEQUENCE:{}", ev.sequence.min(i32::MAX as u32)));
    w.raw(&format!("CREATED:{}", fmt_utc(&ms_to_utc(ev.created_ms))));
    w.raw(&format!(
        "LAST-MODIFIED:{}",
        fmt_utc(&ms_to_utc(ev.last_modified_ms))
    ));
    if let Some(org) = ev.organizer.as_deref().filter(|o| !o.trim().is_empty()) {
        w.prop(
            "ORGANIZER",
            &[("CN", org, true)],
            &name_urn("organizer", org),
        );
    }
    for a in &ev.attendees {
        w.prop(
            "ATTENDEE",
            &[
                ("CN", &a.name, true),
                ("PARTSTAT", a.partstat.as_ical(), false),
            ],
            &name_urn("attendee", &a.name),
        );
    }
    w.raw("END:VEVENT");
}

enum EndRepr {
    DtEnd(NaiveDateTime),
    Duration(String),
}

/// `DTEND` in wall-clock time if that names the right instant, else `DURATION`.
fn end_repr(tz: Tz, start_local: NaiveDateTime, minutes: u32) -> EndRepr {
    let fallback = || EndRepr::Duration(format!("PT{minutes}M"));
    let Some(start_utc) = resolve_local(tz, start_local) else {
        return fallback();
    };
    let Some(end_utc) = start_utc.checked_add_signed(Duration::minutes(i64::from(minutes))) else {
        return fallback();
    };
    let end_local = tz.from_utc_datetime(&end_utc).naive_local();
    if end_local.year() <= 9999 && resolve_local(tz, end_local) == Some(end_utc) {
        EndRepr::DtEnd(end_local)
    } else {
        fallback()
    }
}

/// Local wall time to UTC the way RFC 5545 §3.3.5 asks clients to do it:
/// an ambiguous time (end of DST) is the first occurrence; a time that doesn't
/// exist (start of DST) uses the offset in force before the gap.
fn resolve_local(tz: Tz, local: NaiveDateTime) -> Option<NaiveDateTime> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.naive_utc()),
        LocalResult::Ambiguous(a, b) => Some(a.naive_utc().min(b.naive_utc())),
        LocalResult::None => {
            let probe = local.checked_sub_signed(Duration::days(1))?;
            let before = tz.offset_from_utc_datetime(&probe).fix().local_minus_utc();
            local.checked_sub_signed(Duration::seconds(i64::from(before)))
        }
    }
}

// ---------------------------------------------------------------------------
// VTIMEZONE
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Observance {
    /// Wall-clock onset, in the offset in force *before* it (TZOFFSETFROM).
    onset_local: NaiveDateTime,
    onset_utc: i64,
    from: i32,
    to: i32,
    dst: i32,
    base: i32,
    name: String,
    daylight: bool,
    synthetic: bool,
}

fn write_vtimezone(w: &mut Writer, tz: Tz, first: NaiveDateTime, last: NaiveDateTime) {
    let observances = transitions(tz, first, last);
    let components = pack(tz, &observances);

    w.raw("BEGIN:VTIMEZONE");
    w.text("TZID", tz.name());
    w.text("X-LIC-LOCATION", tz.name());
    for c in &components {
        let kind = if c.obs.daylight {
            "DAYLIGHT"
        } else {
            "STANDARD"
        };
        w.raw(&format!("BEGIN:{kind}"));
        w.raw(&format!("DTSTART:{}", fmt_local(&c.obs.onset_local)));
        if let Some(rule) = &c.rrule {
            w.raw(&format!("RRULE:{rule}"));
        }
        w.raw(&format!("TZOFFSETFROM:{}", fmt_offset(c.obs.from)));
        w.raw(&format!("TZOFFSETTO:{}", fmt_offset(c.obs.to)));
        w.text("TZNAME", &c.obs.name);
        w.raw(&format!("END:{kind}"));
    }
    w.raw("END:VTIMEZONE");
}

/// UTC seconds of the probing window: 1 January of the first year (less a day,
/// since offsets reach ±14h) through the end of the year after `last`.
fn scan_window(first: NaiveDateTime, last: NaiveDateTime) -> (i64, i64) {
    let y0 = first.year().clamp(SCAN_MIN_YEAR, SCAN_MAX_YEAR);
    let y1 = last.year().saturating_add(1).clamp(y0, SCAN_MAX_YEAR);
    let start = ymd_hms(y0, 1, 1, 0, 0, 0).map(|t| t.and_utc().timestamp() - SCAN_STEP_SECS);
    let end = ymd_hms(y1, 12, 31, 23, 59, 59).map(|t| t.and_utc().timestamp());
    match (start, end) {
        (Some(s), Some(e)) => (s, e),
        _ => (0, 0),
    }
}

fn offset_at(tz: Tz, secs: i64) -> Option<chrono_tz::TzOffset> {
    DateTime::from_timestamp(secs, 0).map(|t| tz.offset_from_utc_datetime(&t.naive_utc()))
}

/// Observances in force from the start of the window to its end: the one in
/// force at the start (with its real onset) followed by every transition.
fn transitions(tz: Tz, first: NaiveDateTime, last: NaiveDateTime) -> Vec<Observance> {
    let (start, end) = scan_window(first, last);
    let Some(cur0) = offset_at(tz, start) else {
        return vec![synthetic_observance(tz, start)];
    };

    let mut out = Vec::new();

    // Onset of the observance in force at `start`: probe backwards.
    let floor = ymd_hms(SCAN_MIN_YEAR, 1, 1, 0, 0, 0)
        .map(|t| t.and_utc().timestamp())
        .unwrap_or(start);
    let mut t = start;
    let mut initial = None;
    while t > floor {
        let pt = (t - SCAN_STEP_SECS).max(floor);
        match offset_at(tz, pt) {
            Some(o) if o != cur0 => {
                // off(lo) != cur0, off(hi) == cur0
                let (mut lo, mut hi) = (pt, t);
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if offset_at(tz, mid) == Some(cur0) {
                        hi = mid;
                    } else {
                        lo = mid;
                    }
                }
                initial = offset_at(tz, lo).map(|before| make_observance(hi, before, cur0));
                break;
            }
            _ => t = pt,
        }
    }
    out.push(initial.unwrap_or_else(|| synthetic_observance(tz, start)));

    // Forward: every change in (start, end].
    let mut t = start;
    let mut cur = cur0;
    while t < end {
        let nt = (t + SCAN_STEP_SECS).min(end);
        match offset_at(tz, nt) {
            Some(o) if o != cur => {
                // off(lo) == cur, off(hi) != cur
                let (mut lo, mut hi) = (t, nt);
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if offset_at(tz, mid) == Some(cur) {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                let Some(new) = offset_at(tz, hi) else { break };
                out.push(make_observance(hi, cur, new));
                cur = new;
                t = hi;
            }
            _ => t = nt,
        }
    }

    // DAYLIGHT/STANDARD labels (see module docs on negative DST).
    let flags: Vec<bool> = (0..out.len())
        .map(|i| {
            let o = &out[i];
            if o.dst != 0 {
                return o.dst > 0;
            }
            let neg_neighbour =
                |j: usize| out.get(j).is_some_and(|n| n.dst < 0 && n.base == o.base);
            (i > 0 && neg_neighbour(i - 1)) || neg_neighbour(i + 1)
        })
        .collect();
    for (o, f) in out.iter_mut().zip(flags) {
        o.daylight = f;
    }
    out
}

fn make_observance(at: i64, before: chrono_tz::TzOffset, after: chrono_tz::TzOffset) -> Observance {
    let from = before.fix().local_minus_utc();
    let to = after.fix().local_minus_utc();
    let onset_local = DateTime::from_timestamp(at + i64::from(from), 0)
        .map(|t| t.naive_utc())
        .unwrap_or_default();
    Observance {
        onset_local,
        onset_utc: at,
        from,
        to,
        dst: i32::try_from(after.dst_offset().num_seconds()).unwrap_or(0),
        base: i32::try_from(after.base_utc_offset().num_seconds()).unwrap_or(0),
        name: after
            .abbreviation()
            .map(str::to_owned)
            .unwrap_or_else(|| numeric_tzname(to)),
        daylight: false,
        synthetic: false,
    }
}

/// An observance with no known onset: offset in force since the floor year.
fn synthetic_observance(tz: Tz, at: i64) -> Observance {
    let off =
        offset_at(tz, at).unwrap_or_else(|| tz.offset_from_utc_datetime(&NaiveDateTime::default()));
    let mut o = make_observance(at, off, off);
    o.onset_local = ymd_hms(SCAN_MIN_YEAR, 1, 1, 0, 0, 0).unwrap_or_default();
    o.onset_utc = o.onset_local.and_utc().timestamp() - i64::from(o.from);
    o.synthetic = true;
    o
}

struct TzComponent {
    obs: Observance,
    rrule: Option<String>,
}

/// How a yearly onset day is described in a `FREQ=YEARLY;BYMONTH=m` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WeekPos {
    /// `BYDAY=nWD`, n in 1..=4.
    Nth(u32),
    /// `BYDAY=-1WD`.
    Last,
    /// First `WD` on or after day d: `BYMONTHDAY=d,..,d+6;BYDAY=WD` (tzdb's
    /// `Fri>=23`).
    OnOrAfter(u32),
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    match (
        NaiveDate::from_ymd_opt(ny, nm, 1),
        NaiveDate::from_ymd_opt(year, month, 1),
    ) {
        (Some(a), Some(b)) => u32::try_from((a - b).num_days()).unwrap_or(31),
        _ => 31,
    }
}

/// Every description of a date's weekday position: (n-th, last, the range of
/// d for which it is the first such weekday on or after d).
fn week_positions(d: NaiveDate) -> (Option<u32>, bool, (u32, u32)) {
    let dim = days_in_month(d.year(), d.month());
    let nth = (d.day() - 1) / 7 + 1;
    let last = d.day() + 7 > dim;
    let on_or_after = (
        d.day().saturating_sub(6).max(1),
        d.day().min(dim.saturating_sub(6)),
    );
    (if nth <= 4 { Some(nth) } else { None }, last, on_or_after)
}

fn date_for(year: i32, month: u32, wd: Weekday, pos: WeekPos) -> Option<NaiveDate> {
    match pos {
        WeekPos::Nth(n) => {
            NaiveDate::from_weekday_of_month_opt(year, month, wd, u8::try_from(n).ok()?)
        }
        WeekPos::Last => {
            let last = NaiveDate::from_ymd_opt(year, month, days_in_month(year, month))?;
            let back = (7 + last.weekday().num_days_from_monday() - wd.num_days_from_monday()) % 7;
            last.checked_sub_signed(Duration::days(i64::from(back)))
        }
        WeekPos::OnOrAfter(day) => {
            let first = NaiveDate::from_ymd_opt(year, month, day)?;
            let fwd = (7 + wd.num_days_from_monday() - first.weekday().num_days_from_monday()) % 7;
            let d = first.checked_add_signed(Duration::days(i64::from(fwd)))?;
            (d.month() == month).then_some(d)
        }
    }
}

fn byday(wd: Weekday) -> &'static str {
    match wd {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

/// Years checked against tzdb before a rule is left open-ended: a full
/// weekday/leap-year cycle.
const RULE_CHECK_YEARS: i32 = 28;

/// Does `pos` (with the head's month, weekday and time) give the real onsets
/// of this observance in every year of `years`?
fn rule_holds(
    tz: Tz,
    head: &Observance,
    pos: WeekPos,
    years: std::ops::RangeInclusive<i32>,
) -> bool {
    let hd = head.onset_local.date();
    years.into_iter().all(|y| {
        let Some(d) = date_for(y, hd.month(), hd.weekday(), pos) else {
            return false;
        };
        let at = d.and_time(head.onset_local.time()).and_utc().timestamp() - i64::from(head.from);
        match (offset_at(tz, at - 1), offset_at(tz, at)) {
            (Some(before), Some(after)) => {
                before.fix().local_minus_utc() == head.from
                    && after.fix().local_minus_utc() == head.to
                    && after.dst_offset().num_seconds() == i64::from(head.dst)
                    && after
                        .abbreviation()
                        .map_or_else(|| numeric_tzname(head.to), str::to_owned)
                        == head.name
            }
            _ => false,
        }
    })
}

/// Packs yearly-regular runs of observances into RRULE-based components.
fn pack(tz: Tz, obs: &[Observance]) -> Vec<TzComponent> {
    let same_kind = |a: &Observance, b: &Observance| {
        !a.synthetic
            && !b.synthetic
            && a.daylight == b.daylight
            && a.from == b.from
            && a.to == b.to
            && a.name == b.name
    };
    let mut used = vec![false; obs.len()];
    let mut out = Vec::new();

    for i in 0..obs.len() {
        if used[i] {
            continue;
        }
        used[i] = true;
        let head = &obs[i];
        let hd = head.onset_local.date();
        let (mut nth, mut last, (mut oa_lo, mut oa_hi)) = week_positions(hd);
        let mut run = vec![i];

        if !head.synthetic {
            for j in i + 1..obs.len() {
                if used[j] || !same_kind(head, &obs[j]) {
                    continue;
                }
                let prev = obs[*run.last().unwrap_or(&i)].onset_local;
                let cand = obs[j].onset_local;
                let (cn, cl, (clo, chi)) = week_positions(cand.date());
                let n2 = if nth == cn { nth } else { None };
                let l2 = last && cl;
                let (lo2, hi2) = (oa_lo.max(clo), oa_hi.min(chi));
                let fits = cand.year() == prev.year() + 1
                    && cand.month() == hd.month()
                    && cand.weekday() == hd.weekday()
                    && cand.time() == head.onset_local.time()
                    && (n2.is_some() || l2 || lo2 <= hi2);
                if !fits {
                    break;
                }
                (nth, last, oa_lo, oa_hi) = (n2, l2, lo2, hi2);
                run.push(j);
            }
        }

        // Every description that fits the whole run, in order of preference
        // (BYDAY=nWD / -1WD are what Outlook's time-zone model understands).
        let mut candidates: Vec<WeekPos> = Vec::new();
        candidates.extend(nth.map(WeekPos::Nth));
        if last {
            candidates.push(WeekPos::Last);
        }
        candidates.extend((oa_lo..=oa_hi).map(WeekPos::OnOrAfter));

        if run.len() < 2 || candidates.is_empty() {
            out.push(TzComponent {
                obs: head.clone(),
                rrule: None,
            });
            continue;
        }
        for &j in &run {
            used[j] = true;
        }
        let tail = &obs[*run.last().unwrap_or(&i)];
        // Open-ended only if tzdb keeps following the rule for a full cycle
        // past the last onset seen; otherwise bound it at that onset.
        let ahead = tail.onset_local.year() + 1..=tail.onset_local.year() + RULE_CHECK_YEARS;
        let verified = candidates
            .iter()
            .copied()
            .find(|&p| rule_holds(tz, head, p, ahead.clone()));
        let pos = verified.unwrap_or(candidates[0]);
        let mut rule = format!("FREQ=YEARLY;BYMONTH={}", hd.month());
        match pos {
            WeekPos::Nth(n) => rule.push_str(&format!(";BYDAY={n}{}", byday(hd.weekday()))),
            WeekPos::Last => rule.push_str(&format!(";BYDAY=-1{}", byday(hd.weekday()))),
            WeekPos::OnOrAfter(d) => {
                let days: Vec<String> = (d..d + 7).map(|x| x.to_string()).collect();
                rule.push_str(&format!(
                    ";BYMONTHDAY={};BYDAY={}",
                    days.join(","),
                    byday(hd.weekday())
                ));
            }
        }
        if verified.is_none() {
            let until = DateTime::from_timestamp(tail.onset_utc, 0)
                .map(|t| t.naive_utc())
                .unwrap_or_default();
            rule.push_str(&format!(";UNTIL={}", fmt_utc(&until)));
        }
        out.push(TzComponent {
            obs: head.clone(),
            rrule: Some(rule),
        });
    }
    out.sort_by_key(|c| c.obs.onset_utc);
    out
}

// ---------------------------------------------------------------------------
// Value formatting
// ---------------------------------------------------------------------------

fn ymd_hms(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(y, m, d)?.and_hms_opt(h, mi, s)
}

fn ms_to_utc(ms: i64) -> NaiveDateTime {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.naive_utc())
        .filter(|t| (1..=9999).contains(&t.year()))
        .unwrap_or_default()
}

fn fmt_local(t: &NaiveDateTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}",
        t.year().clamp(0, 9999),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn fmt_utc(t: &NaiveDateTime) -> String {
    format!("{}Z", fmt_local(t))
}

fn fmt_offset(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    let (h, m, s) = (a / 3600, (a % 3600) / 60, a % 60);
    if s == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{s:02}")
    }
}

/// tzdb-style numeric abbreviation ("+01", "+0530") for zones without a name.
fn numeric_tzname(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    let (h, m) = (a / 3600, (a % 3600) / 60);
    if m == 0 {
        format!("{sign}{h:02}")
    } else {
        format!("{sign}{h:02}{m:02}")
    }
}

/// RFC 5545 TEXT escaping.
fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Parameter values can't contain DQUOTE or control characters.
fn param_value(s: &str, always_quote: bool) -> String {
    let clean: String = s
        .chars()
        .filter_map(|c| match c {
            '"' => Some('\''),
            '\t' | '\r' | '\n' => Some(' '),
            c if (c as u32) < 0x20 || c == '\u{7f}' => None,
            c => Some(c),
        })
        .collect();
    if always_quote || clean.contains([':', ';', ',']) {
        format!("\"{clean}\"")
    } else {
        clean
    }
}

/// URI values aren't escaped, so drop anything that would break the line.
fn sanitize_uri(s: &str) -> String {
    s.trim()
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| {
            if c == ' ' {
                "%20".to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `urn:uuid:` with a deterministic version-8 (RFC 9562) UUID derived from
/// `name`, so the same organiser gets the same address on every node.
fn name_urn(role: &str, name: &str) -> String {
    fn fnv1a(seed: u64, parts: &[&[u8]]) -> u64 {
        let mut h = seed;
        for p in parts {
            for &b in *p {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
            h ^= 0xff;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h
    }
    let parts: [&[u8]; 3] = [b"copnet", role.as_bytes(), name.trim().as_bytes()];
    let hi = fnv1a(0xcbf2_9ce4_8422_2325, &parts);
    let lo = fnv1a(0x84222325_cbf29ce4 ^ hi.rotate_left(29), &parts);
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&hi.to_be_bytes());
    b[8..].copy_from_slice(&lo.to_be_bytes());
    b[6] = (b[6] & 0x0f) | 0x80; // version 8
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 9562 variant
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

// ---------------------------------------------------------------------------
// Content-line writer with octet-based folding
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Writer {
    out: String,
}

impl Writer {
    /// Writes an already-encoded content line, folded.
    fn raw(&mut self, line: &str) {
        fold_into(&mut self.out, line);
    }

    /// `NAME:<escaped text>`.
    fn text(&mut self, name: &str, value: &str) {
        self.raw(&format!("{name}:{}", escape_text(value)));
    }

    /// `NAME;K=V;...:<value>`. Each parameter is `(key, value, always_quote)`;
    /// `value` is written as given.
    fn prop(&mut self, name: &str, params: &[(&str, &str, bool)], value: &str) {
        let mut line = String::from(name);
        for (k, v, q) in params {
            line.push(';');
            line.push_str(k);
            line.push('=');
            line.push_str(&param_value(v, *q));
        }
        line.push(':');
        line.push_str(value);
        self.raw(&line);
    }
}

/// Folds `line` into physical lines of at most 75 octets (continuations are a
/// space plus at most 74 octets), each ending in CRLF. A break never falls
/// inside a UTF-8 sequence or a backslash escape. It prefers spots with no
/// whitespace on either side, and after that spots that don't leave
/// whitespace at the end of a line.
fn fold_into(out: &mut String, line: &str) {
    const FIRST: usize = 75;
    const CONT: usize = 74;
    const LOOKBACK: usize = 24;

    if line.len() <= FIRST {
        out.push_str(line);
        out.push_str("\r\n");
        return;
    }
    let bytes = line.as_bytes();
    let mut breaks: Vec<usize> = Vec::with_capacity(line.len());
    let mut it = line.char_indices();
    while let Some((i, c)) = it.next() {
        if i > 0 {
            breaks.push(i);
        }
        if c == '\\' {
            it.next(); // the escaped character stays with its backslash
        }
    }
    let ws = |b: u8| b == b' ' || b == b'\t';

    let mut start = 0usize;
    let mut limit = FIRST;
    loop {
        if line.len() - start <= limit {
            out.push_str(&line[start..]);
            out.push_str("\r\n");
            return;
        }
        let max_end = start + limit;
        let lo = breaks.partition_point(|&b| b <= start);
        let hi = breaks.partition_point(|&b| b <= max_end);
        let window = &breaks[lo..hi];
        let near = |b: &&usize| **b + LOOKBACK >= max_end;
        let pick = window
            .iter()
            .rev()
            .take_while(near)
            .find(|&&b| !ws(bytes[b - 1]) && !ws(bytes[b]))
            .or_else(|| {
                window
                    .iter()
                    .rev()
                    .take_while(near)
                    .find(|&&b| !ws(bytes[b - 1]))
            })
            .or_else(|| window.last())
            .copied();
        let Some(end) = pick else {
            // Unreachable (an atom is at most 8 octets), but never loop or split a char.
            let mut end = max_end;
            while end > start && !line.is_char_boundary(end) {
                end -= 1;
            }
            if end == start {
                out.push_str(&line[start..]);
                out.push_str("\r\n");
                return;
            }
            out.push_str(&line[start..end]);
            out.push_str("\r\n ");
            start = end;
            limit = CONT;
            continue;
        };
        out.push_str(&line[start..end]);
        out.push_str("\r\n ");
        start = end;
        limit = CONT;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text() {
        assert_eq!(
            escape_text("a,b;c\\d\r\ne\nf\rg"),
            "a\\,b\\;c\\\\d\\ne\\nf\\ng"
        );
        assert_eq!(escape_text("x\u{1}y\u{7f}z\tq"), "xyz\tq");
    }

    #[test]
    fn folds_on_octets_and_char_boundaries() {
        let line = format!("DESCRIPTION:{}", "é🙂ж,".repeat(60));
        let mut out = String::new();
        fold_into(&mut out, &line);
        for l in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{} octets", l.len());
        }
        let unfolded = out.replace("\r\n ", "");
        assert_eq!(unfolded, format!("{line}\r\n"));
    }

    #[test]
    fn fold_keeps_escapes_together() {
        let line = format!("X:{}", "\\,".repeat(100));
        let mut out = String::new();
        fold_into(&mut out, &line);
        for l in out.split("\r\n ") {
            assert!(!l.ends_with('\\'), "split escape in {l:?}");
        }
    }

    #[test]
    fn week_positions_and_dates() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap(); // last Sunday of March
        assert_eq!(week_positions(d), (None, true, (23, 25)));
        assert_eq!(
            date_for(2029, 3, Weekday::Fri, WeekPos::OnOrAfter(23)),
            NaiveDate::from_ymd_opt(2029, 3, 23)
        );
        assert_eq!(
            date_for(2030, 3, Weekday::Fri, WeekPos::OnOrAfter(23)),
            NaiveDate::from_ymd_opt(2030, 3, 29)
        );
        assert_eq!(
            date_for(2027, 3, Weekday::Sun, WeekPos::Last),
            NaiveDate::from_ymd_opt(2027, 3, 28)
        );
        assert_eq!(
            date_for(2027, 3, Weekday::Sun, WeekPos::Nth(2)),
            NaiveDate::from_ymd_opt(2027, 3, 14)
        );
    }

    #[test]
    fn offsets_format() {
        assert_eq!(fmt_offset(-18000), "-0500");
        assert_eq!(fmt_offset(19800), "+0530");
        assert_eq!(fmt_offset(-17762), "-045602");
        assert_eq!(numeric_tzname(3600), "+01");
    }

    #[test]
    fn urn_is_deterministic_uuid() {
        let a = name_urn("organizer", "Agence Québec");
        assert_eq!(a, name_urn("organizer", "Agence Québec"));
        assert_ne!(a, name_urn("organizer", "Other"));
        assert_eq!(a.len(), "urn:uuid:".len() + 36);
        assert_eq!(&a[9 + 14..9 + 15], "8");
    }
}
