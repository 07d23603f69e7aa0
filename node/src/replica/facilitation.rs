//! Facilitation: value-creation stories, check-ins and surveys, the facilitator report and the
//! participation view.
//!
//! Survey responses are the one thing a node keeps that is not a document: they are stored in
//! its own store, never replicated, and leave only as the aggregate the node publishes into the
//! survey document once the survey has closed.

use std::collections::BTreeMap;

use copnet_protocol::docs::{
    Audience, Community, Consult, Event, MAX_QUESTIONS, MIN_QUESTIONS, NodeResults, Question,
    QuestionKind, Resource, Story, Survey, SurveyPhase, ValueCycle,
};
use copnet_protocol::{DocId, DocKind};
use serde::{Deserialize, Serialize};

use super::{Replica, ReplicaError, Result, audience, now_ms, parse_id};
use crate::report::{self, Inputs};
use crate::store::{DocEntry, WriteBatch};
use crate::validate::{self, InputError, MAX_LONG_TEXT, MAX_SHORT_TEXT};

/// Most documents a story links to.
pub const MAX_STORY_LINKS: usize = 20;
/// Most options of a choice question.
pub const MAX_OPTIONS: usize = 10;
/// Days a survey stays open when no closing date is given.
pub const DEFAULT_SURVEY_DAYS: u64 = 14;

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewStory {
    pub community: String,
    pub title: String,
    pub text: String,
    /// `immediate`, `potential`, `applied`, `realised` or `transformative`.
    pub cycle: String,
    /// Ids of consults, events and resources of the same community.
    #[serde(default)]
    pub links: Vec<String>,
    /// The person of this organisation whose story it is: a person id or name.
    #[serde(default)]
    pub person: Option<String>,
    #[serde(default)]
    pub audience: Option<String>,
    #[serde(default)]
    pub attest: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewQuestion {
    pub text: String,
    /// `scale` (1–5), `choice` or `text`.
    pub kind: String,
    /// For a choice, the options; for a scale, optionally the words for 1 and 5.
    #[serde(default)]
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewSurvey {
    pub community: String,
    pub title: String,
    #[serde(default)]
    pub intro: Option<String>,
    /// `check-in` (the default), `baseline` or `follow-up`.
    #[serde(default)]
    pub phase: Option<String>,
    pub questions: Vec<NewQuestion>,
    /// A check-in follows an event: its id, and optionally the occurrence (default: the latest
    /// one that has started).
    #[serde(default)]
    pub event: Option<String>,
    #[serde(default)]
    pub occurrence: Option<String>,
    /// A baseline or follow-up covers a period, `YYYY-MM-DD`.
    #[serde(default)]
    pub period_from: Option<String>,
    #[serde(default)]
    pub period_to: Option<String>,
    /// A follow-up names the baseline it is compared with.
    #[serde(default)]
    pub baseline: Option<String>,
    /// `YYYY-MM-DD`; defaults to 14 days from today.
    #[serde(default)]
    pub closes_on: Option<String>,
    #[serde(default)]
    pub audience: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SurveyResponse {
    /// Who of this organisation is answering (person id or name); recorded only to stop a
    /// second response, apart from the answers.
    pub person: String,
    /// Answers by question id: `1`–`5` for a scale, an option for a choice, words for text.
    pub answers: BTreeMap<String, String>,
}

/// A response as this node stores it: no person.
#[derive(Debug, Clone, Deserialize, Serialize)]
struct StoredResponse {
    answers: BTreeMap<String, String>,
}

fn question(i: usize, q: &NewQuestion) -> Result<Question, InputError> {
    let n = i + 1;
    let text = validate::required_text(&format!("question {n}"), &q.text, MAX_SHORT_TEXT)?;
    let kind: QuestionKind = q.kind.trim().parse().map_err(InputError)?;
    let options = validate::items(&format!("question {n} option"), &q.options, MAX_OPTIONS)?;
    let options = match kind {
        QuestionKind::Choice if options.len() < 2 => {
            return Err(InputError(format!(
                "question {n} is a choice: give at least two options"
            )));
        }
        QuestionKind::Scale if options.is_empty() => {
            vec!["not at all".to_owned(), "very much".to_owned()]
        }
        QuestionKind::Scale if options.len() != 2 => {
            return Err(InputError(format!(
                "question {n} is a 1–5 scale: give no options, or exactly two (the words for 1 and for 5)"
            )));
        }
        QuestionKind::Text if !options.is_empty() => {
            return Err(InputError(format!(
                "question {n} takes free text: it has no options"
            )));
        }
        _ => options,
    };
    Ok(Question {
        id: format!("q{n}"),
        text,
        kind,
        options,
    })
}

/// Checks one answer against its question; returns it as stored.
fn answer(q: &Question, given: &str) -> Result<String, InputError> {
    let g = given.trim();
    match q.kind {
        QuestionKind::Scale => match g.parse::<u64>() {
            Ok(v @ 1..=5) => Ok(v.to_string()),
            _ => Err(InputError(format!(
                "{}: {g:?} is not on the scale; answer 1 ({}) to 5 ({})",
                q.id, q.options[0], q.options[1]
            ))),
        },
        QuestionKind::Choice => q
            .options
            .iter()
            .find(|o| o.eq_ignore_ascii_case(g))
            .cloned()
            .ok_or_else(|| {
                InputError(format!(
                    "{}: {g:?} is not one of the options: {}",
                    q.id,
                    q.options.join(", ")
                ))
            }),
        QuestionKind::Text => validate::required_text(&q.id, g, MAX_SHORT_TEXT),
    }
}

impl Replica {
    // ---- stories --------------------------------------------------------------------------

    pub fn tell_story(&self, input: NewStory) -> Result<DocEntry> {
        let title = validate::title("title", &input.title)?;
        let text = validate::required_text("story", &input.text, MAX_LONG_TEXT)?;
        let cycle: ValueCycle = input.cycle.trim().parse().map_err(InputError)?;
        let audience = audience(input.audience.as_deref(), Audience::Members)?;
        if input.links.len() > MAX_STORY_LINKS {
            return Err(
                InputError(format!("a story links at most {MAX_STORY_LINKS} documents")).into(),
            );
        }
        let fed = self.writable()?;
        let community = self.require_community(&input.community)?;
        let mut links: Vec<String> = Vec::new();
        for l in &input.links {
            let id: DocId = l
                .trim()
                .parse()
                .map_err(|e: copnet_protocol::IdError| InputError(e.to_string()))?;
            if !matches!(
                id.kind(),
                DocKind::Consult | DocKind::Event | DocKind::Resource
            ) {
                return Err(InputError(format!(
                    "{id} is a {}: a story links consults, events and resources",
                    id.kind()
                ))
                .into());
            }
            let entry = self.get(&id)?;
            if entry.community != community {
                return Err(InputError(format!("{id} belongs to another community")).into());
            }
            if !links.contains(&id.to_string()) {
                links.push(id.to_string());
            }
        }
        let c = self.community(&community)?;
        let attestation = self.screen(
            &c,
            &[("title", &title), ("story", &text)],
            input.attest.as_deref(),
        )?;
        let person = self.own_person(&c, input.person.as_deref())?;
        let id = DocId::random(DocKind::Story);
        let header = self.header(id, fed, community, audience);
        let now = header.created_at_ms;
        self.create(
            id,
            &Story {
                header,
                title,
                text,
                cycle,
                links,
                person,
                attestation,
                updated_at_ms: now,
            },
        )
    }

    // ---- surveys --------------------------------------------------------------------------

    pub fn open_survey(&self, input: NewSurvey) -> Result<DocEntry> {
        let title = validate::title("title", &input.title)?;
        let intro = validate::text(
            "intro",
            input.intro.as_deref().unwrap_or(""),
            MAX_SHORT_TEXT,
        )?;
        let phase: SurveyPhase = match input.phase.as_deref() {
            None => SurveyPhase::CheckIn,
            Some(p) => p.trim().parse().map_err(InputError)?,
        };
        if !(MIN_QUESTIONS..=MAX_QUESTIONS).contains(&input.questions.len()) {
            return Err(InputError(format!(
                "a check-in is short: give {MIN_QUESTIONS} to {MAX_QUESTIONS} questions (got {})",
                input.questions.len()
            ))
            .into());
        }
        let questions = input
            .questions
            .iter()
            .enumerate()
            .map(|(i, q)| question(i, q))
            .collect::<Result<Vec<_>, _>>()?;
        let today = crate::replica::now_utc().date_naive();
        let closes_on = match input.closes_on.as_deref() {
            Some(d) => validate::date("closing date", d)?,
            None => today + chrono::Days::new(DEFAULT_SURVEY_DAYS),
        };
        if closes_on < today {
            return Err(InputError(format!(
                "closing date {closes_on} has passed: give today or a later day"
            ))
            .into());
        }
        let day =
            |f: &str, s: &Option<String>| s.as_deref().map(|d| validate::date(f, d)).transpose();
        let from = day("period start", &input.period_from)?;
        let to = day("period end", &input.period_to)?;
        let audience = audience(input.audience.as_deref(), Audience::Federation)?;
        let fed = self.writable()?;
        let community = self.require_community(&input.community)?;
        let (mut event, mut occurrence, mut baseline) = (None, None, None);
        match phase {
            SurveyPhase::CheckIn => {
                let Some(e) = input.event.as_deref() else {
                    return Err(InputError(
                        "a check-in follows an event: give --event ID (or make it a baseline or follow-up over a period)".into(),
                    )
                    .into());
                };
                let eid = parse_id(e.trim(), DocKind::Event)?;
                let ev: Event = self.read(&eid)?;
                if ev.header.community != community {
                    return Err(InputError(format!("{eid} belongs to another community")).into());
                }
                let occ = Self::occurrence(&ev, input.occurrence.as_deref())?;
                event = Some(eid.to_string());
                occurrence = Some(occ.name);
            }
            SurveyPhase::Baseline | SurveyPhase::FollowUp => {
                let (Some(f), Some(t)) = (from, to) else {
                    return Err(InputError(format!(
                        "a {phase} covers a period: give --from and --to dates"
                    ))
                    .into());
                };
                if f > t {
                    return Err(
                        InputError(format!("the period starts ({f}) after it ends ({t})")).into(),
                    );
                }
                if phase == SurveyPhase::FollowUp
                    && let Some(b) = input.baseline.as_deref()
                {
                    let bid = parse_id(b.trim(), DocKind::Survey)?;
                    let base: Survey = self.read(&bid)?;
                    if base.header.community != community || base.phase != SurveyPhase::Baseline {
                        return Err(InputError(format!(
                            "{bid} is not a baseline of this community"
                        ))
                        .into());
                    }
                    baseline = Some(bid.to_string());
                }
            }
        }
        let id = DocId::random(DocKind::Survey);
        let header = self.header(id, fed, community, audience);
        let now = header.created_at_ms;
        self.create(
            id,
            &Survey {
                header,
                title,
                intro,
                questions,
                phase,
                event,
                occurrence,
                period_from: from.map(|d| d.to_string()),
                period_to: to.map(|d| d.to_string()),
                baseline,
                closes_on: closes_on.to_string(),
                closed_at_ms: None,
                results: BTreeMap::new(),
                updated_at_ms: now,
            },
        )
    }

    /// Stores one person's answers on this node. Nothing is replicated.
    pub fn respond_survey(&self, id: &str, input: SurveyResponse) -> Result<()> {
        let id = parse_id(id, DocKind::Survey)?;
        // Answers given on a node that cannot write could never be published.
        self.writable()?;
        let survey: Survey = self.read(&id)?;
        if report::surveys::is_closed(&survey, now_ms()) {
            return Err(
                InputError("this survey has closed; it takes no more responses".into()).into(),
            );
        }
        let person = self
            .own_person(
                self.community(&survey.header.community)?.as_ref(),
                Some(&input.person),
            )?
            .ok_or_else(|| InputError("say who is answering: --person".into()))?;
        if input.answers.is_empty() {
            return Err(InputError("answer at least one question".into()).into());
        }
        let mut answers = BTreeMap::new();
        for (qid, given) in &input.answers {
            let q = survey
                .questions
                .iter()
                .find(|q| q.id == qid.trim())
                .ok_or_else(|| {
                    InputError(format!(
                        "no question {qid:?} in this survey; its questions are {}",
                        survey
                            .questions
                            .iter()
                            .map(|q| q.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
            answers.insert(q.id.clone(), answer(q, given)?);
        }
        let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if self.store.has_responded(&id, &person)? {
            return Err(InputError(format!("{person} has already answered this survey")).into());
        }
        let mut batch = WriteBatch::new();
        batch.put_response(
            &id,
            &rand::random::<[u8; 8]>(),
            &serde_json::to_vec(&StoredResponse { answers }).expect("answers encode"),
        );
        batch.put_respondent(&id, &person);
        self.store.commit(batch)?;
        Ok(())
    }

    fn local_responses(&self, id: &DocId) -> Result<Vec<BTreeMap<String, String>>> {
        self.store
            .responses(id)?
            .into_iter()
            .map(|b| {
                serde_json::from_slice::<StoredResponse>(&b)
                    .map(|r| r.answers)
                    .map_err(|e| ReplicaError::Damaged {
                        id: *id,
                        why: format!("a stored response does not decode: {e}"),
                    })
            })
            .collect()
    }

    /// Closes a survey (its author only) and publishes this node's aggregate.
    pub fn close_survey(&self, id: &str) -> Result<DocEntry> {
        let id = parse_id(id, DocKind::Survey)?;
        let me = self.node_id;
        self.edit(id, |s: &mut Survey| {
            if s.header.creator != me {
                return Err(ReplicaError::Forbidden(
                    "only the organisation that opened this survey can close it".into(),
                ));
            }
            if s.closed_at_ms.is_none() {
                let now = now_ms();
                s.closed_at_ms = Some(now);
                s.updated_at_ms = now;
            }
            Ok(())
        })?;
        self.publish_survey_results(&id)?;
        self.get(&id)
    }

    /// Publishes this node's aggregate of `id` if the survey has closed, this node holds
    /// responses to it and has not published yet. Returns whether it published.
    pub fn publish_survey_results(&self, id: &DocId) -> Result<bool> {
        let survey: Survey = self.read(id)?;
        let me = self.node_id.to_string();
        let now = now_ms();
        if !report::surveys::is_closed(&survey, now) || survey.results.contains_key(&me) {
            return Ok(false);
        }
        let responses = self.local_responses(id)?;
        if responses.is_empty() || self.writable().is_err() {
            return Ok(false);
        }
        let results: NodeResults = report::aggregate(&survey.questions, &responses, now);
        let mut published = false;
        self.edit(*id, |s: &mut Survey| {
            // Checked again under the writer lock: publish once.
            if !s.results.contains_key(&me) {
                s.results.insert(me.clone(), results);
                s.updated_at_ms = now;
                published = true;
            }
            Ok(())
        })?;
        Ok(published)
    }

    /// Publishes every aggregate that is due. Run at start, when a survey changes, and now
    /// and then (a survey also closes when its closing day ends).
    pub fn publish_due_survey_results(&self) -> Result<usize> {
        let mut n = 0;
        for entry in self.store.docs_of_kind(DocKind::Survey)? {
            match self.publish_survey_results(&entry.id) {
                Ok(true) => n += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(survey = %entry.id, error = %e, "survey results not published")
                }
            }
        }
        Ok(n)
    }

    /// A survey with every node's published aggregate combined and, for this node's eyes, how
    /// many responses it holds and (once closed) its free-text answers.
    pub fn survey_results(&self, id: &str) -> Result<serde_json::Value> {
        let id = parse_id(id, DocKind::Survey)?;
        let survey: Survey = self.read(&id)?;
        let baseline: Option<Survey> = survey
            .baseline
            .as_deref()
            .and_then(|b| b.parse::<DocId>().ok())
            .and_then(|b| self.read(&b).ok());
        let now = now_ms();
        let combined = report::combine(&survey, baseline.as_ref(), now);
        let responses = self.local_responses(&id)?;
        let closed = report::surveys::is_closed(&survey, now);
        let mut free_text: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if closed {
            for q in survey
                .questions
                .iter()
                .filter(|q| q.kind == QuestionKind::Text)
            {
                let mut texts: Vec<String> = responses
                    .iter()
                    .filter_map(|r| r.get(&q.id).cloned())
                    .collect();
                texts.sort();
                free_text.insert(q.id.clone(), texts);
            }
        }
        let mut view = self.get(&id)?.view;
        view["results"] = serde_json::to_value(&combined).expect("results serialise");
        view["this_node"] = serde_json::json!({
            "responses": responses.len(),
            "published": survey.results.contains_key(&self.node_id.to_string()),
            "free_text": free_text,
            "notice": "responses given here stay on this node; only the aggregate is published, once the survey closes",
        });
        Ok(view)
    }

    // ---- the report -----------------------------------------------------------------------

    fn report_inputs(&self, community: &str) -> Result<Inputs> {
        let cid = parse_id(community, DocKind::Community)?;
        let community: Community = self.read(&cid)?;
        let mut inp = Inputs {
            community,
            resources: vec![],
            consults: vec![],
            events: vec![],
            stories: vec![],
            surveys: vec![],
            organisations: self
                .roster_state()
                .map(|s| {
                    s.members
                        .values()
                        .map(|m| (m.node, m.profile.org.clone()))
                        .collect()
                })
                .unwrap_or_default(),
        };
        for id in self.store.docs_in_community(&cid)? {
            // A document that does not hydrate is left out of the numbers, not fatal to them.
            let skip =
                |e: ReplicaError| tracing::warn!(doc = %id, error = %e, "left out of the report");
            match id.kind() {
                DocKind::Community => {}
                DocKind::Resource => self
                    .read::<Resource>(&id)
                    .map(|d| inp.resources.push(d))
                    .unwrap_or_else(skip),
                DocKind::Consult => self
                    .read::<Consult>(&id)
                    .map(|d| inp.consults.push(d))
                    .unwrap_or_else(skip),
                DocKind::Event => self
                    .read::<Event>(&id)
                    .map(|d| inp.events.push(d))
                    .unwrap_or_else(skip),
                DocKind::Story => self
                    .read::<Story>(&id)
                    .map(|d| inp.stories.push(d))
                    .unwrap_or_else(skip),
                DocKind::Survey => self
                    .read::<Survey>(&id)
                    .map(|d| inp.surveys.push(d))
                    .unwrap_or_else(skip),
            }
        }
        Ok(inp)
    }

    /// The facilitator report over `[since, until)` (milliseconds).
    pub fn report(&self, community: &str, since: i64, until: i64) -> Result<report::Report> {
        if since >= until {
            return Err(InputError("the report's start must be before its end".into()).into());
        }
        Ok(report::build(&self.report_inputs(community)?, since, until))
    }

    /// Each member's declared and observed level, for this node's facilitators.
    pub fn participation(&self, community: &str, at: i64) -> Result<report::Participation> {
        Ok(report::participation(&self.report_inputs(community)?, at))
    }
}
