//! Checks on what people type. Each returns a message that says what is wrong and how to fix it;
//! the API turns it into a 422 and the CLI prints it on one line.

use chrono::{Datelike, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

/// A user input problem, phrased for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

pub type Checked<T> = Result<T, InputError>;

fn bad<T>(msg: impl Into<String>) -> Checked<T> {
    Err(InputError(msg.into()))
}

pub const MAX_TITLE: usize = 200;
pub const MAX_SHORT_TEXT: usize = 2_000;
pub const MAX_LONG_TEXT: usize = 50_000;
pub const MAX_TOPICS: usize = 20;
pub const MAX_TOPIC: usize = 60;

/// A required one-line field: trimmed, non-empty, bounded, no control characters.
pub fn title(field: &str, s: &str) -> Checked<String> {
    let t = s.trim();
    if t.is_empty() {
        return bad(format!("{field} must not be empty"));
    }
    if t.chars().count() > MAX_TITLE {
        return bad(format!("{field} is longer than {MAX_TITLE} characters"));
    }
    if t.chars().any(char::is_control) {
        return bad(format!(
            "{field} must be a single line without control characters"
        ));
    }
    Ok(t.to_owned())
}

/// Free text, possibly empty, possibly several lines.
pub fn text(field: &str, s: &str, max: usize) -> Checked<String> {
    let t = s.trim();
    if t.chars().count() > max {
        return bad(format!("{field} is longer than {max} characters"));
    }
    if t.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return bad(format!("{field} contains control characters"));
    }
    Ok(t.to_owned())
}

/// Free text that must say something.
pub fn required_text(field: &str, s: &str, max: usize) -> Checked<String> {
    let t = text(field, s, max)?;
    if t.is_empty() {
        return bad(format!("{field} must not be empty"));
    }
    Ok(t)
}

/// An http(s) link.
pub fn link(s: &str) -> Checked<String> {
    let t = s.trim();
    let parsed = url::Url::parse(t)
        .map_err(|e| InputError(format!("url {t:?} is not a valid address ({e}); give a full link like https://example.org/guide")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return bad(format!("url {t:?} must start with http:// or https://"));
    }
    Ok(parsed.to_string())
}

/// Topic tags: trimmed, lower-cased, de-duplicated, bounded.
pub fn topics(list: &[String]) -> Checked<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for raw in list {
        let t = raw.trim().to_lowercase();
        if t.is_empty() {
            return bad("a topic must not be empty");
        }
        if t.chars().count() > MAX_TOPIC || t.chars().any(char::is_control) {
            return bad(format!(
                "topic {t:?} must be one line of at most {MAX_TOPIC} characters"
            ));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > MAX_TOPICS {
        return bad(format!("at most {MAX_TOPICS} topics"));
    }
    Ok(out)
}

/// An IANA time zone name such as `America/Toronto`.
pub fn time_zone(s: &str) -> Checked<Tz> {
    s.trim().parse::<Tz>().map_err(|_| {
        InputError(format!(
            "unknown time zone {s:?}: use an IANA name such as America/Toronto, Europe/London or Australia/Sydney"
        ))
    })
}

/// The years an event may start in.
pub const MIN_YEAR: i32 = 1970;
pub const MAX_YEAR: i32 = 2200;

/// A local start time `YYYY-MM-DDTHH:MM[:SS]` in `tz`, and the instant it names.
pub fn start(s: &str, tz: Tz) -> Checked<(NaiveDateTime, i64)> {
    let t = s.trim();
    let local = NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| {
            InputError(format!(
                "start {t:?} is not a local date and time: write it like 2026-12-03T15:00"
            ))
        })?;
    if !(MIN_YEAR..=MAX_YEAR).contains(&local.year()) {
        return bad(format!(
            "start {t} is out of range: events start between {MIN_YEAR} and {MAX_YEAR}"
        ));
    }
    let instant = match tz.from_local_datetime(&local) {
        chrono::LocalResult::Single(dt) => dt,
        // A wall-clock time that happens twice (clocks going back): the first one.
        chrono::LocalResult::Ambiguous(first, _) => first,
        chrono::LocalResult::None => {
            return bad(format!(
                "{t} does not exist in {tz}: the clocks skip it for daylight saving; pick another time"
            ));
        }
    };
    Ok((local, instant.timestamp_millis()))
}

/// A duration like `60m`, `1h`, `1h30m` or `90` (minutes), from 1 minute to 14 days.
pub fn duration_minutes(s: &str) -> Checked<u32> {
    let t = s.trim().to_lowercase();
    let wrong = || {
        InputError(format!(
            "duration {s:?} is not understood: write it like 60m, 1h or 1h30m"
        ))
    };
    if t.is_empty() {
        return Err(wrong());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut saw_unit = false;
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: u64 = digits.parse().map_err(|_| wrong())?;
        digits.clear();
        let factor = match c {
            'd' => 24 * 60,
            'h' => 60,
            'm' => 1,
            _ => return Err(wrong()),
        };
        total = total.saturating_add(n.saturating_mul(factor));
        saw_unit = true;
    }
    if !digits.is_empty() {
        if saw_unit {
            return Err(wrong());
        }
        total = digits.parse().map_err(|_| wrong())?;
    }
    if total == 0 || total > 14 * 24 * 60 {
        return bad(format!(
            "duration {s:?} must be between 1 minute and 14 days"
        ));
    }
    Ok(total as u32)
}

/// An invite lifetime like `72h`, `30m`, `7d` or `90s`, up to 30 days, in milliseconds.
pub fn ttl_ms(s: &str) -> Checked<u64> {
    let t = s.trim().to_lowercase();
    let wrong = || {
        InputError(format!(
            "expiry {s:?} is not understood: write it like 72h, 30m or 7d"
        ))
    };
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).ok_or_else(wrong)?);
    let n: u64 = num.parse().map_err(|_| wrong())?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(24 * 3600),
        _ => return Err(wrong()),
    };
    if secs == 0 || secs > 30 * 24 * 3600 {
        return bad(format!(
            "expiry {s:?} must be more than nothing and at most 30 days"
        ));
    }
    Ok(secs * 1000)
}

/// An RFC 5545 RRULE value, checked by expanding it from the event's start.
pub fn rrule(rule: &str, local: NaiveDateTime, tz: Tz) -> Checked<String> {
    let r = rule.trim().trim_start_matches("RRULE:").trim().to_owned();
    if r.is_empty() {
        return bad("rrule must not be empty; leave it out for a one-off event");
    }
    if r.chars().any(|c| c.is_control()) || r.len() > 500 {
        return bad("rrule must be one line of at most 500 characters");
    }
    // Community events repeat daily at most often. Finer rules are refused: expanding a
    // secondly rule across years is unbounded work for every node that shows the event.
    let freq = r
        .split(';')
        .find_map(|part| part.trim().strip_prefix("FREQ="))
        .unwrap_or("")
        .to_ascii_uppercase();
    if matches!(freq.as_str(), "SECONDLY" | "MINUTELY" | "HOURLY") {
        return bad(format!(
            "rrule {r:?} repeats {}: community events repeat at most daily (FREQ=DAILY, WEEKLY, MONTHLY or YEARLY)",
            freq.to_lowercase()
        ));
    }
    let text = format!(
        "DTSTART;TZID={}:{}\nRRULE:{}",
        tz.name(),
        local.format("%Y%m%dT%H%M%S"),
        r
    );
    let set: rrule::RRuleSet = text.parse().map_err(|e: rrule::RRuleError| {
        InputError(format!(
            "rrule {r:?} is not a valid RFC 5545 recurrence ({e}); for example FREQ=MONTHLY;BYDAY=1TH"
        ))
    })?;
    if set.all(1).dates.is_empty() {
        return bad(format!("rrule {r:?} never produces an occurrence"));
    }
    Ok(r)
}

/// A media type like `application/pdf`; anything unusual becomes `application/octet-stream`
/// rather than an error, since browsers send odd ones.
pub fn media_type(s: &str) -> Checked<String> {
    let t = s.trim().to_ascii_lowercase();
    let ok = t.len() <= 100
        && t.split_once('/').is_some_and(|(a, b)| {
            let token = |x: &str| {
                !x.is_empty()
                    && x.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c))
            };
            token(a) && token(b.split(';').next().unwrap_or("").trim())
        });
    Ok(if ok {
        t.split(';').next().unwrap_or("").trim().to_owned()
    } else {
        "application/octet-stream".to_owned()
    })
}

/// A calendar date `YYYY-MM-DD`.
pub fn date(field: &str, s: &str) -> Checked<chrono::NaiveDate> {
    use chrono::Datelike;
    let t = s.trim();
    let bad = || {
        InputError(format!(
            "{field} {t:?} is not a date: write it like 2027-03-31"
        ))
    };
    // chrono's %Y also reads signed years of any length ("+262000"): only YYYY-MM-DD, from 1970.
    let shaped = t.len() == 10
        && t.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shaped {
        return Err(bad());
    }
    let d = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| bad())?;
    if d.year() < 1970 {
        return Err(InputError(format!("{field} {t:?} is before 1970")));
    }
    Ok(d)
}

/// The instant a calendar day begins, in UTC.
pub fn day_start_ms(d: chrono::NaiveDate) -> i64 {
    d.and_time(chrono::NaiveTime::MIN)
        .and_utc()
        .timestamp_millis()
}

/// An evidence rating: 1 (weak) to 5 (strong), or `not-rated`.
pub fn evidence(s: &str) -> Checked<Option<u64>> {
    match s.trim().to_lowercase().as_str() {
        "not-rated" | "not rated" | "none" | "" => Ok(None),
        t => match t.parse::<u64>() {
            Ok(n @ 1..=5) => Ok(Some(n)),
            _ => bad(format!(
                "evidence rating {s:?} must be 1 (weak) to 5 (strong), or not-rated"
            )),
        },
    }
}

/// A list of short one-line items (goals, stakeholder groups, areas of expertise): each trimmed
/// and non-empty, duplicates dropped, at most `max` items.
pub fn items(field: &str, list: &[String], max: usize) -> Checked<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for raw in list {
        let t = title(field, raw)?;
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&t)) {
            out.push(t);
        }
    }
    if out.len() > max {
        return bad(format!("at most {max} {field} entries"));
    }
    Ok(out)
}

/// The name of an occurrence of an event: its local start, `YYYY-MM-DDTHH:MM`.
pub fn occurrence_name(local: NaiveDateTime) -> String {
    local.format("%Y-%m-%dT%H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration_minutes("60m"), Ok(60));
        assert_eq!(duration_minutes("1h30m"), Ok(90));
        assert_eq!(duration_minutes("2h"), Ok(120));
        assert_eq!(duration_minutes("45"), Ok(45));
        assert!(duration_minutes("0m").is_err());
        assert!(duration_minutes("soon").is_err());
        assert!(duration_minutes("1h30").is_err());
        assert!(duration_minutes("99999999999999999999m").is_err());
    }

    #[test]
    fn starts_respect_daylight_saving() {
        let tz = time_zone("America/Toronto").unwrap();
        let (_, winter) = start("2026-12-03T15:00", tz).unwrap();
        assert_eq!(winter, 1_796_328_000_000, "15:00 EST is 20:00 UTC");
        let gap = start("2026-03-08T02:30", tz).unwrap_err();
        assert!(gap.0.contains("does not exist"), "{gap}");
        assert!(start("2026-13-03T15:00", tz).is_err());
        assert!(time_zone("Mars/Olympus").is_err());
    }

    #[test]
    fn rrules_are_checked() {
        let tz = time_zone("America/Toronto").unwrap();
        let (local, _) = start("2026-12-03T15:00", tz).unwrap();
        assert_eq!(
            rrule("FREQ=MONTHLY;BYDAY=1TH", local, tz).unwrap(),
            "FREQ=MONTHLY;BYDAY=1TH"
        );
        assert!(rrule("FREQ=SOMETIMES", local, tz).is_err());
        assert!(
            rrule("FREQ=SECONDLY", local, tz)
                .unwrap_err()
                .0
                .contains("at most daily")
        );
        assert!(rrule("FREQ=HOURLY;COUNT=3", local, tz).is_err());
        assert!(start("1900-01-01T10:00", tz).is_err());
    }

    #[test]
    fn links_and_topics() {
        assert!(link("https://example.org/x").is_ok());
        assert!(link("javascript:alert(1)").is_err());
        assert!(link("not a url").is_err());
        assert_eq!(
            topics(&["Housing ".into(), "housing".into()]).unwrap(),
            vec!["housing"]
        );
        assert!(topics(&["".into()]).is_err());
    }
}
