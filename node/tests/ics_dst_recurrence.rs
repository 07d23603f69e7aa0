//! Recurrence across daylight-saving changes, checked the way a calendar app
//! that only has the file would do it: DTSTART/TZID/RRULE from the parsed
//! output, occurrences expanded in local time, then each local occurrence
//! turned into UTC using only the parsed VTIMEZONE. chrono-tz is the oracle.

mod ics_support;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use chrono_tz::Tz;
use copnet_node::ics::calendar;
use ics_support::*;

/// Expands the series `uid` from the parsed file and resolves every occurrence
/// with the parsed VTIMEZONE. Returns (local, utc) pairs after asserting they
/// match the oracle and that DTEND-DTSTART is the event duration.
fn resolve_series(
    text: &str,
    uid: &str,
    tz: Tz,
    count: usize,
    minutes: i64,
) -> Vec<(chrono::NaiveDateTime, chrono::NaiveDateTime)> {
    assert_wire_format(text);
    let cal = parse(text);
    let ev = event_by_uid(&cal, uid);
    let start_p = prop(&ev.properties, "DTSTART").expect("DTSTART");
    let tzid = param(start_p, "TZID").expect("DTSTART has TZID");
    assert_eq!(tzid, tz.name());
    let start = parse_local(start_p.value.as_deref().unwrap());
    let end_p = prop(&ev.properties, "DTEND").expect("DTEND");
    assert_eq!(param(end_p, "TZID"), Some(tzid));
    let end = parse_local(end_p.value.as_deref().unwrap());
    let rule = value(&ev.properties, "RRULE").expect("RRULE");

    let occurrences = expand_floating(rule, start, None, count);
    assert_eq!(occurrences.len(), count);
    let last_year = occurrences.last().unwrap().year();
    let z = ParsedZone::from_ical(zone(&cal, tzid), last_year + 1);

    assert_eq!(
        z.to_utc(end) - z.to_utc(start),
        minutes * 60,
        "DTEND - DTSTART"
    );
    occurrences
        .into_iter()
        .map(|l| {
            let u = z.to_utc(l);
            assert_eq!(
                u,
                oracle_utc(tz, l),
                "{uid}: {l} resolved to {} but chrono-tz says {}",
                utc(u),
                utc(oracle_utc(tz, l))
            );
            (l, utc(u))
        })
        .collect()
}

fn find(
    series: &[(chrono::NaiveDateTime, chrono::NaiveDateTime)],
    y: i32,
    m: u32,
    d: u32,
) -> chrono::NaiveDateTime {
    series
        .iter()
        .find(|(l, _)| l.date() == NaiveDate::from_ymd_opt(y, m, d).unwrap())
        .unwrap_or_else(|| panic!("no occurrence on {y}-{m}-{d}"))
        .1
}

#[test]
fn toronto_monthly_first_thursday_across_dst() {
    let tz = chrono_tz::America::Toronto;
    let e = event(
        "evt_toronto_monthly@copnet",
        tz,
        dt(2026, 1, 1, 15, 0),
        Some("FREQ=MONTHLY;BYDAY=1TH"),
    );
    let text = calendar("CoP", &[e], NOW_MS);
    let series = resolve_series(&text, "evt_toronto_monthly@copnet", tz, 36, 60);

    for (l, _) in &series {
        assert_eq!(l.weekday(), Weekday::Thu);
        assert!(l.day() <= 7, "first Thursday: {l}");
        assert_eq!((l.hour(), l.minute()), (15, 0));
    }
    // EST = UTC-5, EDT = UTC-4.
    assert_eq!(find(&series, 2026, 1, 1), dt(2026, 1, 1, 20, 0));
    assert_eq!(find(&series, 2026, 3, 5), dt(2026, 3, 5, 20, 0)); // DST starts 8 March
    assert_eq!(find(&series, 2026, 4, 2), dt(2026, 4, 2, 19, 0));
    assert_eq!(find(&series, 2026, 7, 2), dt(2026, 7, 2, 19, 0));
    assert_eq!(find(&series, 2026, 10, 1), dt(2026, 10, 1, 19, 0));
    assert_eq!(find(&series, 2026, 11, 5), dt(2026, 11, 5, 20, 0)); // DST ended 1 November
    assert_eq!(find(&series, 2027, 3, 4), dt(2027, 3, 4, 20, 0)); // DST starts 14 March 2027
    assert_eq!(find(&series, 2028, 6, 1), dt(2028, 6, 1, 19, 0));
}

use chrono::Timelike;

#[test]
fn london_weekly_across_bst_changes() {
    let tz = chrono_tz::Europe::London;
    let e = event(
        "evt_london_weekly@copnet",
        tz,
        dt(2026, 3, 3, 10, 0),
        Some("FREQ=WEEKLY;BYDAY=TU"),
    );
    let text = calendar("CoP", &[e], NOW_MS);
    let series = resolve_series(&text, "evt_london_weekly@copnet", tz, 60, 60);
    assert_eq!(find(&series, 2026, 3, 24), dt(2026, 3, 24, 10, 0)); // GMT
    assert_eq!(find(&series, 2026, 3, 31), dt(2026, 3, 31, 9, 0)); // BST from 29 March
    assert_eq!(find(&series, 2026, 10, 20), dt(2026, 10, 20, 9, 0));
    assert_eq!(find(&series, 2026, 10, 27), dt(2026, 10, 27, 10, 0)); // GMT from 25 October
    assert_eq!(find(&series, 2027, 3, 30), dt(2027, 3, 30, 9, 0)); // BST from 28 March 2027
}

#[test]
fn sydney_weekly_across_southern_hemisphere_changes() {
    let tz = chrono_tz::Australia::Sydney;
    let e = event(
        "evt_sydney_weekly@copnet",
        tz,
        dt(2026, 3, 4, 18, 0),
        Some("FREQ=WEEKLY;BYDAY=WE"),
    );
    let text = calendar("CoP", &[e], NOW_MS);
    let series = resolve_series(&text, "evt_sydney_weekly@copnet", tz, 60, 60);
    // AEDT = UTC+11 until 5 April 2026, AEST = UTC+10 until 4 October 2026.
    assert_eq!(find(&series, 2026, 4, 1), dt(2026, 4, 1, 7, 0));
    assert_eq!(find(&series, 2026, 4, 8), dt(2026, 4, 8, 8, 0));
    assert_eq!(find(&series, 2026, 9, 30), dt(2026, 9, 30, 8, 0));
    assert_eq!(find(&series, 2026, 10, 7), dt(2026, 10, 7, 7, 0));
    assert_eq!(find(&series, 2027, 4, 7), dt(2027, 4, 7, 8, 0)); // AEST from 4 April 2027
}

#[test]
fn auckland_monthly_last_friday() {
    let tz = chrono_tz::Pacific::Auckland;
    let e = event(
        "evt_akl@copnet",
        tz,
        dt(2026, 1, 30, 12, 0),
        Some("FREQ=MONTHLY;BYDAY=-1FR"),
    );
    let text = calendar("CoP", &[e], NOW_MS);
    let series = resolve_series(&text, "evt_akl@copnet", tz, 30, 60);
    assert_eq!(find(&series, 2026, 1, 30), dt(2026, 1, 29, 23, 0)); // NZDT +13
    assert_eq!(find(&series, 2026, 7, 31), dt(2026, 7, 31, 0, 0)); // NZST +12
}

/// Every zone below: a daily series with no end, resolved from the parsed
/// VTIMEZONE on every day for eleven years at times that hit DST gaps and
/// overlaps. This covers negative DST (Dublin), irregular rules (Casablanca,
/// Jerusalem, Santiago), half-hour DST (Lord Howe), odd offsets, and zones with
/// no DST at all.
#[test]
fn vtimezone_matches_tzdb_for_many_zones() {
    let zones: &[Tz] = &[
        chrono_tz::America::Toronto,
        chrono_tz::America::Vancouver,
        chrono_tz::America::St_Johns,
        chrono_tz::America::Havana,
        chrono_tz::America::Santiago,
        chrono_tz::America::Asuncion,
        chrono_tz::America::Nuuk,
        chrono_tz::America::Mexico_City,
        chrono_tz::Europe::London,
        chrono_tz::Europe::Dublin,
        chrono_tz::Europe::Paris,
        chrono_tz::Atlantic::Azores,
        chrono_tz::Africa::Casablanca,
        chrono_tz::Africa::Cairo,
        chrono_tz::Asia::Jerusalem,
        chrono_tz::Asia::Kolkata,
        chrono_tz::Asia::Kathmandu,
        chrono_tz::Australia::Sydney,
        chrono_tz::Australia::Brisbane,
        chrono_tz::Australia::Lord_Howe,
        chrono_tz::Pacific::Auckland,
        chrono_tz::Pacific::Chatham,
        chrono_tz::UTC,
    ];
    for &tz in zones {
        let e = event(
            "evt_sweep@copnet",
            tz,
            dt(2026, 1, 1, 9, 0),
            Some("FREQ=DAILY"),
        );
        let text = calendar("sweep", &[e], NOW_MS);
        assert_wire_format(&text);
        let cal = parse(&text);
        // Unbounded series: covered at least 10 years past its start.
        let z = ParsedZone::from_ical(zone(&cal, tz.name()), 2036);
        sweep(&z, tz, 2026, 2036);
    }
}

fn sweep(z: &ParsedZone, tz: Tz, from_year: i32, to_year: i32) {
    let mut day = NaiveDate::from_ymd_opt(from_year, 1, 1).unwrap();
    let end = NaiveDate::from_ymd_opt(to_year, 12, 31).unwrap();
    let times = [
        (0, 0),
        (0, 30),
        (1, 0),
        (1, 30),
        (2, 0),
        (2, 30),
        (3, 0),
        (3, 30),
        (12, 0),
        (23, 30),
    ];
    while day <= end {
        for (h, m) in times {
            let l = day.and_hms_opt(h, m, 0).unwrap();
            assert_eq!(
                z.to_utc(l),
                oracle_utc(tz, l),
                "{}: {l} -> {} (VTIMEZONE) vs {} (tzdb)",
                tz.name(),
                utc(z.to_utc(l)),
                utc(oracle_utc(tz, l))
            );
        }
        day += Duration::days(1);
    }
}

/// Historical spans that cross rule changes: bounded RRULE runs (UNTIL) and
/// DST being abolished.
#[test]
fn vtimezone_handles_rule_changes() {
    let cases: &[(Tz, i32, &str, i32)] = &[
        (
            chrono_tz::America::Toronto,
            2004,
            "FREQ=DAILY;UNTIL=20101231T235959Z",
            2010,
        ), // US/Canada rule change 2007
        (
            chrono_tz::America::Sao_Paulo,
            2016,
            "FREQ=DAILY;UNTIL=20211231T235959Z",
            2021,
        ), // DST abolished 2019
        (
            chrono_tz::Asia::Tehran,
            2019,
            "FREQ=DAILY;UNTIL=20241231T235959Z",
            2024,
        ), // fixed-date DST, abolished 2022
        (
            chrono_tz::Pacific::Apia,
            2010,
            "FREQ=DAILY;UNTIL=20221231T235959Z",
            2022,
        ), // skipped 30 Dec 2011, DST ended 2021
        (
            chrono_tz::Europe::Moscow,
            2010,
            "FREQ=DAILY;UNTIL=20151231T235959Z",
            2015,
        ), // permanent +04 2011, +03 2014
        (
            chrono_tz::Australia::Sydney,
            2005,
            "FREQ=DAILY;UNTIL=20101231T235959Z",
            2010,
        ), // rule change 2008
    ];
    for &(tz, start_year, rule, end_year) in cases {
        let e = event(
            "evt_hist@copnet",
            tz,
            dt(start_year, 1, 1, 9, 0),
            Some(rule),
        );
        let text = calendar("hist", &[e], NOW_MS);
        assert_wire_format(&text);
        let cal = parse(&text);
        let z = ParsedZone::from_ical(zone(&cal, tz.name()), end_year);
        sweep(&z, tz, start_year, end_year);
    }

    // The 2007 change shows up as a bounded run followed by the current rule.
    let e = event(
        "evt_hist@copnet",
        chrono_tz::America::Toronto,
        dt(2004, 1, 1, 9, 0),
        Some("FREQ=DAILY;UNTIL=20101231T235959Z"),
    );
    let text = calendar("hist", &[e], NOW_MS);
    let cal = parse(&text);
    let tzc = zone(&cal, "America/Toronto");
    let rules: Vec<String> = tzc
        .transitions
        .iter()
        .filter_map(|t| value(&t.properties, "RRULE").map(str::to_string))
        .collect();
    assert!(
        rules
            .iter()
            .any(|r| r.contains("BYMONTH=4;BYDAY=1SU") && r.contains("UNTIL=2006")),
        "{rules:?}"
    );
    assert!(
        rules
            .iter()
            .any(|r| r.contains("BYMONTH=3;BYDAY=2SU") && !r.contains("UNTIL")),
        "{rules:?}"
    );
}

/// Open-ended rules keep working past the probed window. A one-off 2026 event
/// only makes the generator probe 2026-2027, yet a client that extends the
/// rules must still be right decades later (chrono-tz's tables run to 2099).
/// This covers "weekday on or after day N" rules too (Jerusalem `Fri>=23`,
/// Santiago `Sun>=2`), which a `BYDAY=4FR`-style rule only matches by luck.
#[test]
fn open_ended_rules_extend_past_the_window() {
    let zones: &[Tz] = &[
        chrono_tz::America::Toronto,
        chrono_tz::America::St_Johns,
        chrono_tz::America::Havana,
        chrono_tz::America::Santiago,
        chrono_tz::America::Nuuk,
        chrono_tz::Europe::London,
        chrono_tz::Europe::Dublin,
        chrono_tz::Europe::Paris,
        chrono_tz::Atlantic::Azores,
        chrono_tz::Asia::Jerusalem,
        chrono_tz::Australia::Sydney,
        chrono_tz::Australia::Lord_Howe,
        chrono_tz::Pacific::Auckland,
        chrono_tz::Pacific::Chatham,
    ];
    // Not listed: Africa/Cairo ends DST on "last Thursday 24:00", which is the
    // following Friday 00:00 and sometimes 1 November, so no BYMONTH rule fits.
    // Its rule is bounded by UNTIL (checked below) and is exact inside the
    // probed window (see vtimezone_matches_tzdb_for_many_zones).
    let cairo = calendar(
        "x",
        &[event(
            "e@copnet",
            chrono_tz::Africa::Cairo,
            dt(2026, 6, 1, 9, 0),
            None,
        )],
        NOW_MS,
    );
    let cal = parse(&cairo);
    let bounded = zone(&cal, "Africa/Cairo")
        .transitions
        .iter()
        .filter_map(|t| value(&t.properties, "RRULE"))
        .any(|r| r.contains("BYMONTH=10") && r.contains("UNTIL="));
    assert!(bounded, "{cairo}");

    for &tz in zones {
        let e = event("evt_once@copnet", tz, dt(2026, 6, 1, 9, 0), None);
        let text = calendar("x", &[e], NOW_MS);
        let cal = parse(&text);
        let tzc = zone(&cal, tz.name());
        assert_eq!(
            tzc.transitions.len(),
            2,
            "{}: one STANDARD + one DAYLIGHT rule",
            tz.name()
        );
        for t in &tzc.transitions {
            let r = value(&t.properties, "RRULE")
                .unwrap_or_else(|| panic!("{}: rule-based", tz.name()));
            assert!(!r.contains("UNTIL"), "{}: {r}", tz.name());
        }
        let z = ParsedZone::from_ical(tzc, 2070);
        sweep(&z, tz, 2028, 2070);
    }
}

/// Southern-hemisphere and US-style rules come out as the classic BYDAY rules
/// that Outlook's time-zone model can hold.
#[test]
fn classic_rules_use_byday() {
    let expect = [
        (
            chrono_tz::America::Toronto,
            ["BYMONTH=3;BYDAY=2SU", "BYMONTH=11;BYDAY=1SU"],
        ),
        (
            chrono_tz::Europe::London,
            ["BYMONTH=3;BYDAY=-1SU", "BYMONTH=10;BYDAY=-1SU"],
        ),
        (
            chrono_tz::Australia::Sydney,
            ["BYMONTH=10;BYDAY=1SU", "BYMONTH=4;BYDAY=1SU"],
        ),
        (
            chrono_tz::Pacific::Auckland,
            ["BYMONTH=9;BYDAY=-1SU", "BYMONTH=4;BYDAY=1SU"],
        ),
    ];
    for (tz, rules) in expect {
        let text = calendar(
            "x",
            &[event("e@copnet", tz, dt(2026, 6, 1, 9, 0), None)],
            NOW_MS,
        );
        let cal = parse(&text);
        let got: Vec<String> = zone(&cal, tz.name())
            .transitions
            .iter()
            .filter_map(|t| value(&t.properties, "RRULE").map(str::to_string))
            .collect();
        for r in rules {
            assert!(
                got.iter().any(|g| g == &format!("FREQ=YEARLY;{r}")),
                "{}: {got:?}",
                tz.name()
            );
        }
    }
}

/// chrono-tz has negative DST for Dublin (IST is "standard", GMT is "winter
/// DST") and Casablanca. Labels follow tzdb's rearguard form, which is what
/// clients mapping STANDARD/DAYLIGHT (Outlook) expect: the higher summer
/// offset is DAYLIGHT.
#[test]
fn negative_dst_zones_get_conventional_labels() {
    use ical::parser::ical::component::IcalTimeZoneTransitionType as Kind;
    for (tz, std_off, dst_off) in [
        (chrono_tz::Europe::Dublin, "+0000", "+0100"),
        (chrono_tz::Africa::Casablanca, "+0000", "+0100"),
    ] {
        let text = calendar(
            "x",
            &[event("e@copnet", tz, dt(2026, 6, 1, 9, 0), None)],
            NOW_MS,
        );
        let cal = parse(&text);
        for t in &zone(&cal, tz.name()).transitions {
            let to = value(&t.properties, "TZOFFSETTO").unwrap();
            match t.transition {
                Kind::STANDARD => assert_eq!(to, std_off, "{}", tz.name()),
                Kind::DAYLIGHT => assert_eq!(to, dst_off, "{}", tz.name()),
            }
        }
    }
}

/// A cancelled occurrence beyond the open-series horizon still lies inside the
/// VTIMEZONE span (Casablanca has no rule-based packing to fall back on).
#[test]
fn far_cancelled_occurrence_is_covered() {
    let tz = chrono_tz::Africa::Casablanca;
    let mut e = event(
        "evt_far@copnet",
        tz,
        dt(2026, 1, 5, 10, 0),
        Some("FREQ=WEEKLY;BYDAY=MO"),
    );
    let far = dt(2048, 6, 1, 10, 0); // a Monday, ~22 years out
    e.cancelled_occurrences = vec![far];
    let text = calendar("x", &[e], NOW_MS);
    let cal = parse(&text);
    let ov = overrides(&cal, "evt_far@copnet");
    assert_eq!(ov.len(), 1);
    let rid = parse_local(value(&ov[0].properties, "RECURRENCE-ID").unwrap());
    assert_eq!(rid, far);
    let z = ParsedZone::from_ical(zone(&cal, tz.name()), 2049);
    sweep(&z, tz, 2026, 2048);
}
