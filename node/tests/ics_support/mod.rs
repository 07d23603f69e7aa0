//! Test helpers. Everything here reads the generated text through the `ical`
//! crate (independent of the generator) and re-derives times from the parsed
//! data only; chrono-tz is used solely as the oracle.
#![allow(dead_code)]

use std::io::BufReader;

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use copnet_node::ics::{CalendarEvent, PartStat};
use ical::parser::ical::component::{
    IcalCalendar, IcalEvent, IcalTimeZone, IcalTimeZoneTransitionType,
};
use ical::property::Property;

pub const NOW_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

pub fn dt(y: i32, m: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(h, mi, 0)
        .unwrap()
}

pub fn event(uid: &str, tz: Tz, start: NaiveDateTime, rrule: Option<&str>) -> CalendarEvent {
    CalendarEvent {
        uid: uid.to_string(),
        title: "Monthly practice call".to_string(),
        kind: "call".to_string(),
        description: "Agenda: intros, case review".to_string(),
        location: None,
        url: Some("https://meet.example.org/cop-call".to_string()),
        start_local: start,
        tz,
        duration_minutes: 60,
        rrule: rrule.map(str::to_string),
        cancelled: false,
        cancelled_occurrences: vec![],
        sequence: 3,
        created_ms: 1_760_000_000_000,
        last_modified_ms: 1_765_000_000_000,
        organizer: Some("Family Services of Example".to_string()),
        attendees: vec![],
    }
}

pub fn partstat_str(p: PartStat) -> &'static str {
    p.as_ical()
}

/// Parses with the `ical` crate; exactly one VCALENDAR expected.
pub fn parse(text: &str) -> IcalCalendar {
    let mut parser = ical::IcalParser::new(BufReader::new(text.as_bytes()));
    let cal = parser
        .next()
        .expect("one VCALENDAR")
        .unwrap_or_else(|e| panic!("ical parse error: {e}\n{text}"));
    assert!(parser.next().is_none(), "exactly one VCALENDAR");
    cal
}

pub fn props<'a>(props: &'a [Property], name: &str) -> Vec<&'a Property> {
    props.iter().filter(|p| p.name == name).collect()
}

pub fn prop<'a>(properties: &'a [Property], name: &str) -> Option<&'a Property> {
    let found = props(properties, name);
    assert!(found.len() <= 1, "{name} appears {} times", found.len());
    found.into_iter().next()
}

pub fn value<'a>(properties: &'a [Property], name: &str) -> Option<&'a str> {
    prop(properties, name).map(|p| p.value.as_deref().unwrap_or(""))
}

pub fn param<'a>(p: &'a Property, key: &str) -> Option<&'a str> {
    p.params
        .as_ref()?
        .iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.first())
        .map(String::as_str)
}

/// RFC 5545 TEXT unescaping (the `ical` crate leaves values escaped).
pub fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') | Some('N') => out.push('\n'),
                Some(x) => out.push(x),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub fn text(properties: &[Property], name: &str) -> Option<String> {
    value(properties, name).map(unescape)
}

pub fn parse_local(v: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S").unwrap_or_else(|e| panic!("{v}: {e}"))
}

pub fn parse_utc(v: &str) -> NaiveDateTime {
    assert!(v.ends_with('Z'), "{v} not UTC");
    parse_local(&v[..v.len() - 1])
}

pub fn parse_offset(v: &str) -> i64 {
    let sign = if v.starts_with('-') { -1 } else { 1 };
    let d = &v[1..];
    let h: i64 = d[0..2].parse().unwrap();
    let m: i64 = d[2..4].parse().unwrap();
    let s: i64 = if d.len() >= 6 {
        d[4..6].parse().unwrap()
    } else {
        0
    };
    sign * (h * 3600 + m * 60 + s)
}

pub fn masters(cal: &IcalCalendar) -> Vec<&IcalEvent> {
    cal.events
        .iter()
        .filter(|e| prop(&e.properties, "RECURRENCE-ID").is_none())
        .collect()
}

pub fn overrides<'a>(cal: &'a IcalCalendar, uid: &str) -> Vec<&'a IcalEvent> {
    cal.events
        .iter()
        .filter(|e| {
            prop(&e.properties, "RECURRENCE-ID").is_some()
                && value(&e.properties, "UID") == Some(uid)
        })
        .collect()
}

pub fn event_by_uid<'a>(cal: &'a IcalCalendar, uid: &str) -> &'a IcalEvent {
    let m: Vec<_> = masters(cal)
        .into_iter()
        .filter(|e| value(&e.properties, "UID") == Some(uid))
        .collect();
    assert_eq!(m.len(), 1, "one master for {uid}");
    m[0]
}

/// Expands an RRULE in floating wall-clock time (naive local as UTC), as RFC
/// 5545 defines recurrence on local time. `until_local` caps the expansion.
pub fn expand_floating(
    rrule_value: &str,
    dtstart: NaiveDateTime,
    until_local: Option<NaiveDateTime>,
    limit: usize,
) -> Vec<NaiveDateTime> {
    let r: rrule::RRule<rrule::Unvalidated> = rrule_value
        .parse()
        .unwrap_or_else(|e| panic!("{rrule_value}: {e}"));
    let r = match until_local {
        Some(u) => r.until(rrule::Tz::UTC.from_utc_datetime(&u)),
        None => r,
    };
    let set = r
        .build(rrule::Tz::UTC.from_utc_datetime(&dtstart))
        .unwrap()
        .limit();
    (&set)
        .into_iter()
        .take(limit)
        .map(|d| d.naive_utc())
        .collect()
}

/// Time-zone resolver built only from a parsed VTIMEZONE.
#[derive(Debug)]
pub struct ParsedZone {
    pub tzid: String,
    /// (onset as UTC seconds, offset-from, offset-to, onset local), sorted.
    pub onsets: Vec<(i64, i64, i64, NaiveDateTime)>,
    /// Every distinct offset that appears.
    pub offsets: Vec<i64>,
}

impl ParsedZone {
    pub fn from_ical(tz: &IcalTimeZone, through_year: i32) -> ParsedZone {
        let tzid = value(&tz.properties, "TZID").expect("TZID").to_string();
        let mut onsets = Vec::new();
        assert!(!tz.transitions.is_empty(), "{tzid}: no STANDARD/DAYLIGHT");
        let end = NaiveDate::from_ymd_opt(through_year, 12, 31)
            .unwrap()
            .and_hms_opt(23, 59, 59)
            .unwrap();
        for tr in &tz.transitions {
            let _kind = matches!(tr.transition, IcalTimeZoneTransitionType::STANDARD);
            let p = &tr.properties;
            let start = parse_local(value(p, "DTSTART").expect("DTSTART"));
            let from = parse_offset(value(p, "TZOFFSETFROM").expect("TZOFFSETFROM"));
            let to = parse_offset(value(p, "TZOFFSETTO").expect("TZOFFSETTO"));
            assert!(value(p, "TZNAME").is_some(), "TZNAME present");
            assert!(prop(p, "RDATE").is_none(), "generator does not use RDATE");
            let locals = match value(p, "RRULE") {
                None => vec![start],
                Some(rule) => {
                    // UNTIL is UTC; onsets are local in TZOFFSETFROM.
                    let r: rrule::RRule<rrule::Unvalidated> = rule.parse().unwrap();
                    let until_local = r
                        .get_until()
                        .map(|u| u.naive_utc() + Duration::seconds(from));
                    let cap = until_local.map_or(end, |u| u.min(end));
                    let rule_wo_until: String = rule
                        .split(';')
                        .filter(|part| !part.starts_with("UNTIL="))
                        .collect::<Vec<_>>()
                        .join(";");
                    expand_floating(&rule_wo_until, start, Some(cap.max(start)), 1000)
                }
            };
            for l in locals {
                let utc = (l - Duration::seconds(from)).and_utc().timestamp();
                onsets.push((utc, from, to, l));
            }
        }
        onsets.sort();
        let mut offsets: Vec<i64> = onsets.iter().flat_map(|o| [o.1, o.2]).collect();
        offsets.sort();
        offsets.dedup();
        ParsedZone {
            tzid,
            onsets,
            offsets,
        }
    }

    /// Offset in force at a UTC instant (latest onset at or before it).
    pub fn offset_at_utc(&self, utc: i64) -> Option<i64> {
        let i = self.onsets.partition_point(|o| o.0 <= utc);
        if i == 0 {
            None
        } else {
            Some(self.onsets[i - 1].2)
        }
    }

    /// RFC 5545 §3.3.5: ambiguous → first occurrence; non-existent → offset
    /// before the gap.
    pub fn to_utc(&self, local: NaiveDateTime) -> i64 {
        let l = local.and_utc().timestamp();
        let valid: Vec<i64> = self
            .offsets
            .iter()
            .map(|o| l - o)
            .filter(|u| self.offset_at_utc(*u) == Some(l - u))
            .collect();
        if let Some(earliest) = valid.iter().min() {
            return *earliest;
        }
        // Gap: find the forward transition whose skipped wall-clock range contains l.
        for &(_, from, to, onset_local) in &self.onsets {
            let ol = onset_local.and_utc().timestamp();
            if to > from && ol <= l && l < ol + (to - from) {
                return l - from;
            }
        }
        panic!("{}: cannot resolve {local}", self.tzid);
    }
}

pub fn zone<'a>(cal: &'a IcalCalendar, tzid: &str) -> &'a IcalTimeZone {
    let z: Vec<_> = cal
        .timezones
        .iter()
        .filter(|z| value(&z.properties, "TZID") == Some(tzid))
        .collect();
    assert_eq!(z.len(), 1, "exactly one VTIMEZONE {tzid}");
    z[0]
}

/// chrono-tz oracle with the same RFC 5545 rules for gaps and overlaps.
pub fn oracle_utc(tz: Tz, local: NaiveDateTime) -> i64 {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.timestamp(),
        LocalResult::Ambiguous(a, b) => a.timestamp().min(b.timestamp()),
        LocalResult::None => {
            let before = tz.offset_from_utc_datetime(&(local - Duration::days(1)));
            let off = chrono::Offset::fix(&before).local_minus_utc() as i64;
            local.and_utc().timestamp() - off
        }
    }
}

pub fn utc(secs: i64) -> NaiveDateTime {
    DateTime::from_timestamp(secs, 0).unwrap().naive_utc()
}

/// Physical-line checks on the raw bytes: CRLF only, ≤75 octets, valid UTF-8.
pub fn assert_wire_format(text: &str) {
    let bytes = text.as_bytes();
    assert!(text.ends_with("\r\n"), "ends with CRLF");
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            assert!(i > 0 && bytes[i - 1] == b'\r', "bare LF at byte {i}");
        }
        if b == b'\r' {
            assert!(bytes.get(i + 1) == Some(&b'\n'), "bare CR at byte {i}");
        }
    }
    for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        assert!(
            line.len() <= 75,
            "line {n} has {} octets: {:?}",
            line.len(),
            String::from_utf8_lossy(line)
        );
        assert!(
            std::str::from_utf8(line).is_ok(),
            "line {n} splits a UTF-8 sequence"
        );
        assert!(
            !line.iter().any(|&c| c < 0x20 && c != b'\t'),
            "control char in line {n}"
        );
    }
}

/// For ordinary text, folds never sit next to whitespace: no physical line
/// ends in whitespace and no continuation carries whitespace after the fold
/// space (some parsers trim either side).
pub fn assert_fold_friendly(text: &str) {
    for line in text.split("\r\n") {
        assert!(
            !line.ends_with(' ') && !line.ends_with('\t'),
            "line ends in whitespace: {line:?}"
        );
        if let Some(rest) = line.strip_prefix(' ') {
            assert!(
                !rest.starts_with(' ') && !rest.starts_with('\t'),
                "continuation starts with whitespace: {line:?}"
            );
        }
    }
}
