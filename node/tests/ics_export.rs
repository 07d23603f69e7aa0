//! Properties, escaping/folding round-trips, cancellations, stability and odd
//! input. Everything is checked on the output as parsed by the independent
//! `ical` crate.
//!
//! Two quirks of the `ical` crate (not of the generated files) affect what test
//! text can contain: it trims trailing whitespace from every physical line, and
//! it strips leading `:` from values. So the test strings neither end in
//! whitespace nor start with `:`. The generator avoids folding right after
//! whitespace, so inner spaces survive even with that parser.

mod ics_support;

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDateTime};
use copnet_node::ics::{
    Attendee, CalendarEvent, CalendarOptions, PRODID, PartStat, calendar, calendar_with_options,
};
use ics_support::*;

fn tricky_event() -> CalendarEvent {
    let mut e = event(
        "evt_3xKq9@copnet",
        chrono_tz::America::Toronto,
        dt(2026, 1, 1, 15, 0),
        Some("FREQ=MONTHLY;BYDAY=1TH"),
    );
    e.title = "Réunion mensuelle; \"CoP\", logement — 住宅 🏠 \\ backslash".to_string();
    e.description = format!(
        "Agenda:\n1. Intros, updates; new members\r\n2. Case review (ملخص الحالة) — 讨论\n\n3. Emoji 👩🏽‍⚕️🧑‍🤝‍🧑 and ümlauts\tafter a tab\n{}",
        "Long line with many words that has to be folded several times over, with commas, semicolons; and more. ".repeat(6).trim_end()
    );
    e.location = Some("Room 4, 123 Main St; Toronto".to_string());
    e.organizer = Some("Family Services, \"Toronto\" 🏠".to_string());
    e.attendees = vec![
        Attendee {
            name: "Aïcha O'Neil, MSW".to_string(),
            partstat: PartStat::Accepted,
        },
        Attendee {
            name: "陈小明".to_string(),
            partstat: PartStat::Tentative,
        },
        Attendee {
            name: "Bob \"The Builder\"\nSmith".to_string(),
            partstat: PartStat::Declined,
        },
    ];
    e.sequence = 7;
    e
}

#[test]
fn calendar_level_properties() {
    let out = calendar("CoP: Housing, Québec; 🏠", &[tricky_event()], NOW_MS);
    assert_wire_format(&out);
    assert!(out.starts_with("BEGIN:VCALENDAR\r\n"));
    assert!(out.ends_with("END:VCALENDAR\r\n"));
    let cal = parse(&out);
    assert_eq!(value(&cal.properties, "VERSION"), Some("2.0"));
    assert_eq!(value(&cal.properties, "PRODID"), Some(PRODID));
    assert_eq!(PRODID, "-//copnet//copnet 0.1//EN");
    assert_eq!(value(&cal.properties, "CALSCALE"), Some("GREGORIAN"));
    assert_eq!(value(&cal.properties, "METHOD"), Some("PUBLISH"));
    assert_eq!(
        text(&cal.properties, "X-WR-CALNAME").as_deref(),
        Some("CoP: Housing, Québec; 🏠")
    );
}

#[test]
fn event_properties_and_text_round_trip() {
    let src = tricky_event();
    let out = calendar("CoP", std::slice::from_ref(&src), NOW_MS);
    assert_wire_format(&out);
    assert_fold_friendly(&out);
    assert!(out.contains("\r\n "), "long lines are folded");
    let cal = parse(&out);
    assert_eq!(cal.events.len(), 1);
    let ev = &cal.events[0].properties;

    assert_eq!(value(ev, "UID"), Some("evt_3xKq9@copnet"));
    assert_eq!(value(ev, "SEQUENCE"), Some("7"));
    assert_eq!(value(ev, "STATUS"), Some("CONFIRMED"));
    assert_eq!(value(ev, "RRULE"), Some("FREQ=MONTHLY;BYDAY=1TH"));
    assert_eq!(value(ev, "DTSTAMP"), Some("20260101T000000Z"));
    assert_eq!(
        parse_utc(value(ev, "CREATED").unwrap()),
        utc(src.created_ms / 1000)
    );
    assert_eq!(
        parse_utc(value(ev, "LAST-MODIFIED").unwrap()),
        utc(src.last_modified_ms / 1000)
    );

    let start = prop(ev, "DTSTART").unwrap();
    assert_eq!(param(start, "TZID"), Some("America/Toronto"));
    assert_eq!(start.value.as_deref(), Some("20260101T150000"));
    let end = prop(ev, "DTEND").unwrap();
    assert_eq!(param(end, "TZID"), Some("America/Toronto"));
    assert_eq!(end.value.as_deref(), Some("20260101T160000"));

    // TEXT round-trips (CRLF becomes LF, which is what \n means).
    assert_eq!(text(ev, "SUMMARY").unwrap(), src.title);
    let expected_desc = format!(
        "{}\n\n{}",
        src.description.replace("\r\n", "\n"),
        src.url.as_deref().unwrap()
    );
    assert_eq!(text(ev, "DESCRIPTION").unwrap(), expected_desc);
    assert_eq!(text(ev, "LOCATION").as_deref(), src.location.as_deref());
    assert_eq!(value(ev, "URL"), src.url.as_deref());
    assert_eq!(text(ev, "CATEGORIES").as_deref(), Some("call"));

    // ORGANIZER / ATTENDEE: CN kept (DQUOTE can't appear in a parameter value),
    // URN addresses, PARTSTAT.
    let org = prop(ev, "ORGANIZER").unwrap();
    assert_eq!(param(org, "CN"), Some("Family Services, 'Toronto' 🏠"));
    assert!(org.value.as_deref().unwrap().starts_with("urn:uuid:"));
    let atts = props(ev, "ATTENDEE");
    assert_eq!(atts.len(), 3);
    let got: Vec<(&str, &str)> = atts
        .iter()
        .map(|a| (param(a, "CN").unwrap(), param(a, "PARTSTAT").unwrap()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("Aïcha O'Neil, MSW", partstat_str(PartStat::Accepted)),
            ("陈小明", "TENTATIVE"),
            ("Bob 'The Builder' Smith", "DECLINED"),
        ]
    );
    for a in &atts {
        assert!(a.value.as_deref().unwrap().starts_with("urn:uuid:"));
    }
}

#[test]
fn every_tzid_has_exactly_one_vtimezone() {
    let events = vec![
        event(
            "a@copnet",
            chrono_tz::America::Toronto,
            dt(2026, 1, 1, 15, 0),
            Some("FREQ=MONTHLY;BYDAY=1TH"),
        ),
        event(
            "b@copnet",
            chrono_tz::America::Toronto,
            dt(2027, 5, 5, 9, 0),
            None,
        ),
        event(
            "c@copnet",
            chrono_tz::Europe::London,
            dt(2026, 3, 3, 10, 0),
            Some("FREQ=WEEKLY;BYDAY=TU"),
        ),
        event(
            "d@copnet",
            chrono_tz::Australia::Sydney,
            dt(2026, 3, 4, 18, 0),
            None,
        ),
        event(
            "e@copnet",
            chrono_tz::Asia::Kolkata,
            dt(2026, 3, 4, 18, 0),
            None,
        ),
    ];
    let out = calendar("CoP", &events, NOW_MS);
    assert_wire_format(&out);
    let cal = parse(&out);
    let used: BTreeSet<&str> = cal
        .events
        .iter()
        .flat_map(|e| e.properties.iter())
        .filter_map(|p| param(p, "TZID"))
        .collect();
    let defined: Vec<&str> = cal
        .timezones
        .iter()
        .map(|z| value(&z.properties, "TZID").unwrap())
        .collect();
    assert_eq!(
        used.iter().copied().collect::<Vec<_>>(),
        defined,
        "one VTIMEZONE per TZID, sorted, none unused"
    );
    for z in &cal.timezones {
        assert!(!z.transitions.is_empty());
        for t in &z.transitions {
            for key in ["DTSTART", "TZOFFSETFROM", "TZOFFSETTO", "TZNAME"] {
                assert!(
                    value(&t.properties, key).is_some(),
                    "{key} in sub-component"
                );
            }
        }
    }
}

#[test]
fn output_is_stable() {
    let mut events = vec![
        tricky_event(),
        event(
            "b@copnet",
            chrono_tz::Europe::London,
            dt(2026, 3, 3, 10, 0),
            Some("FREQ=WEEKLY;BYDAY=TU"),
        ),
        event(
            "a@copnet",
            chrono_tz::Australia::Sydney,
            dt(2026, 3, 4, 18, 0),
            None,
        ),
    ];
    events[0].cancelled_occurrences = vec![dt(2026, 4, 2, 15, 0), dt(2026, 2, 5, 15, 0)];
    let one = calendar("CoP", &events, NOW_MS);
    assert_eq!(
        one,
        calendar("CoP", &events, NOW_MS),
        "same input, same bytes"
    );

    let mut reversed = events.clone();
    reversed.reverse();
    reversed[2].cancelled_occurrences.reverse();
    assert_eq!(
        one,
        calendar("CoP", &reversed, NOW_MS),
        "input order doesn't matter"
    );

    // A different export time changes only DTSTAMP.
    let later = calendar("CoP", &events, NOW_MS + 86_400_000 * 400);
    let a: Vec<&str> = one.split("\r\n").collect();
    let b: Vec<&str> = later.split("\r\n").collect();
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        if x != y {
            assert!(
                x.starts_with("DTSTAMP:") && y.starts_with("DTSTAMP:"),
                "{x} vs {y}"
            );
        }
    }
    let cal = parse(&later);
    for e in &cal.events {
        assert_eq!(value(&e.properties, "DTSTAMP"), Some("20270205T000000Z"));
    }
    // UIDs are exactly the caller's.
    let uids: BTreeSet<&str> = cal
        .events
        .iter()
        .map(|e| value(&e.properties, "UID").unwrap())
        .collect();
    assert_eq!(
        uids,
        BTreeSet::from(["a@copnet", "b@copnet", "evt_3xKq9@copnet"])
    );
}

#[test]
fn cancelled_series_and_occurrences() {
    let tz = chrono_tz::America::Toronto;
    let mut series = event(
        "evt_series@copnet",
        tz,
        dt(2026, 1, 1, 15, 0),
        Some("FREQ=MONTHLY;BYDAY=1TH"),
    );
    series.sequence = 4;
    series.cancelled_occurrences = vec![
        dt(2026, 4, 2, 15, 0),  // EDT occurrence
        dt(2026, 2, 5, 15, 0),  // EST occurrence
        dt(2026, 2, 5, 15, 0),  // duplicate
        dt(2026, 2, 6, 15, 0),  // not an occurrence: dropped
        dt(2025, 12, 4, 15, 0), // before DTSTART: dropped
    ];
    let mut gone = event(
        "evt_gone@copnet",
        tz,
        dt(2026, 2, 10, 11, 0),
        Some("FREQ=WEEKLY"),
    );
    gone.cancelled = true;
    let mut one_off = event("evt_oneoff@copnet", tz, dt(2026, 2, 10, 11, 0), None);
    one_off.cancelled_occurrences = vec![dt(2026, 2, 10, 11, 0)]; // ignored: not recurring

    let out = calendar("CoP", &[series, gone, one_off], NOW_MS);
    assert_wire_format(&out);
    let cal = parse(&out);

    // Whole series cancelled: master carries STATUS:CANCELLED.
    let g = event_by_uid(&cal, "evt_gone@copnet");
    assert_eq!(value(&g.properties, "STATUS"), Some("CANCELLED"));
    assert!(overrides(&cal, "evt_gone@copnet").is_empty());
    assert!(overrides(&cal, "evt_oneoff@copnet").is_empty());
    assert_eq!(
        value(
            &event_by_uid(&cal, "evt_oneoff@copnet").properties,
            "STATUS"
        ),
        Some("CONFIRMED")
    );

    // Single occurrences: overrides with RECURRENCE-ID = a real occurrence.
    let master = event_by_uid(&cal, "evt_series@copnet");
    assert_eq!(value(&master.properties, "STATUS"), Some("CONFIRMED"));
    let mstart = parse_local(value(&master.properties, "DTSTART").unwrap());
    let occurrences: BTreeSet<NaiveDateTime> = expand_floating(
        value(&master.properties, "RRULE").unwrap(),
        mstart,
        None,
        24,
    )
    .into_iter()
    .collect();
    let ovs = overrides(&cal, "evt_series@copnet");
    assert_eq!(ovs.len(), 2);
    let z = ParsedZone::from_ical(zone(&cal, "America/Toronto"), 2030);
    let mut rids = Vec::new();
    for o in &ovs {
        let p = &o.properties;
        let rid = prop(p, "RECURRENCE-ID").unwrap();
        assert_eq!(param(rid, "TZID"), Some("America/Toronto"));
        let rid_local = parse_local(rid.value.as_deref().unwrap());
        assert!(
            occurrences.contains(&rid_local),
            "{rid_local} is an occurrence"
        );
        assert_eq!(value(p, "DTSTART"), rid.value.as_deref(), "unmoved");
        assert_eq!(value(p, "STATUS"), Some("CANCELLED"));
        assert_eq!(value(p, "SEQUENCE"), Some("4"));
        assert_eq!(value(p, "UID"), Some("evt_series@copnet"));
        assert!(prop(p, "RRULE").is_none() && prop(p, "EXDATE").is_none());
        rids.push((rid_local, utc(z.to_utc(rid_local))));
    }
    rids.sort();
    assert_eq!(
        rids,
        vec![
            (dt(2026, 2, 5, 15, 0), dt(2026, 2, 5, 20, 0)),
            (dt(2026, 4, 2, 15, 0), dt(2026, 4, 2, 19, 0))
        ]
    );

    // Default: EXDATE on the master too, same local times.
    let exdates: Vec<NaiveDateTime> = props(&master.properties, "EXDATE")
        .iter()
        .map(|p| {
            assert_eq!(param(p, "TZID"), Some("America/Toronto"));
            parse_local(p.value.as_deref().unwrap())
        })
        .collect();
    assert_eq!(exdates, vec![dt(2026, 2, 5, 15, 0), dt(2026, 4, 2, 15, 0)]);

    // Option off: override only.
    let opts = CalendarOptions {
        exdate_for_cancelled_occurrences: false,
        ..CalendarOptions::default()
    };
    let mut s2 = event(
        "evt_series@copnet",
        tz,
        dt(2026, 1, 1, 15, 0),
        Some("FREQ=MONTHLY;BYDAY=1TH"),
    );
    s2.cancelled_occurrences = vec![dt(2026, 4, 2, 15, 0)];
    let cal2 = parse(&calendar_with_options("CoP", &[s2], NOW_MS, &opts));
    assert!(
        props(
            &event_by_uid(&cal2, "evt_series@copnet").properties,
            "EXDATE"
        )
        .is_empty()
    );
    assert_eq!(overrides(&cal2, "evt_series@copnet").len(), 1);
}

#[test]
fn non_recurring_no_dst_and_southern_zones() {
    let cases = [
        (
            chrono_tz::Asia::Kolkata,
            dt(2026, 7, 15, 18, 30),
            dt(2026, 7, 15, 13, 0),
            false,
        ),
        (
            chrono_tz::Australia::Brisbane,
            dt(2026, 1, 15, 9, 0),
            dt(2026, 1, 14, 23, 0),
            false,
        ),
        (
            chrono_tz::Australia::Sydney,
            dt(2026, 1, 15, 9, 0),
            dt(2026, 1, 14, 22, 0),
            true,
        ), // AEDT
        (
            chrono_tz::Australia::Sydney,
            dt(2026, 7, 15, 9, 0),
            dt(2026, 7, 14, 23, 0),
            true,
        ), // AEST
        (
            chrono_tz::Pacific::Auckland,
            dt(2026, 1, 15, 9, 0),
            dt(2026, 1, 14, 20, 0),
            true,
        ), // NZDT
        (
            chrono_tz::America::Toronto,
            dt(2026, 7, 15, 15, 0),
            dt(2026, 7, 15, 19, 0),
            true,
        ),
    ];
    for (tz, local, want_utc, has_dst) in cases {
        let mut e = event("one@copnet", tz, local, None);
        e.duration_minutes = 90;
        e.url = None;
        e.organizer = None;
        let out = calendar("x", &[e], NOW_MS);
        assert_wire_format(&out);
        let cal = parse(&out);
        let ev = event_by_uid(&cal, "one@copnet");
        assert!(prop(&ev.properties, "RRULE").is_none());
        assert!(
            prop(&ev.properties, "URL").is_none() && prop(&ev.properties, "ORGANIZER").is_none()
        );
        assert_eq!(
            text(&ev.properties, "DESCRIPTION").as_deref(),
            Some("Agenda: intros, case review")
        );
        let tzc = zone(&cal, tz.name());
        let kinds: Vec<bool> = tzc
            .transitions
            .iter()
            .map(|t| {
                matches!(
                    t.transition,
                    ical::parser::ical::component::IcalTimeZoneTransitionType::DAYLIGHT
                )
            })
            .collect();
        if has_dst {
            assert!(
                kinds.contains(&true) && kinds.contains(&false),
                "{}: STANDARD and DAYLIGHT",
                tz.name()
            );
        } else {
            assert_eq!(kinds, vec![false], "{}: a single STANDARD", tz.name());
        }
        let z = ParsedZone::from_ical(tzc, 2027);
        let start = parse_local(value(&ev.properties, "DTSTART").unwrap());
        let end = parse_local(value(&ev.properties, "DTEND").unwrap());
        assert_eq!(utc(z.to_utc(start)), want_utc, "{}", tz.name());
        assert_eq!(z.to_utc(end) - z.to_utc(start), 90 * 60);
    }
}

#[test]
fn attendees_only_when_given() {
    let out = calendar(
        "x",
        &[event(
            "a@copnet",
            chrono_tz::UTC,
            dt(2026, 1, 1, 9, 0),
            None,
        )],
        NOW_MS,
    );
    assert!(!out.contains("ATTENDEE"));
    let cal = parse(&out);
    assert!(props(&cal.events[0].properties, "ATTENDEE").is_empty());
}

#[test]
fn end_in_repeated_hour_uses_duration_and_gap_start_resolves() {
    let tz = chrono_tz::America::Toronto;
    // Starts 01:30 EDT on the fall-back day; 60 min later the wall clock reads
    // 01:30 again (EST), which DTEND can't express, so DURATION is used.
    let a = event("fall@copnet", tz, dt(2026, 11, 1, 1, 30), None);
    // Starts at 02:30 on the spring-forward day, a time that doesn't exist:
    // RFC 5545 reads it with the pre-gap offset (07:30Z); it ends 60 min later.
    let b = event("spring@copnet", tz, dt(2026, 3, 8, 2, 30), None);
    let out = calendar("x", &[a, b], NOW_MS);
    assert_wire_format(&out);
    let cal = parse(&out);
    let z = ParsedZone::from_ical(zone(&cal, "America/Toronto"), 2027);

    let fall = &event_by_uid(&cal, "fall@copnet").properties;
    assert!(prop(fall, "DTEND").is_none());
    assert_eq!(value(fall, "DURATION"), Some("PT60M"));
    assert_eq!(
        utc(z.to_utc(parse_local(value(fall, "DTSTART").unwrap()))),
        dt(2026, 11, 1, 5, 30)
    );

    let spring = &event_by_uid(&cal, "spring@copnet").properties;
    let s = z.to_utc(parse_local(value(spring, "DTSTART").unwrap()));
    let e = z.to_utc(parse_local(value(spring, "DTEND").unwrap()));
    assert_eq!(utc(s), dt(2026, 3, 8, 7, 30));
    assert_eq!(e - s, 3600);
}

#[test]
fn odd_input_never_panics_and_stays_well_formed() {
    let base = event(
        "odd@copnet",
        chrono_tz::America::Toronto,
        dt(2026, 1, 1, 15, 0),
        None,
    );
    let huge = "Ligne avec CR\rLF\nCRLF\r\n, virgule; point-virgule \\ 🧪 ".repeat(4000);
    let mut cases: Vec<CalendarEvent> = Vec::new();
    let mut push = |f: &dyn Fn(&mut CalendarEvent)| {
        let mut e = base.clone();
        f(&mut e);
        cases.push(e);
    };
    push(&|e| {
        e.title.clear();
        e.description.clear();
        e.kind.clear();
        e.location = Some(String::new());
        e.url = Some(String::new());
        e.organizer = Some("   ".into());
    });
    push(&|e| e.description = huge.clone());
    push(&|e| e.title = "🏠".repeat(500));
    push(&|e| {
        e.title =
            "a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a"
                .into()
    });
    push(&|e| e.title = " ".repeat(200) + "x");
    push(&|e| e.title = "\\".repeat(300));
    push(&|e| e.title = "ctrl\u{0}\u{1}\u{7}\u{1b}\u{7f}chars\r\n\rdone".into());
    push(&|e| e.duration_minutes = 0);
    push(&|e| e.duration_minutes = u32::MAX);
    push(&|e| e.rrule = Some("garbage".into()));
    push(&|e| e.rrule = Some("".into()));
    push(&|e| e.rrule = Some("RRULE:FREQ=WEEKLY;COUNT=5".into()));
    push(&|e| e.rrule = Some("FREQ=DAILY\r\nX-INJECTED:1".into()));
    push(&|e| e.rrule = Some("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30".into()));
    push(&|e| e.rrule = Some("FREQ=SECONDLY;COUNT=1000000".into()));
    push(&|e| e.rrule = Some("FREQ=DAILY;UNTIL=99991231T235959Z".into()));
    push(&|e| {
        e.rrule = Some("FREQ=MINUTELY".into());
        e.cancelled_occurrences = vec![dt(2090, 1, 1, 0, 0), dt(1990, 1, 1, 0, 0)];
    });
    push(&|e| e.start_local = dt(1, 1, 1, 0, 0));
    push(&|e| e.start_local = dt(9999, 12, 31, 23, 0));
    push(&|e| {
        e.created_ms = i64::MIN;
        e.last_modified_ms = i64::MAX;
        e.sequence = u32::MAX;
    });
    push(&|e| e.url = Some(" https://x.example/a b\r\nX-INJECTED:1 ".into()));
    push(&|e| e.location = Some("\n".into()));
    push(&|e| {
        e.attendees = vec![
            Attendee {
                name: "\"\";:,\r\n".into(),
                partstat: PartStat::Accepted,
            },
            Attendee {
                name: String::new(),
                partstat: PartStat::Declined,
            },
        ];
        e.organizer = Some("a\"b;c:d,e".into());
    });
    push(&|e| e.tz = chrono_tz::UTC);
    push(&|e| e.tz = chrono_tz::Pacific::Kiritimati);

    for (i, e) in cases.iter().enumerate() {
        let mut e = e.clone();
        e.uid = format!("odd-{i}@copnet");
        for name in ["", "x", "line\r\nbreak; name, \"quoted\""] {
            let out = calendar(name, std::slice::from_ref(&e), i64::MIN);
            assert_wire_format(&out);
            let cal = parse(&out);
            assert!(
                !out.contains("\r\nX-INJECTED"),
                "case {i}: injected property"
            );
            if (1..=9999).contains(&e.start_local.year()) {
                let m = event_by_uid(&cal, &e.uid);
                assert!(prop(&m.properties, "DTSTART").is_some(), "case {i}");
                assert!(
                    prop(&m.properties, "DTEND").is_some()
                        ^ prop(&m.properties, "DURATION").is_some(),
                    "case {i}"
                );
                assert!(prop(&m.properties, "X-INJECTED").is_none());
            }
            if name.is_empty() {
                assert!(value(&cal.properties, "X-WR-CALNAME").is_none());
            }
        }
    }

    // Round-trip of the pathological texts. RFC unfolding (drop CRLF + one
    // space) on the raw bytes for all of them, the `ical` crate as well where
    // its whitespace trimming doesn't apply (case 4 is a run of 200 spaces,
    // which can't be folded without a line ending in a space).
    for (i, e) in cases.iter().enumerate().take(7).skip(1) {
        let out = calendar("x", std::slice::from_ref(e), NOW_MS);
        let want: String = e
            .title
            .replace("\r\n", "\n")
            .replace('\r', "\n")
            .chars()
            .filter(|c| *c == '\n' || *c == '\t' || (*c as u32 >= 0x20 && *c != '\u{7f}'))
            .collect();
        let unfolded = out.replace("\r\n ", "");
        let raw = unfolded
            .split("\r\n")
            .find_map(|l| l.strip_prefix("SUMMARY:"))
            .expect("SUMMARY line");
        assert_eq!(unescape(raw), want, "case {i} (raw unfold)");
        if i != 4 {
            let cal = parse(&out);
            let ev = event_by_uid(&cal, "odd@copnet");
            assert_eq!(
                text(&ev.properties, "SUMMARY").unwrap_or_default(),
                want,
                "case {i} (ical crate)"
            );
        }
    }

    // The RRULE prefix is stripped; CR/LF can't start a new property.
    let out = calendar("x", &cases[11..12], NOW_MS);
    assert!(out.contains("\r\nRRULE:FREQ=WEEKLY;COUNT=5\r\n"));
    let out = calendar("x", &cases[12..13], NOW_MS);
    assert!(
        out.contains("\r\nRRULE:FREQ=DAILYX-INJECTED:1\r\n"),
        "{out}"
    );

    // Empty input and duplicate UIDs.
    let out = calendar("empty", &[], NOW_MS);
    assert_wire_format(&out);
    let cal = parse(&out);
    assert!(cal.events.is_empty() && cal.timezones.is_empty());
    let dup = vec![base.clone(), base.clone()];
    let cal = parse(&calendar("dup", &dup, NOW_MS));
    assert_eq!(cal.events.len(), 1);
}
