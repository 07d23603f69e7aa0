//! Check-in and survey results: one node's aggregate of its own responses, and every node's
//! published aggregates combined.
//!
//! Responses never leave the node where they were given. What a node publishes holds counts
//! only, each one `"0"`, `"<5"` or a number of at least 5, and for a scale question the sum of the
//! values when at least 5 people answered. Combining keeps the rule: a total that includes
//! suppressed counts is shown as a range, never as a number that would let a reader subtract
//! their way to one organisation's small count.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use copnet_protocol::docs::{
    NodeResults, Question, QuestionKind, QuestionResults, SCALE_MAX, SCALE_MIN, SMALL_NUMBER,
    Survey, SurveyPhase, shown_count,
};
use serde::Serialize;

/// Whether a survey takes no more responses at `now_ms`: closed by its author, or past the end
/// of its closing day (UTC).
pub fn is_closed(s: &Survey, now_ms: i64) -> bool {
    s.closed_at_ms.is_some()
        || NaiveDate::parse_from_str(&s.closes_on, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.succ_opt())
            .is_some_and(|end| now_ms >= crate::validate::day_start_ms(end))
}

/// The possible answers of a closed question, in their natural order.
pub fn answers_of(q: &Question) -> Vec<String> {
    match q.kind {
        QuestionKind::Scale => (SCALE_MIN..=SCALE_MAX).map(|v| v.to_string()).collect(),
        QuestionKind::Choice => q.options.clone(),
        QuestionKind::Text => vec![],
    }
}

/// This node's aggregate of `responses` (each a map from question id to answer).
pub fn aggregate(
    questions: &[Question],
    responses: &[BTreeMap<String, String>],
    now_ms: i64,
) -> NodeResults {
    let mut out = BTreeMap::new();
    for q in questions {
        let given: Vec<&String> = responses.iter().filter_map(|r| r.get(&q.id)).collect();
        let answered = given.len() as u64;
        let counts = answers_of(q)
            .into_iter()
            .map(|a| {
                let n = given.iter().filter(|g| ***g == a).count() as u64;
                (a, shown_count(n))
            })
            .collect();
        let sum = (q.kind == QuestionKind::Scale && answered >= SMALL_NUMBER).then(|| {
            given
                .iter()
                .filter_map(|g| g.parse::<u64>().ok())
                .sum::<u64>()
        });
        out.insert(
            q.id.clone(),
            QuestionResults {
                answered: shown_count(answered),
                counts,
                sum,
            },
        );
    }
    NodeResults {
        respondents: shown_count(responses.len() as u64),
        questions: out,
        published_at_ms: now_ms,
    }
}

/// A published count: exact (0 or at least 5) or suppressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cell {
    Exact(u64),
    Small,
}

fn cell(s: &str) -> Option<Cell> {
    if s.trim() == "<5" {
        return Some(Cell::Small);
    }
    match s.trim().parse::<u64>().ok()? {
        // A node that published a small number broke the rule; never show it.
        n if n > 0 && n < SMALL_NUMBER => Some(Cell::Small),
        n => Some(Cell::Exact(n)),
    }
}

/// The sum of several published counts, shown under the rule.
fn total<'a>(cells: impl Iterator<Item = &'a String>) -> String {
    let (mut exact, mut small) = (0u64, 0u64);
    for c in cells.filter_map(|c| cell(c)) {
        match c {
            Cell::Exact(n) => exact = exact.saturating_add(n),
            Cell::Small => small += 1,
        }
    }
    if small == 0 {
        return shown_count(exact);
    }
    let lower = exact + small;
    let upper = exact + small * (SMALL_NUMBER - 1);
    if upper < SMALL_NUMBER {
        "<5".into()
    } else if lower < SMALL_NUMBER {
        format!("up to {upper}")
    } else {
        format!("{lower}–{upper}")
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CombinedSurvey {
    pub id: String,
    pub title: String,
    pub phase: SurveyPhase,
    pub status: &'static str,
    pub closes_on: String,
    pub event: Option<String>,
    pub occurrence: Option<String>,
    pub period_from: Option<String>,
    pub period_to: Option<String>,
    /// Organisations that have published their aggregate.
    pub nodes_reporting: usize,
    pub respondents: String,
    pub questions: Vec<CombinedQuestion>,
    pub compared_with_baseline: Vec<Comparison>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CombinedQuestion {
    pub id: String,
    pub text: String,
    pub kind: QuestionKind,
    pub answered: String,
    pub counts: Vec<AnswerCount>,
    /// The mean of a scale question over the organisations with at least 5 answers.
    pub mean: Option<f64>,
    /// How many answers the mean rests on.
    pub mean_of: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AnswerCount {
    pub answer: String,
    pub count: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub question: String,
    pub baseline_mean: f64,
    pub follow_up_mean: f64,
    pub change: f64,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn mean(s: &Survey, qid: &str) -> (Option<f64>, u64) {
    let (mut sum, mut n) = (0u64, 0u64);
    for r in s.results.values() {
        let Some(q) = r.questions.get(qid) else {
            continue;
        };
        if let (Some(qs), Some(Cell::Exact(a))) = (q.sum, cell(&q.answered))
            && a >= SMALL_NUMBER
            // A sum outside what `a` answers could add up to is not believed.
            && (a * SCALE_MIN..=a * SCALE_MAX).contains(&qs)
        {
            sum += qs;
            n += a;
        }
    }
    ((n > 0).then(|| round2(sum as f64 / n as f64)), n)
}

/// Every node's published aggregate of `s` combined; `baseline` is the survey a follow-up is
/// compared with.
pub fn combine(s: &Survey, baseline: Option<&Survey>, now_ms: i64) -> CombinedSurvey {
    let questions: Vec<CombinedQuestion> = s
        .questions
        .iter()
        .map(|q| {
            let published: Vec<&QuestionResults> = s
                .results
                .values()
                .filter_map(|r| r.questions.get(&q.id))
                .collect();
            let counts = answers_of(q)
                .into_iter()
                .map(|a| AnswerCount {
                    count: total(published.iter().filter_map(|p| p.counts.get(&a))),
                    answer: a,
                })
                .collect();
            let (mean, mean_of) = if q.kind == QuestionKind::Scale {
                mean(s, &q.id)
            } else {
                (None, 0)
            };
            CombinedQuestion {
                id: q.id.clone(),
                text: q.text.clone(),
                kind: q.kind,
                answered: total(published.iter().map(|p| &p.answered)),
                counts,
                mean,
                mean_of,
            }
        })
        .collect();
    let compared_with_baseline = match baseline {
        Some(b) if s.phase == SurveyPhase::FollowUp => questions
            .iter()
            .filter(|q| q.kind == QuestionKind::Scale)
            .filter_map(|q| {
                let bq = b.questions.iter().find(|bq| {
                    bq.kind == QuestionKind::Scale && bq.text.eq_ignore_ascii_case(&q.text)
                })?;
                let (Some(before), Some(after)) = (mean(b, &bq.id).0, q.mean) else {
                    return None;
                };
                Some(Comparison {
                    question: q.text.clone(),
                    baseline_mean: before,
                    follow_up_mean: after,
                    change: round2(after - before),
                })
            })
            .collect(),
        _ => vec![],
    };
    CombinedSurvey {
        id: s.header.id.to_string(),
        title: s.title.clone(),
        phase: s.phase,
        status: if is_closed(s, now_ms) {
            "closed"
        } else {
            "open"
        },
        closes_on: s.closes_on.clone(),
        event: s.event.clone(),
        occurrence: s.occurrence.clone(),
        period_from: s.period_from.clone(),
        period_to: s.period_to.clone(),
        nodes_reporting: s.results.len(),
        respondents: total(s.results.values().map(|r: &NodeResults| &r.respondents)),
        questions,
        compared_with_baseline,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(id: &str, kind: QuestionKind, options: &[&str]) -> Question {
        Question {
            id: id.into(),
            text: format!("question {id}"),
            kind,
            options: options.iter().map(|o| o.to_string()).collect(),
        }
    }

    fn answers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn small_counts_are_never_published_and_sums_need_five_answers() {
        let qs = [
            q("q1", QuestionKind::Scale, &[]),
            q("q2", QuestionKind::Choice, &["yes", "no"]),
            q("q3", QuestionKind::Text, &[]),
        ];
        let rs: Vec<_> = [4, 4, 5, 3, 4, 2]
            .iter()
            .enumerate()
            .map(|(i, v)| {
                answers(&[
                    ("q1", &v.to_string()),
                    ("q2", if i < 5 { "yes" } else { "no" }),
                    ("q3", "private words"),
                ])
            })
            .collect();
        let r = aggregate(&qs, &rs, 0);
        assert_eq!(r.respondents, "6");
        let q1 = &r.questions["q1"];
        assert_eq!(q1.answered, "6");
        assert_eq!(q1.counts["4"], "<5");
        assert_eq!(q1.counts["1"], "0");
        assert_eq!(q1.sum, Some(22));
        assert_eq!(r.questions["q2"].counts["yes"], "5");
        assert_eq!(r.questions["q2"].counts["no"], "<5");
        // Free text is counted, never carried.
        assert!(r.questions["q3"].counts.is_empty());
        assert!(!format!("{r:?}").contains("private words"));
        // Four responses: no sum, nothing exact but zeros.
        let r = aggregate(&qs, &rs[..4], 0);
        assert_eq!(r.respondents, "<5");
        assert_eq!(r.questions["q1"].sum, None);
    }

    #[test]
    fn totals_with_suppressed_parts_are_ranges() {
        let t = |v: &[&str]| total(v.iter().map(|s| s.to_string()).collect::<Vec<_>>().iter());
        assert_eq!(t(&["6", "7"]), "13");
        assert_eq!(t(&["0", "<5"]), "<5");
        assert_eq!(t(&["6", "<5"]), "7–10");
        assert_eq!(t(&["<5", "<5"]), "up to 8");
        assert_eq!(
            t(&["3"]),
            "<5",
            "a small number published by mistake stays hidden"
        );
        assert_eq!(t(&[]), "0");
    }
}
