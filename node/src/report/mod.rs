//! Facilitation: who takes part and how (participation), what the community did and what came of
//! it (the facilitator report), check-in aggregates, value-creation stories and who is missing.
//!
//! Everything here is computed from documents this node already holds; nothing is stored. The
//! per-person view ([`participation`]) is for the node's own facilitators and never leaves it.
//! The report ([`build`]) is meant to leave (sponsors, boards, funders), so it holds no row per
//! person: it counts by level, organisation, period and stakeholder group, and every count of
//! people or of what people did that is 1 to 4 is shown as `"<5"` ([`Count`]).

mod render;
pub mod surveys;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveDate};
use copnet_protocol::NodeId;
use copnet_protocol::docs::{
    Community, Consult, Event, Level, Resource, Rhythm, Story, Survey, ValueCycle, shown_count,
};
use serde::{Serialize, Serializer};

use crate::occurrences::Timing;
use crate::validate::day_start_ms;
use crate::views::rfc3339;

pub use render::{csv, text};
pub use surveys::{CombinedQuestion, CombinedSurvey, aggregate, combine};

/// How far back activity is looked at to observe a person's level.
pub const OBSERVATION_DAYS: i64 = 90;
/// Contributions in the observation window that, with regular attendance, make someone core.
pub const CORE_CONTRIBUTIONS: u64 = 3;
/// Most occurrences of one event looked at in a report.
const MAX_OCCURRENCES: usize = 1_000;

/// The rule that decides an observed level, in words (shown with the numbers).
pub const OBSERVATION_RULE: &str = "observed over the 90 days before the date: core = at least 3 contributions (consults presented, replies, resources added, stories) and at least half of the community's held meetings attended; active = any contribution or any meeting attended; peripheral = neither (reading and RSVPs are legitimate peripheral participation)";

/// The small-number rule, in words (shown with the numbers).
pub const SMALL_NUMBER_RULE: &str = "counts of people, and of what people did, from 1 to 4 are shown as \"<5\"; totals of documents (consults, resources, stories) are exact";

/// A count of people or of what they did, shown under the small-number rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Count(pub u64);

impl Serialize for Count {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 > 0 && self.0 < copnet_protocol::docs::SMALL_NUMBER {
            s.serialize_str("<5")
        } else {
            s.serialize_u64(self.0)
        }
    }
}

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`, so that widths and alignment in format strings apply.
        f.pad(&shown_count(self.0))
    }
}

/// The documents of one community, hydrated, and the organisations' names.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub community: Community,
    pub resources: Vec<Resource>,
    pub consults: Vec<Consult>,
    pub events: Vec<Event>,
    pub stories: Vec<Story>,
    pub surveys: Vec<Survey>,
    pub organisations: BTreeMap<NodeId, String>,
}

impl Inputs {
    fn org_name(&self, node: &NodeId) -> String {
        self.organisations
            .get(node)
            .cloned()
            .unwrap_or_else(|| format!("organisation {}", node.fmt_short()))
    }
}

// ---- activity -------------------------------------------------------------------------------

/// What someone did that counts as taking part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActivityKind {
    Consult,
    Reply,
    Resource,
    Story,
    Rsvp,
    Attendance,
}

impl ActivityKind {
    /// Contributions add to the repertoire; RSVPs and attendance are presence.
    fn is_contribution(self) -> bool {
        matches!(
            self,
            Self::Consult | Self::Reply | Self::Resource | Self::Story
        )
    }
}

#[derive(Clone, Debug)]
struct Activity {
    at_ms: i64,
    node: NodeId,
    person: Option<String>,
    kind: ActivityKind,
}

/// One occurrence of one of the community's events.
#[derive(Clone, Debug)]
struct Occ {
    event: usize,
    name: String,
    start_ms: i64,
    cancelled: bool,
    /// Attendance, notes or minutes were recorded for it.
    recorded: bool,
}

/// Occurrences of every event starting in `[from, to)`.
fn occurrences(events: &[Event], from: i64, to: i64) -> Vec<Occ> {
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let Ok(timing) = Timing::of(e) else {
            // Written by a node with other rules, or damaged: nothing to count.
            continue;
        };
        for o in timing.upcoming(from, MAX_OCCURRENCES) {
            if o.start_utc_ms >= to {
                break;
            }
            let recorded = e.notes.contains_key(&o.name)
                || e.minutes.contains_key(&o.name)
                || e.attendance.values().any(|a| a.occurrence == o.name);
            out.push(Occ {
                event: i,
                cancelled: e.cancelled || e.cancelled_occurrences.contains_key(&o.name),
                name: o.name,
                start_ms: o.start_utc_ms,
                recorded,
            });
        }
    }
    out.sort_by_key(|o| (o.start_ms, o.event));
    out
}

/// Every activity in `[from, to)`. Attendance counts at the occurrence's start, everything else
/// when it was written.
fn activities(inp: &Inputs, occs: &[Occ], from: i64, to: i64) -> Vec<Activity> {
    let mut out = Vec::new();
    let mut push = |at_ms: i64, node: NodeId, person: Option<String>, kind| {
        if (from..to).contains(&at_ms) {
            out.push(Activity {
                at_ms,
                node,
                person,
                kind,
            });
        }
    };
    for c in &inp.consults {
        push(
            c.header.created_at_ms,
            c.header.creator,
            c.presenter.clone(),
            ActivityKind::Consult,
        );
        for r in &c.replies {
            push(
                r.created_at_ms,
                r.author,
                r.person.clone(),
                ActivityKind::Reply,
            );
        }
    }
    for r in &inp.resources {
        push(
            r.header.created_at_ms,
            r.header.creator,
            r.added_by.clone(),
            ActivityKind::Resource,
        );
    }
    for s in &inp.stories {
        push(
            s.header.created_at_ms,
            s.header.creator,
            s.person.clone(),
            ActivityKind::Story,
        );
    }
    let starts: HashMap<(usize, &str), i64> = occs
        .iter()
        .map(|o| ((o.event, o.name.as_str()), o.start_ms))
        .collect();
    // Any node may record who attended; what a person did counts for their own organisation.
    let org_of = |person: &str, recorder: NodeId| {
        inp.community
            .people
            .get(person)
            .map(|p| p.node)
            .unwrap_or(recorder)
    };
    for (i, e) in inp.events.iter().enumerate() {
        for r in e.rsvps.values() {
            if r.status != copnet_protocol::docs::RsvpStatus::Declined {
                push(
                    r.at_ms,
                    org_of(&r.person, r.node),
                    Some(r.person.clone()),
                    ActivityKind::Rsvp,
                );
            }
        }
        for a in e.attendance.values() {
            if let Some(start) = starts.get(&(i, a.occurrence.as_str())) {
                push(
                    *start,
                    org_of(&a.person, a.node),
                    Some(a.person.clone()),
                    ActivityKind::Attendance,
                );
            }
        }
    }
    out
}

// ---- participation --------------------------------------------------------------------------

/// One person's participation, for this node's facilitators only.
#[derive(Debug, Clone, Serialize)]
pub struct PersonParticipation {
    pub person: String,
    pub name: String,
    pub organisation: String,
    pub steward: bool,
    pub groups: Vec<String>,
    pub declared: Level,
    pub observed: Level,
    /// The observed level over the window before this one, if they were a member then.
    pub observed_before: Option<Level>,
    pub contributions: u64,
    pub attended: u64,
    pub rsvps: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Participation {
    pub community: String,
    pub window_from: String,
    pub window_to: String,
    pub meetings_held: u64,
    pub rule: &'static str,
    pub notice: &'static str,
    pub people: Vec<PersonParticipation>,
}

#[derive(Default, Clone, Copy)]
struct Tally {
    contributions: u64,
    attended: u64,
    rsvps: u64,
}

fn tallies(acts: &[Activity]) -> HashMap<&str, Tally> {
    let mut out: HashMap<&str, Tally> = HashMap::new();
    for a in acts {
        let Some(p) = a.person.as_deref() else {
            continue;
        };
        let t = out.entry(p).or_default();
        match a.kind {
            k if k.is_contribution() => t.contributions += 1,
            ActivityKind::Attendance => t.attended += 1,
            _ => t.rsvps += 1,
        }
    }
    out
}

fn observe(t: Tally, held: u64) -> Level {
    if t.contributions >= CORE_CONTRIBUTIONS && (held == 0 || t.attended * 2 >= held) {
        Level::Core
    } else if t.contributions > 0 || t.attended > 0 {
        Level::Active
    } else {
        Level::Peripheral
    }
}

/// Observed levels of everyone who was a member at `at`, over the window before it.
fn observed_at(inp: &Inputs, at: i64) -> (BTreeMap<String, (Level, Tally)>, u64) {
    let from = at - Duration::days(OBSERVATION_DAYS).num_milliseconds();
    let occs = occurrences(&inp.events, from, at);
    let held = occs.iter().filter(|o| !o.cancelled && o.recorded).count() as u64;
    let acts = activities(inp, &occs, from, at);
    let t = tallies(&acts);
    let levels = inp
        .community
        .people
        .iter()
        .filter(|(_, p)| p.member_at(at))
        .map(|(id, _)| {
            let tally = t.get(id.as_str()).copied().unwrap_or_default();
            (id.clone(), (observe(tally, held), tally))
        })
        .collect();
    (levels, held)
}

/// Each current member's declared and observed level at `at`, with what the observation rests on.
pub fn participation(inp: &Inputs, at: i64) -> Participation {
    let (now, held) = observed_at(inp, at);
    let (before, _) = observed_at(
        inp,
        at - Duration::days(OBSERVATION_DAYS).num_milliseconds(),
    );
    let mut people: Vec<PersonParticipation> = now
        .iter()
        .map(|(id, (observed, t))| {
            let p = &inp.community.people[id];
            PersonParticipation {
                person: id.clone(),
                name: p.name.clone(),
                organisation: inp.org_name(&p.node),
                steward: p.steward,
                groups: p.groups.clone(),
                declared: p.level_at(at),
                observed: *observed,
                observed_before: before.get(id).map(|(l, _)| *l),
                contributions: t.contributions,
                attended: t.attended,
                rsvps: t.rsvps,
            }
        })
        .collect();
    people.sort_by(|a, b| (a.observed, &a.name).cmp(&(b.observed, &b.name)));
    Participation {
        community: inp.community.header.id.to_string(),
        window_from: rfc3339(at - Duration::days(OBSERVATION_DAYS).num_milliseconds()),
        window_to: rfc3339(at),
        meetings_held: held,
        rule: OBSERVATION_RULE,
        notice: "per-person participation is for this node's facilitators; it is never replicated and is not part of the report",
        people,
    }
}

// ---- the report -----------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub community: String,
    pub name: String,
    pub since: String,
    pub until: String,
    pub small_number_rule: &'static str,
    pub members: Members,
    pub movement: Movement,
    pub activity: ActivityByPeriod,
    pub contributions: Contributions,
    pub consults: ConsultStats,
    pub events: EventStats,
    pub resources: ResourceStats,
    pub surveys: Vec<CombinedSurvey>,
    pub stories: StoryStats,
    pub who_is_missing: WhoIsMissing,
}

#[derive(Debug, Clone, Serialize)]
pub struct Members {
    pub total: Count,
    /// As people declared themselves.
    pub declared: BTreeMap<&'static str, Count>,
    /// As observed from activity (see `observation_rule`).
    pub observed: BTreeMap<&'static str, Count>,
    pub observation_rule: &'static str,
    pub by_organisation: Vec<OrgMembers>,
    pub joined: Count,
    pub left: Count,
}

#[derive(Debug, Clone, Serialize)]
pub struct OrgMembers {
    pub organisation: String,
    pub members: Count,
}

#[derive(Debug, Clone, Serialize)]
pub struct Movement {
    /// Declared level changes made during the period.
    pub declared: Vec<Move>,
    /// Observed level at the start of the period against at its end, for people who were
    /// members at both; only changes are listed.
    pub observed: Vec<Move>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Move {
    pub from: Level,
    pub to: Level,
    pub people: Count,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActivityByPeriod {
    pub weekly: Vec<ActivityRow>,
    pub monthly: Vec<ActivityRow>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ActivityRow {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub period: String,
    pub consults: Count,
    pub replies: Count,
    pub resources: Count,
    pub stories: Count,
    pub rsvps: Count,
    pub attendance: Count,
}

impl ActivityRow {
    fn add(&mut self, kind: ActivityKind) {
        let slot = match kind {
            ActivityKind::Consult => &mut self.consults,
            ActivityKind::Reply => &mut self.replies,
            ActivityKind::Resource => &mut self.resources,
            ActivityKind::Story => &mut self.stories,
            ActivityKind::Rsvp => &mut self.rsvps,
            ActivityKind::Attendance => &mut self.attendance,
        };
        slot.0 += 1;
    }

    fn contributions(&self) -> u64 {
        self.consults.0 + self.replies.0 + self.resources.0 + self.stories.0
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Contributions {
    pub by_organisation: Vec<Contribution>,
    /// By the declared level of the person at the time; `unattributed` for posts that name
    /// no person.
    pub by_level: Vec<Contribution>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Contribution {
    /// The organisation or the level.
    pub by: String,
    #[serde(flatten)]
    pub counts: ActivityRow,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConsultStats {
    /// Consults opened in the period; the figures below are about them.
    pub opened: u64,
    pub with_replies: u64,
    pub answered: u64,
    /// Percent answered; shown when at least 5 consults were opened.
    pub answered_percent: Option<u64>,
    pub median_hours_to_first_reply: Option<f64>,
    pub replies: Count,
    /// Replies from an organisation other than the presenter's.
    pub replies_across_organisations: Count,
    /// Consults whose follow-up date fell in the period...
    pub follow_ups_due: u64,
    /// ...and of those, how many have an outcome recorded.
    pub follow_ups_done: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventStats {
    pub occurrences: Vec<OccurrenceRow>,
    pub rhythm: RhythmStats,
}

#[derive(Debug, Clone, Serialize)]
pub struct OccurrenceRow {
    pub event: String,
    pub title: String,
    pub occurrence: String,
    pub starts_at: String,
    /// `held` (attendance, notes or minutes recorded), `cancelled`, or `unrecorded`.
    pub status: &'static str,
    pub going: Count,
    pub attended: Count,
}

#[derive(Debug, Clone, Serialize)]
pub struct RhythmStats {
    pub rhythm: Option<Rhythm>,
    /// Completed beats of the rhythm in the period, oldest first.
    pub beats: Vec<Beat>,
    pub kept: u64,
    pub missed: Vec<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Beat {
    pub beat: String,
    pub kept: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResourceStats {
    pub total: u64,
    pub added: u64,
    pub updated: u64,
    pub added_by_kind: BTreeMap<String, u64>,
    pub overdue_for_review: Vec<OverdueResource>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OverdueResource {
    pub id: String,
    pub title: String,
    pub review_by: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StoryStats {
    /// Stories told in the period, by value cycle.
    pub by_cycle: BTreeMap<&'static str, u64>,
    pub told: Vec<StoryRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StoryRow {
    pub id: String,
    pub title: String,
    pub cycle: ValueCycle,
    pub organisation: String,
    pub told_at: String,
    pub links: Vec<StoryLink>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StoryLink {
    pub id: String,
    pub title: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WhoIsMissing {
    pub groups: Vec<GroupPresence>,
    /// The gaps, in words.
    pub gaps: Vec<String>,
    /// Groups people said they speak for that the charter does not list.
    pub also_present: Vec<String>,
    /// Organisations with members in the community and no activity in the period.
    pub quiet_organisations: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupPresence {
    pub group: String,
    pub members: Count,
    pub attended: Count,
    pub contributed: Count,
    /// `missing`, `silent`, `not at events`, `not contributing` or `taking part`.
    pub status: &'static str,
}

fn day(ms: i64) -> NaiveDate {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .date_naive()
}

fn week_label(d: NaiveDate) -> String {
    let w = d.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

fn month_label(d: NaiveDate) -> String {
    format!("{}-{:02}", d.year(), d.month())
}

fn level_counts(levels: impl Iterator<Item = Level>) -> BTreeMap<&'static str, Count> {
    let mut out: BTreeMap<&'static str, Count> =
        Level::ALL.iter().map(|l| (l.as_str(), Count(0))).collect();
    for l in levels {
        out.entry(l.as_str()).or_default().0 += 1;
    }
    out
}

/// The facilitator report for `[since, until)`.
pub fn build(inp: &Inputs, since: i64, until: i64) -> Report {
    let c = &inp.community;
    let occs = occurrences(&inp.events, since, until);
    let acts = activities(inp, &occs, since, until);
    let current: Vec<(&String, &copnet_protocol::docs::Person)> = c
        .people
        .iter()
        .filter(|(_, p)| p.member_at(until))
        .collect();

    // Members.
    let (observed_now, _) = observed_at(inp, until);
    let (observed_then, _) = observed_at(inp, since);
    let mut by_org: BTreeMap<String, u64> = BTreeMap::new();
    for (_, p) in &current {
        *by_org.entry(inp.org_name(&p.node)).or_default() += 1;
    }
    let members = Members {
        total: Count(current.len() as u64),
        declared: level_counts(current.iter().map(|(_, p)| p.level_at(until))),
        observed: level_counts(observed_now.values().map(|(l, _)| *l)),
        observation_rule: OBSERVATION_RULE,
        by_organisation: by_org
            .into_iter()
            .map(|(organisation, n)| OrgMembers {
                organisation,
                members: Count(n),
            })
            .collect(),
        joined: Count(
            c.people
                .values()
                .filter(|p| (since..until).contains(&p.joined_at_ms))
                .count() as u64,
        ),
        left: Count(
            c.people
                .values()
                .filter(|p| p.left_at_ms.is_some_and(|l| (since..until).contains(&l)))
                .count() as u64,
        ),
    };

    // Movement.
    let mut declared_moves: BTreeMap<(Level, Level), u64> = BTreeMap::new();
    for p in c.people.values() {
        for w in p.level_history.windows(2) {
            if (since..until).contains(&w[1].at_ms) && w[0].level != w[1].level {
                *declared_moves.entry((w[0].level, w[1].level)).or_default() += 1;
            }
        }
    }
    let mut observed_moves: BTreeMap<(Level, Level), u64> = BTreeMap::new();
    for (id, (to, _)) in &observed_now {
        if let Some((from, _)) = observed_then.get(id)
            && from != to
        {
            *observed_moves.entry((*from, *to)).or_default() += 1;
        }
    }
    let moves = |m: BTreeMap<(Level, Level), u64>| {
        m.into_iter()
            .map(|((from, to), n)| Move {
                from,
                to,
                people: Count(n),
            })
            .collect()
    };
    let movement = Movement {
        declared: moves(declared_moves),
        observed: moves(observed_moves),
    };

    // Activity by week and month, with every period present.
    let mut weekly: BTreeMap<String, ActivityRow> = BTreeMap::new();
    let mut monthly: BTreeMap<String, ActivityRow> = BTreeMap::new();
    let (first, last) = (day(since), day(until - 1).max(day(since)));
    let mut d = first;
    while d <= last {
        weekly.entry(week_label(d)).or_default();
        monthly.entry(month_label(d)).or_default();
        d = d.succ_opt().unwrap_or(last + Duration::days(1));
    }
    for a in &acts {
        let d = day(a.at_ms);
        weekly.entry(week_label(d)).or_default().add(a.kind);
        monthly.entry(month_label(d)).or_default().add(a.kind);
    }
    let rows = |m: BTreeMap<String, ActivityRow>| {
        m.into_iter()
            .map(|(period, mut r)| {
                r.period = period;
                r
            })
            .collect()
    };
    let activity = ActivityByPeriod {
        weekly: rows(weekly),
        monthly: rows(monthly),
    };

    // Contributions by organisation and by level.
    let mut by_org: BTreeMap<String, ActivityRow> = BTreeMap::new();
    let mut by_level: BTreeMap<String, ActivityRow> = Level::ALL
        .iter()
        .map(|l| (l.as_str().to_owned(), ActivityRow::default()))
        .collect();
    for (_, p) in &current {
        by_org.entry(inp.org_name(&p.node)).or_default();
    }
    for a in &acts {
        by_org.entry(inp.org_name(&a.node)).or_default().add(a.kind);
        let level = a
            .person
            .as_ref()
            .and_then(|p| c.people.get(p))
            .map(|p| p.level_at(a.at_ms).as_str())
            .unwrap_or("unattributed");
        by_level.entry(level.to_owned()).or_default().add(a.kind);
    }
    let level_order = |k: &str| {
        Level::ALL
            .iter()
            .position(|l| l.as_str() == k)
            .unwrap_or(Level::ALL.len())
    };
    let labelled = |m: BTreeMap<String, ActivityRow>| -> Vec<Contribution> {
        m.into_iter()
            .map(|(by, counts)| Contribution { by, counts })
            .collect()
    };
    let mut by_level = labelled(by_level);
    by_level.sort_by_key(|r| level_order(&r.by));
    let contributions = Contributions {
        by_organisation: labelled(by_org),
        by_level,
    };

    // Consults.
    let opened: Vec<&Consult> = inp
        .consults
        .iter()
        .filter(|c| (since..until).contains(&c.header.created_at_ms))
        .collect();
    let mut waits: Vec<f64> = opened
        .iter()
        .filter_map(|c| {
            let first = c.replies.iter().map(|r| r.created_at_ms).min()?;
            Some((first - c.header.created_at_ms).max(0) as f64 / 3_600_000.0)
        })
        .collect();
    waits.sort_by(f64::total_cmp);
    let median = (!waits.is_empty()).then(|| {
        let n = waits.len();
        let m = if n % 2 == 1 {
            waits[n / 2]
        } else {
            (waits[n / 2 - 1] + waits[n / 2]) / 2.0
        };
        (m * 10.0).round() / 10.0
    });
    let answered = opened
        .iter()
        .filter(|c| !c.presenter_summary.is_empty())
        .count() as u64;
    let replies: Vec<_> = inp
        .consults
        .iter()
        .flat_map(|c| c.replies.iter().map(move |r| (c, r)))
        .filter(|(_, r)| (since..until).contains(&r.created_at_ms))
        .collect();
    let (first_day, last_day) = (day(since), day(until - 1));
    let due: Vec<&Consult> = inp
        .consults
        .iter()
        .filter(|c| {
            c.follow_up_on
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .is_some_and(|d| d >= first_day && d <= last_day)
        })
        .collect();
    let consults = ConsultStats {
        opened: opened.len() as u64,
        with_replies: opened.iter().filter(|c| !c.replies.is_empty()).count() as u64,
        answered,
        answered_percent: (opened.len() >= copnet_protocol::docs::SMALL_NUMBER as usize)
            .then(|| (answered * 100 + opened.len() as u64 / 2) / opened.len() as u64),
        median_hours_to_first_reply: median,
        replies: Count(replies.len() as u64),
        replies_across_organisations: Count(
            replies
                .iter()
                .filter(|(c, r)| r.author != c.header.creator)
                .count() as u64,
        ),
        follow_ups_due: due.len() as u64,
        follow_ups_done: due.iter().filter(|c| c.outcome.is_some()).count() as u64,
    };

    // Events: each occurrence, and the rhythm.
    let occurrence_rows = occs
        .iter()
        .map(|o| {
            let e = &inp.events[o.event];
            let going = e
                .rsvps
                .values()
                .filter(|r| {
                    r.occurrence == o.name && r.status == copnet_protocol::docs::RsvpStatus::Going
                })
                .count();
            let attended = e
                .attendance
                .values()
                .filter(|a| a.occurrence == o.name)
                .count();
            OccurrenceRow {
                event: e.header.id.to_string(),
                title: e.title.clone(),
                occurrence: o.name.clone(),
                starts_at: rfc3339(o.start_ms),
                status: if o.cancelled {
                    "cancelled"
                } else if o.recorded {
                    "held"
                } else {
                    "unrecorded"
                },
                going: Count(going as u64),
                attended: Count(attended as u64),
            }
        })
        .collect();
    let events = EventStats {
        occurrences: occurrence_rows,
        rhythm: rhythm(c.rhythm, &inp.events, since, until),
    };

    // Resources.
    let mut added_by_kind: BTreeMap<String, u64> = BTreeMap::new();
    for r in &inp.resources {
        if (since..until).contains(&r.header.created_at_ms) {
            *added_by_kind.entry(r.kind.as_str().to_owned()).or_default() += 1;
        }
    }
    let mut overdue: Vec<OverdueResource> = inp
        .resources
        .iter()
        .filter_map(|r| {
            let by = r.review_by.as_deref()?;
            let d = NaiveDate::parse_from_str(by, "%Y-%m-%d").ok()?;
            (d < day(until)).then(|| OverdueResource {
                id: r.header.id.to_string(),
                title: r.title.clone(),
                review_by: by.to_owned(),
            })
        })
        .collect();
    overdue.sort_by(|a, b| (&a.review_by, &a.title).cmp(&(&b.review_by, &b.title)));
    let resources = ResourceStats {
        total: inp
            .resources
            .iter()
            .filter(|r| r.header.created_at_ms < until)
            .count() as u64,
        added: added_by_kind.values().sum(),
        updated: inp
            .resources
            .iter()
            .filter(|r| r.header.created_at_ms < since && (since..until).contains(&r.updated_at_ms))
            .count() as u64,
        added_by_kind,
        overdue_for_review: overdue,
    };

    // Surveys closed or open in the period, with what nodes have published.
    let mut surveys: Vec<CombinedSurvey> = inp
        .surveys
        .iter()
        .filter(|s| s.header.created_at_ms < until)
        .map(|s| {
            combine(
                s,
                inp.surveys
                    .iter()
                    .find(|b| Some(b.header.id.to_string()) == s.baseline),
                until,
            )
        })
        .collect();
    surveys.sort_by(|a, b| (&a.closes_on, &a.title).cmp(&(&b.closes_on, &b.title)));

    // Stories.
    let titles: HashMap<String, String> = inp
        .consults
        .iter()
        .map(|c| (c.header.id.to_string(), c.title.clone()))
        .chain(
            inp.events
                .iter()
                .map(|e| (e.header.id.to_string(), e.title.clone())),
        )
        .chain(
            inp.resources
                .iter()
                .map(|r| (r.header.id.to_string(), r.title.clone())),
        )
        .collect();
    let mut by_cycle: BTreeMap<&'static str, u64> =
        ValueCycle::ALL.iter().map(|c| (c.as_str(), 0)).collect();
    let mut told: Vec<StoryRow> = Vec::new();
    for s in &inp.stories {
        if !(since..until).contains(&s.header.created_at_ms) {
            continue;
        }
        *by_cycle.entry(s.cycle.as_str()).or_default() += 1;
        told.push(StoryRow {
            id: s.header.id.to_string(),
            title: s.title.clone(),
            cycle: s.cycle,
            organisation: inp.org_name(&s.header.creator),
            told_at: rfc3339(s.header.created_at_ms),
            links: s
                .links
                .iter()
                .map(|l| StoryLink {
                    id: l.clone(),
                    title: titles.get(l).cloned(),
                })
                .collect(),
        });
    }
    told.sort_by(|a, b| (a.cycle, &a.told_at).cmp(&(b.cycle, &b.told_at)));
    let stories = StoryStats { by_cycle, told };

    let who_is_missing = who_is_missing(inp, &current, &acts, &contributions);

    Report {
        community: c.header.id.to_string(),
        name: c.name.clone(),
        since: rfc3339(since),
        until: rfc3339(until),
        small_number_rule: SMALL_NUMBER_RULE,
        members,
        movement,
        activity,
        contributions,
        consults,
        events,
        resources,
        surveys,
        stories,
        who_is_missing,
    }
}

/// The beats of `rhythm` that ended in `[since, until)`, plus the current one if it already has
/// a meeting; a beat is kept when at least one event occurrence in it was not cancelled.
fn rhythm(rhythm: Option<Rhythm>, events: &[Event], since: i64, until: i64) -> RhythmStats {
    let Some(r) = rhythm else {
        return RhythmStats {
            rhythm: None,
            beats: vec![],
            kept: 0,
            missed: vec![],
            note: Some(
                "no rhythm declared: set one with `copnet community edit ID --rhythm monthly`"
                    .into(),
            ),
        };
    };
    let (start, end) = (day(since), day(until - 1));
    // Beat boundaries as dates, the first at or after `since`.
    let mut bounds: Vec<(NaiveDate, NaiveDate, String)> = Vec::new();
    let mut b = match r {
        Rhythm::Weekly | Rhythm::Fortnightly => {
            start - Duration::days(start.weekday().num_days_from_monday() as i64)
        }
        Rhythm::Monthly => start.with_day(1).unwrap_or(start),
        Rhythm::Quarterly => {
            NaiveDate::from_ymd_opt(start.year(), (start.month0() / 3) * 3 + 1, 1).unwrap_or(start)
        }
    };
    if b < start {
        b = next_beat(r, b);
    }
    while b <= end && bounds.len() < 10_000 {
        let n = next_beat(r, b);
        let label = match r {
            Rhythm::Weekly | Rhythm::Fortnightly => week_label(b),
            Rhythm::Monthly => month_label(b),
            Rhythm::Quarterly => format!("{}-Q{}", b.year(), b.month0() / 3 + 1),
        };
        bounds.push((b, n, label));
        b = n;
    }
    let occs = match (bounds.first(), bounds.last()) {
        (Some(f), Some(l)) => occurrences(events, day_start_ms(f.0), day_start_ms(l.1)),
        _ => vec![],
    };
    let mut beats = Vec::new();
    for (from, to, label) in bounds {
        let kept = occs
            .iter()
            .any(|o| !o.cancelled && (day_start_ms(from)..day_start_ms(to)).contains(&o.start_ms));
        let complete = day_start_ms(to) <= until;
        if complete || kept {
            beats.push(Beat { beat: label, kept });
        }
    }
    RhythmStats {
        rhythm: Some(r),
        kept: beats.iter().filter(|b| b.kept).count() as u64,
        missed: beats
            .iter()
            .filter(|b| !b.kept)
            .map(|b| b.beat.clone())
            .collect(),
        beats,
        note: None,
    }
}

fn next_beat(r: Rhythm, d: NaiveDate) -> NaiveDate {
    match r {
        Rhythm::Weekly => d + Duration::days(7),
        Rhythm::Fortnightly => d + Duration::days(14),
        Rhythm::Monthly => d.checked_add_months(chrono::Months::new(1)).unwrap_or(d),
        Rhythm::Quarterly => d.checked_add_months(chrono::Months::new(3)).unwrap_or(d),
    }
}

fn who_is_missing(
    inp: &Inputs,
    current: &[(&String, &copnet_protocol::docs::Person)],
    acts: &[Activity],
    contributions: &Contributions,
) -> WhoIsMissing {
    let c = &inp.community;
    let norm = |s: &str| s.trim().to_lowercase();
    let attended: BTreeSet<&str> = acts
        .iter()
        .filter(|a| a.kind == ActivityKind::Attendance)
        .filter_map(|a| a.person.as_deref())
        .collect();
    let contributed: BTreeSet<&str> = acts
        .iter()
        .filter(|a| a.kind.is_contribution())
        .filter_map(|a| a.person.as_deref())
        .collect();
    let mut groups = Vec::new();
    let mut gaps = Vec::new();
    for g in &c.stakeholders {
        let in_group: Vec<&str> = current
            .iter()
            .filter(|(_, p)| p.groups.iter().any(|pg| norm(pg) == norm(g)))
            .map(|(id, _)| id.as_str())
            .collect();
        let members = in_group.len() as u64;
        let came = in_group.iter().filter(|p| attended.contains(*p)).count() as u64;
        let gave = in_group.iter().filter(|p| contributed.contains(*p)).count() as u64;
        let status = match (members, came, gave) {
            (0, _, _) => "missing",
            (_, 0, 0) => "silent",
            (_, 0, _) => "not at events",
            (_, _, 0) => "not contributing",
            _ => "taking part",
        };
        match status {
            "missing" => gaps.push(format!(
                "{g}: no one in the community speaks for this group"
            )),
            "silent" => gaps.push(format!(
                "{g}: members, but none came to a meeting or contributed in the period"
            )),
            "not at events" => gaps.push(format!("{g}: no one came to a meeting in the period")),
            "not contributing" => gaps.push(format!(
                "{g}: came to meetings but contributed nothing in the period"
            )),
            _ => {}
        }
        groups.push(GroupPresence {
            group: g.clone(),
            members: Count(members),
            attended: Count(came),
            contributed: Count(gave),
            status,
        });
    }
    let listed: BTreeSet<String> = c.stakeholders.iter().map(|g| norm(g)).collect();
    let mut also: BTreeMap<String, String> = BTreeMap::new();
    for (_, p) in current {
        for g in &p.groups {
            if !listed.contains(&norm(g)) {
                also.entry(norm(g)).or_insert_with(|| g.clone());
            }
        }
    }
    let quiet_organisations = contributions
        .by_organisation
        .iter()
        .filter(|r| {
            r.counts.contributions() == 0 && r.counts.attendance.0 == 0 && r.counts.rsvps.0 == 0
        })
        .map(|r| r.by.clone())
        .collect();
    if c.stakeholders.is_empty() {
        gaps.push(
            "no stakeholder groups declared: list who should be at the table with `copnet community edit ID --stakeholder …`"
                .into(),
        );
    }
    WhoIsMissing {
        groups,
        gaps,
        also_present: also.into_values().collect(),
        quiet_organisations,
    }
}

/// The longest period one report covers: ten years of days. A report walks its period day by day.
pub const MAX_REPORT_DAYS: i64 = 3653;

/// [`period`], refused when it is empty, backwards or longer than [`MAX_REPORT_DAYS`].
pub fn checked_period(
    since: Option<NaiveDate>,
    until: Option<NaiveDate>,
    now_ms: i64,
) -> Result<(i64, i64), String> {
    let (from, to) = period(since, until, now_ms);
    if from >= to {
        return Err("the report's start must come before its end".into());
    }
    if to - from > Duration::days(MAX_REPORT_DAYS).num_milliseconds() {
        return Err(format!(
            "a report covers at most {MAX_REPORT_DAYS} days (ten years); choose a shorter period"
        ));
    }
    Ok((from, to))
}

/// `since` and `until` of a report: `until` defaults to now, `since` to 90 days before it.
pub fn period(since: Option<NaiveDate>, until: Option<NaiveDate>, now_ms: i64) -> (i64, i64) {
    let until = until
        .map(|d| day_start_ms(d + Duration::days(1)))
        .unwrap_or(now_ms);
    let since = since
        .map(day_start_ms)
        .unwrap_or(until - Duration::days(OBSERVATION_DAYS).num_milliseconds());
    (since, until)
}

#[cfg(test)]
mod tests {
    use super::*;
    use copnet_protocol::docs::{
        Audience, ConsultStatus, Header, LevelChange, Person, Reply, ReplyKind,
    };
    use copnet_protocol::{DocId, DocKind, FederationId, NodeKey};

    const DAY: i64 = 86_400_000;
    /// 2026-01-01T00:00Z.
    const T0: i64 = 1_767_225_600_000;

    fn day(n: i64) -> i64 {
        T0 + n * DAY
    }

    fn header(kind: DocKind, community: DocId, creator: NodeId, at: i64) -> Header {
        Header {
            id: if kind == DocKind::Community {
                community
            } else {
                DocId::random(kind)
            },
            kind,
            federation: FederationId([7; 32]),
            community,
            audience: Audience::Federation,
            creator,
            schema_version: 1,
            created_at_ms: at,
        }
    }

    fn person(name: &str, node: NodeId, history: &[(Level, i64)], left: Option<i64>) -> Person {
        Person {
            name: name.into(),
            node,
            level: history.last().unwrap().0,
            expertise: vec![],
            steward: false,
            joined_at_ms: history[0].1,
            left_at_ms: left,
            groups: vec![],
            level_history: history
                .iter()
                .map(|(level, at_ms)| LevelChange {
                    level: *level,
                    at_ms: *at_ms,
                })
                .collect(),
        }
    }

    fn consult(com: DocId, node: NodeId, by: &str, at: i64, replies: Vec<Reply>) -> Consult {
        Consult {
            header: header(DocKind::Consult, com, node, at),
            title: "A case".into(),
            question: "What helps?".into(),
            situation: String::new(),
            background: String::new(),
            assessment: String::new(),
            request: String::new(),
            status: ConsultStatus::Open,
            presenter: Some(by.into()),
            replies,
            presenter_summary: String::new(),
            follow_up_on: None,
            outcome: None,
            answered_at_ms: None,
            closed_at_ms: None,
            attestations: BTreeMap::new(),
            updated_at_ms: at,
        }
    }

    fn reply(node: NodeId, by: &str, at: i64) -> Reply {
        Reply {
            id: format!("r{at}"),
            author: node,
            person: Some(by.into()),
            kind: ReplyKind::Idea,
            text: "An idea".into(),
            created_at_ms: at,
        }
    }

    /// Three people over 200 days: Ash is busy early and quiet later, Bo the other way round
    /// (and declares core on day 100), Cy leaves on day 150.
    fn inputs() -> Inputs {
        let (a, b) = (NodeKey::generate().node_id(), NodeKey::generate().node_id());
        let com = DocId::random(DocKind::Community);
        let mut people = BTreeMap::new();
        people.insert(
            "per_ash".to_owned(),
            person("Ash", a, &[(Level::Active, day(0))], None),
        );
        people.insert(
            "per_bo".to_owned(),
            person(
                "Bo",
                b,
                &[(Level::Peripheral, day(0)), (Level::Core, day(100))],
                None,
            ),
        );
        people.insert(
            "per_cy".to_owned(),
            person("Cy", a, &[(Level::Peripheral, day(0))], Some(day(150))),
        );
        let community = Community {
            header: header(DocKind::Community, com, a, day(0)),
            name: "Test community".into(),
            domain: String::new(),
            purpose: String::new(),
            practice_focus: String::new(),
            audience: String::new(),
            goals: vec![],
            outcomes: vec![],
            stakeholders: vec![],
            topics: vec![],
            rhythm: None,
            people,
            privacy_terms: BTreeMap::new(),
            small_places: BTreeMap::new(),
            updated_at_ms: day(0),
        };
        let consults = vec![
            consult(
                com,
                a,
                "per_ash",
                day(10),
                vec![reply(b, "per_bo", day(120))],
            ),
            consult(
                com,
                a,
                "per_ash",
                day(20),
                vec![reply(b, "per_bo", day(130))],
            ),
            consult(
                com,
                a,
                "per_ash",
                day(30),
                vec![reply(b, "per_bo", day(140))],
            ),
        ];
        Inputs {
            community,
            resources: vec![],
            consults,
            events: vec![],
            stories: vec![],
            surveys: vec![],
            organisations: [(a, "Agency A".to_owned()), (b, "Agency B".to_owned())].into(),
        }
    }

    #[test]
    fn observed_levels_and_movement_between_them() {
        let inp = inputs();
        let r = build(&inp, day(100), day(200));
        // Members at the end: Ash and Bo (Cy left during the period).
        assert_eq!(r.members.total, Count(2));
        assert_eq!(r.members.left, Count(1));
        // Ash: 3 consults in days 10-30 → core at day 100, nothing since → peripheral at day 200.
        // Bo: 3 replies in days 120-140 → core at day 200, nothing before → peripheral at day 100.
        let moves: Vec<(Level, Level, u64)> = r
            .movement
            .observed
            .iter()
            .map(|m| (m.from, m.to, m.people.0))
            .collect();
        assert_eq!(
            moves,
            vec![
                (Level::Core, Level::Peripheral, 1),
                (Level::Peripheral, Level::Core, 1)
            ]
        );
        let declared: Vec<(Level, Level, u64)> = r
            .movement
            .declared
            .iter()
            .map(|m| (m.from, m.to, m.people.0))
            .collect();
        assert_eq!(declared, vec![(Level::Peripheral, Level::Core, 1)]);
        // Only replies fall in the period; the consults they answer were opened before it.
        assert_eq!(r.consults.opened, 0);
        assert_eq!(r.consults.replies, Count(3));
        assert_eq!(r.consults.replies_across_organisations, Count(3));
        let p = participation(&inp, day(200));
        let bo = p.people.iter().find(|x| x.person == "per_bo").unwrap();
        assert_eq!(
            (bo.declared, bo.observed, bo.observed_before),
            (Level::Core, Level::Core, Some(Level::Peripheral))
        );
        assert!(
            p.people.iter().all(|x| x.person != "per_cy"),
            "people who left are not listed"
        );
        // Bo's replies count for Agency B, at Bo's declared level when written (core from day 100).
        let b_row = r
            .contributions
            .by_organisation
            .iter()
            .find(|c| c.by == "Agency B")
            .unwrap();
        assert_eq!(b_row.counts.replies, Count(3));
        let core = r
            .contributions
            .by_level
            .iter()
            .find(|c| c.by == "core")
            .unwrap();
        assert_eq!(core.counts.replies, Count(3));
    }

    #[test]
    fn counts_under_five_never_show_as_numbers() {
        let shown = |n| serde_json::to_value(Count(n)).unwrap();
        assert_eq!(shown(0), serde_json::json!(0));
        assert_eq!(shown(1), serde_json::json!("<5"));
        assert_eq!(shown(4), serde_json::json!("<5"));
        assert_eq!(shown(5), serde_json::json!(5));
    }
}
