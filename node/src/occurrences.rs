//! The occurrences of an event: its start, expanded by its RRULE in its own time zone.
//!
//! Every expansion is bounded: rules repeat at most daily and start from 1970 on
//! (`validate::rrule`, `validate::start`, re-checked when a document is read), and a date asked
//! about must lie within [`MAX_LOOKUP_YEARS`] of the start, so no question walks more than some
//! tens of thousands of dates.
//!
//! An occurrence is named by its local wall-clock start (`YYYY-MM-DDTHH:MM`), which is what
//! iCalendar's `RECURRENCE-ID;TZID=` names too, so RSVPs, cancellations and notes recorded on
//! one node line up with calendar entries everywhere.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use serde_json::Value;

use crate::validate::{self, Checked, InputError, occurrence_name};

/// Most occurrences returned for one question.
pub const MAX_EXPANSION: u16 = 5_000;
/// How far after its start an occurrence may be looked up.
pub const MAX_LOOKUP_YEARS: i32 = 100;

/// One occurrence of an event as its rendered view describes it, with the RSVPs for it.
#[derive(Debug, Clone)]
pub struct Scheduled {
    pub event: String,
    pub community: String,
    pub title: String,
    pub kind: String,
    /// The occurrence's name, as RSVPs cite it.
    pub name: String,
    pub local: NaiveDateTime,
    pub tz: String,
    pub start_utc_ms: i64,
    pub cancelled: bool,
    pub going: usize,
    pub maybe: usize,
    pub declined: usize,
    /// The answer of the person `scheduled` was asked about, if they gave one.
    pub mine: Option<String>,
}

/// The occurrences of the event whose view is `view`, starting in `[from_ms, to_ms)`, at most
/// `limit`, each with its cancellation and RSVP counts, and `me`'s answer when `me` (a person
/// id) is given. `None` when the view's timing does not read.
pub fn scheduled(
    view: &Value,
    from_ms: i64,
    to_ms: i64,
    limit: usize,
    me: Option<&str>,
) -> Option<Vec<Scheduled>> {
    let text = |f: &str| view[f].as_str().unwrap_or("");
    let timing = Timing::parse(
        text("start"),
        text("tz"),
        view["duration_minutes"].as_u64().unwrap_or(60) as u32,
        view["rrule"].as_str(),
    )
    .ok()?;
    let all_cancelled = view["cancelled"] == true;
    let cancelled: Vec<&str> = view["cancelled_occurrences"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let rsvps: &[Value] = view["rsvps"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let found = timing
        .upcoming(from_ms, limit)
        .into_iter()
        .filter(|o| o.start_utc_ms < to_ms)
        .map(|o| {
            let here = |r: &&Value| r["occurrence"] == o.name.as_str();
            let count = |st: &str| {
                rsvps
                    .iter()
                    .filter(here)
                    .filter(|r| r["status"] == st)
                    .count()
            };
            Scheduled {
                event: text("id").to_owned(),
                community: text("community").to_owned(),
                title: text("title").to_owned(),
                kind: text("kind").to_owned(),
                cancelled: all_cancelled || cancelled.contains(&o.name.as_str()),
                going: count("going"),
                maybe: count("maybe"),
                declined: count("declined"),
                mine: me.and_then(|p| {
                    rsvps
                        .iter()
                        .filter(here)
                        .find(|r| r["person"] == p)
                        .and_then(|r| r["status"].as_str().map(str::to_owned))
                }),
                name: o.name,
                local: o.local,
                tz: text("tz").to_owned(),
                start_utc_ms: o.start_utc_ms,
            }
        })
        .collect();
    Some(found)
}

/// An event's timing, as its document holds it.
#[derive(Debug, Clone)]
pub struct Timing {
    pub start_local: NaiveDateTime,
    pub tz: Tz,
    pub duration_minutes: u32,
    pub rrule: Option<String>,
}

/// One occurrence: its name, its local start and the instant it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    pub name: String,
    pub local: NaiveDateTime,
    pub start_utc_ms: i64,
}

impl Timing {
    /// The timing of `e`, re-checked: another node may have written the document.
    pub fn of(e: &copnet_protocol::docs::Event) -> Checked<Self> {
        Self::parse(
            &e.start_local,
            &e.tz,
            e.duration_minutes,
            e.rrule.as_deref(),
        )
    }

    pub fn parse(
        start_local: &str,
        tz: &str,
        duration_minutes: u32,
        rrule: Option<&str>,
    ) -> Checked<Self> {
        let tz = validate::time_zone(tz)?;
        let (start_local, _) = validate::start(start_local, tz)?;
        // Re-checked here, not only when written: another node may have written the document.
        let rrule = rrule
            .map(|r| validate::rrule(r, start_local, tz))
            .transpose()?;
        Ok(Self {
            start_local,
            tz,
            duration_minutes,
            rrule,
        })
    }

    fn set(&self) -> Option<rrule::RRuleSet> {
        let rule = self.rrule.as_deref()?;
        format!(
            "DTSTART;TZID={}:{}\nRRULE:{}",
            self.tz.name(),
            self.start_local.format("%Y%m%dT%H%M%S"),
            rule
        )
        .parse()
        .ok()
    }

    fn occurrence(&self, local: NaiveDateTime) -> Occurrence {
        let instant = match self.tz.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t,
            // A recurrence landing in a daylight-saving gap starts when the clocks have moved.
            chrono::LocalResult::None => {
                self.tz
                    .from_utc_datetime(&(local - chrono::Duration::hours(1)))
                    + chrono::Duration::hours(1)
            }
        };
        Occurrence {
            name: occurrence_name(local),
            local,
            start_utc_ms: instant.timestamp_millis(),
        }
    }

    /// Occurrences in order, starting at or after `after_ms` (UTC), at most `limit`.
    pub fn upcoming(&self, after_ms: i64, limit: usize) -> Vec<Occurrence> {
        let Some(set) = self.set() else {
            let one = self.occurrence(self.start_local);
            return if one.start_utc_ms >= after_ms && limit > 0 {
                vec![one]
            } else {
                vec![]
            };
        };
        let after = DateTime::from_timestamp_millis(after_ms)
            .unwrap_or_default()
            .with_timezone(&rrule::Tz::UTC);
        // Start a little early: `after` filters on the instant, and the rrule crate compares
        // inclusively only with `after(..)` set one second before.
        let set = set.after(after - chrono::Duration::seconds(1));
        // One more than asked: the second of slack can admit one that the filter then drops.
        set.all(MAX_EXPANSION.min(limit.saturating_add(1).min(u16::MAX as usize) as u16))
            .dates
            .into_iter()
            .map(|d| self.occurrence(d.naive_local()))
            .filter(|o| o.start_utc_ms >= after_ms)
            .take(limit)
            .collect()
    }

    /// Finds the occurrence a person means: `YYYY-MM-DDTHH:MM` exactly, or `YYYY-MM-DD` for the
    /// one on that day.
    pub fn find(&self, given: &str) -> Checked<Occurrence> {
        let t = given.trim();
        let (day, exact) = match NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M") {
            Ok(dt) => (dt.date(), Some(dt)),
            Err(_) => (
                NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| {
                    InputError(format!(
                        "occurrence {t:?} is not understood: give its date like 2026-12-03 (or date and time like 2026-12-03T15:00)"
                    ))
                })?,
                None,
            ),
        };
        if day < self.start_local.date() || day.year() > self.start_local.year() + MAX_LOOKUP_YEARS
        {
            return Err(InputError(format!(
                "the event has no occurrence on {t}: it starts on {}",
                self.start_local.date()
            )));
        }
        let candidates: Vec<NaiveDateTime> = match self.set() {
            None => vec![self.start_local],
            Some(set) => {
                let from = self
                    .tz
                    .from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight"))
                    .earliest()
                    .map(|d| d.with_timezone(&rrule::Tz::UTC) - chrono::Duration::days(1));
                let set = match from {
                    Some(f) => set.after(f),
                    None => set,
                };
                set.all(48)
                    .dates
                    .into_iter()
                    .map(|d| d.naive_local())
                    .collect()
            }
        };
        let found = candidates.into_iter().find(|local| match exact {
            Some(e) => *local == e,
            None => local.date() == day,
        });
        found.map(|l| self.occurrence(l)).ok_or_else(|| {
            InputError(format!(
                "the event has no occurrence {} {t}; `copnet event show ID` lists its upcoming ones",
                if exact.is_some() { "at" } else { "on" }
            ))
        })
    }

    /// The next occurrence from now, else the last one (for an event in the past).
    pub fn next_or_last(&self, now_ms: i64) -> Occurrence {
        if let Some(o) = self.upcoming(now_ms, 1).into_iter().next() {
            return o;
        }
        match self.set() {
            None => self.occurrence(self.start_local),
            Some(set) => {
                let before = DateTime::from_timestamp_millis(now_ms)
                    .unwrap_or_default()
                    .with_timezone(&rrule::Tz::UTC);
                // The most recent one before now: walk them all (bounded: at most daily, from
                // 1970 on), keeping the last.
                set.before(before)
                    .into_iter()
                    .take(200_000)
                    .last()
                    .map(|d| self.occurrence(d.naive_local()))
                    .unwrap_or_else(|| self.occurrence(self.start_local))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn monthly() -> Timing {
        Timing::parse(
            "2026-01-01T15:00",
            "America/Toronto",
            60,
            Some("FREQ=MONTHLY;BYDAY=1TH"),
        )
        .unwrap()
    }

    #[test]
    fn occurrences_keep_local_time_across_daylight_saving() {
        let t = monthly();
        let all = t.upcoming(0, 6);
        let names: Vec<_> = all.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "2026-01-01T15:00",
                "2026-02-05T15:00",
                "2026-03-05T15:00",
                "2026-04-02T15:00",
                "2026-05-07T15:00",
                "2026-06-04T15:00"
            ]
        );
        // 15:00 EST is 20:00 UTC; 15:00 EDT (from 8 March) is 19:00 UTC.
        let hour = |ms: i64| {
            DateTime::from_timestamp_millis(ms)
                .unwrap()
                .format("%H")
                .to_string()
        };
        assert_eq!(hour(all[2].start_utc_ms), "20");
        assert_eq!(hour(all[3].start_utc_ms), "19");
    }

    #[test]
    fn finding_an_occurrence_by_day_or_exact_time() {
        let t = monthly();
        assert_eq!(t.find("2026-04-02").unwrap().name, "2026-04-02T15:00");
        assert_eq!(t.find("2026-04-02T15:00").unwrap().name, "2026-04-02T15:00");
        assert!(
            t.find("2026-04-03")
                .unwrap_err()
                .0
                .contains("no occurrence on")
        );
        assert!(t.find("2026-04-02T16:00").is_err());
        assert!(t.find("next thursday").is_err());
        let once = Timing::parse("2026-05-01T09:30", "Europe/London", 30, None).unwrap();
        assert_eq!(once.find("2026-05-01").unwrap().name, "2026-05-01T09:30");
        assert!(once.find("2026-05-02").is_err());
    }

    #[test]
    fn upcoming_starts_after_the_given_instant() {
        let t = monthly();
        let after = t.upcoming(0, 3)[1].start_utc_ms;
        let next = t.upcoming(after, 2);
        assert_eq!(next[0].name, "2026-02-05T15:00");
        assert_eq!(t.next_or_last(after + 1).name, "2026-03-05T15:00");
    }
}
