use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile};
use serde::Serialize;

use super::Header;

/// Counts below this are never published: they are shown as `"<5"`.
pub const SMALL_NUMBER: u64 = 5;
/// A check-in is short: at least this many questions...
pub const MIN_QUESTIONS: usize = 3;
/// ...and at most this many.
pub const MAX_QUESTIONS: usize = 5;
/// Scale questions run from 1 to 5.
pub const SCALE_MIN: u64 = 1;
pub const SCALE_MAX: u64 = 5;

/// How a count is shown wherever it can leave the node: `"0"`, `"<5"`, or the number.
pub fn shown_count(n: u64) -> String {
    if n > 0 && n < SMALL_NUMBER {
        "<5".to_owned()
    } else {
        n.to_string()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QuestionKind {
    /// 1 to 5, with the words for each end in `options` (`["not at all", "very much"]`).
    Scale,
    /// One of `options`.
    Choice,
    /// Free text. Answers never leave the responding node.
    Text,
}

super::word_enum!(QuestionKind, "question kind", {
    Scale => "scale",
    Choice => "choice",
    Text => "text",
});

/// What a survey measures against: a single check-in (usually after an event), or the baseline
/// and follow-up of a period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SurveyPhase {
    CheckIn,
    Baseline,
    FollowUp,
}

super::word_enum!(SurveyPhase, "survey phase", {
    CheckIn => "check-in",
    Baseline => "baseline",
    FollowUp => "follow-up",
});

#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize)]
pub struct Question {
    #[key]
    pub id: String,
    pub text: String,
    pub kind: QuestionKind,
    pub options: Vec<String>,
}

/// A short instrument (3–5 questions) tied to an event occurrence or to a period.
///
/// Responses are kept only on the node where they were given. When the survey closes, each node
/// that holds responses publishes its aggregate under `results[<its node id>]`, once, with every
/// count from 1 to 4 shown as `"<5"`; publishing once, after closing, means no one can learn a
/// single response from the difference between two published aggregates.
#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize)]
pub struct Survey {
    pub header: Header,
    pub title: String,
    pub intro: String,
    pub questions: Vec<Question>,
    pub phase: SurveyPhase,
    /// The event (and occurrence) a check-in follows.
    pub event: Option<String>,
    pub occurrence: Option<String>,
    /// The period a baseline or follow-up covers, `YYYY-MM-DD`.
    pub period_from: Option<String>,
    pub period_to: Option<String>,
    /// For a follow-up: the baseline it is compared with.
    pub baseline: Option<String>,
    /// `YYYY-MM-DD`: responses are taken until the end of this day (UTC), or until closed.
    pub closes_on: String,
    pub closed_at_ms: Option<i64>,
    /// Each node's published aggregate, by node id.
    pub results: BTreeMap<String, NodeResults>,
    pub updated_at_ms: i64,
}

/// One node's aggregate of its own responses. Counts are text: `"0"`, `"<5"` or a number ≥ 5.
#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize)]
pub struct NodeResults {
    pub respondents: String,
    pub questions: BTreeMap<String, QuestionResults>,
    pub published_at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize)]
pub struct QuestionResults {
    pub answered: String,
    /// For scale questions by value (`"1"`…`"5"`), for choices by option.
    pub counts: BTreeMap<String, String>,
    /// For scale questions, the sum of the values, published only when at least
    /// [`SMALL_NUMBER`] people answered (it gives the mean, and nothing finer).
    pub sum: Option<u64>,
}
