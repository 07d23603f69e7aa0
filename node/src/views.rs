//! JSON renderings of documents, as the API serves them and the index caches them.
//!
//! A view flattens the header into the document's own fields: `id`, `community`, `audience`,
//! `creator`, `created_at`, then the kind's fields. Times are RFC 3339 in UTC.

use autosurgeon::{HydrateError, ReadDoc, hydrate};
use copnet_protocol::DocKind;
use copnet_protocol::docs::{Community, Consult, Event, Header, Level, Resource, Story, Survey};
use serde_json::{Map, Value, json};

pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn base(h: &Header, updated_at_ms: i64) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(h.id));
    m.insert("community".into(), json!(h.community));
    m.insert("audience".into(), json!(h.audience));
    m.insert("creator".into(), json!(h.creator));
    m.insert("created_at".into(), json!(rfc3339(h.created_at_ms)));
    m.insert("updated_at".into(), json!(rfc3339(updated_at_ms)));
    m
}

/// A document kind that can render itself as its API view.
pub trait Render {
    fn header(&self) -> &Header;
    fn updated_at_ms(&self) -> i64;
    fn view(&self) -> Value;
}

impl Render for Community {
    fn header(&self) -> &Header {
        &self.header
    }
    fn updated_at_ms(&self) -> i64 {
        self.updated_at_ms
    }
    fn view(&self) -> Value {
        let mut m = base(&self.header, self.updated_at_ms);
        m.insert("name".into(), json!(self.name));
        m.insert("domain".into(), json!(self.domain));
        m.insert("purpose".into(), json!(self.purpose));
        m.insert("practice_focus".into(), json!(self.practice_focus));
        m.insert("audience_description".into(), json!(self.audience));
        m.insert("goals".into(), json!(self.goals));
        m.insert("outcomes".into(), json!(self.outcomes));
        m.insert("stakeholders".into(), json!(self.stakeholders));
        m.insert("topics".into(), json!(self.topics));
        m.insert("rhythm".into(), json!(self.rhythm));
        m.insert(
            "privacy_terms".into(),
            json!(self.privacy_terms.values().collect::<Vec<_>>()),
        );
        m.insert(
            "small_places".into(),
            json!(self.small_places.values().collect::<Vec<_>>()),
        );
        let mut people: Vec<Value> = self
            .people
            .iter()
            .map(|(id, p)| {
                json!({
                    "id": id,
                    "name": p.name,
                    "node": p.node,
                    "level": p.level,
                    "expertise": p.expertise,
                    "steward": p.steward,
                    "groups": p.groups,
                    "joined_at": rfc3339(p.joined_at_ms),
                    "left_at": p.left_at_ms.map(rfc3339),
                })
            })
            .collect();
        people.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        let current = self.people.values().filter(|p| p.left_at_ms.is_none());
        let mut counts = Map::new();
        for level in Level::ALL {
            counts.insert(
                level.as_str().into(),
                json!(current.clone().filter(|p| p.level == *level).count()),
            );
        }
        m.insert(
            "stewards".into(),
            json!(
                people
                    .iter()
                    .filter(|p| p["steward"] == json!(true))
                    .map(|p| p["id"].clone())
                    .collect::<Vec<_>>()
            ),
        );
        m.insert("people_by_level".into(), Value::Object(counts));
        m.insert("people".into(), Value::Array(people));
        Value::Object(m)
    }
}

impl Render for Resource {
    fn header(&self) -> &Header {
        &self.header
    }
    fn updated_at_ms(&self) -> i64 {
        self.updated_at_ms
    }
    fn view(&self) -> Value {
        let mut m = base(&self.header, self.updated_at_ms);
        m.insert("title".into(), json!(self.title));
        m.insert("kind".into(), json!(self.kind));
        m.insert("summary".into(), json!(self.summary));
        m.insert("url".into(), json!(self.url));
        m.insert("topics".into(), json!(self.topics));
        m.insert("intended_for".into(), json!(self.intended_for));
        m.insert("jurisdiction".into(), json!(self.jurisdiction));
        m.insert(
            "evidence".into(),
            match self.evidence {
                Some(n) => json!(n),
                None => json!("not-rated"),
            },
        );
        m.insert("review_by".into(), json!(self.review_by));
        m.insert("licence".into(), json!(self.licence));
        m.insert("adapted_from".into(), json!(self.adapted_from));
        m.insert("attachment".into(), json!(self.attachment));
        m.insert("added_by".into(), json!(self.added_by));
        Value::Object(m)
    }
}

impl Render for Consult {
    fn header(&self) -> &Header {
        &self.header
    }
    fn updated_at_ms(&self) -> i64 {
        self.updated_at_ms
    }
    fn view(&self) -> Value {
        let mut m = base(&self.header, self.updated_at_ms);
        m.insert("title".into(), json!(self.title));
        m.insert("question".into(), json!(self.question));
        m.insert("situation".into(), json!(self.situation));
        m.insert("background".into(), json!(self.background));
        m.insert("assessment".into(), json!(self.assessment));
        m.insert("request".into(), json!(self.request));
        m.insert("status".into(), json!(self.status));
        m.insert("presenter".into(), json!(self.presenter));
        m.insert("presenter_summary".into(), json!(self.presenter_summary));
        m.insert("follow_up_on".into(), json!(self.follow_up_on));
        m.insert("outcome".into(), json!(self.outcome));
        m.insert(
            "answered_at".into(),
            json!(self.answered_at_ms.map(rfc3339)),
        );
        m.insert("closed_at".into(), json!(self.closed_at_ms.map(rfc3339)));
        let attestation = |key: &str| {
            self.attestations.get(key).map(|a| {
                json!({
                    "statement": a.statement,
                    "by": a.by,
                    "flagged": a.flagged,
                    "at": rfc3339(a.at_ms),
                })
            })
        };
        let mut attestations = Map::new();
        for key in self.attestations.keys() {
            attestations.insert(key.clone(), attestation(key).into());
        }
        m.insert("attestations".into(), Value::Object(attestations));
        let mut replies: Vec<_> = self.replies.iter().collect();
        replies.sort_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)));
        let replies: Vec<Value> = replies
            .iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "author": r.author,
                    "person": r.person,
                    "kind": r.kind,
                    "text": r.text,
                    "created_at": rfc3339(r.created_at_ms),
                    "attestation": attestation(&format!("reply:{}", r.id)),
                })
            })
            .collect();
        m.insert("reply_count".into(), json!(replies.len()));
        m.insert("replies".into(), Value::Array(replies));
        Value::Object(m)
    }
}

impl Render for Event {
    fn header(&self) -> &Header {
        &self.header
    }
    fn updated_at_ms(&self) -> i64 {
        self.updated_at_ms
    }
    fn view(&self) -> Value {
        let mut m = base(&self.header, self.updated_at_ms);
        m.insert("title".into(), json!(self.title));
        m.insert("kind".into(), json!(self.kind));
        m.insert("start".into(), json!(self.start_local));
        m.insert("tz".into(), json!(self.tz));
        m.insert("start_utc".into(), json!(rfc3339(self.start_utc_ms)));
        m.insert("duration_minutes".into(), json!(self.duration_minutes));
        m.insert("rrule".into(), json!(self.rrule));
        m.insert("location".into(), json!(self.location));
        m.insert("link".into(), json!(self.link));
        m.insert("agenda".into(), json!(self.agenda));
        m.insert("cancelled".into(), json!(self.cancelled));
        m.insert(
            "cancelled_occurrences".into(),
            json!(self.cancelled_occurrences.keys().collect::<Vec<_>>()),
        );
        let rsvps: Vec<Value> = self
            .rsvps
            .values()
            .map(|r| {
                json!({
                    "occurrence": r.occurrence,
                    "person": r.person,
                    "status": r.status,
                    "node": r.node,
                    "at": rfc3339(r.at_ms),
                })
            })
            .collect();
        m.insert("rsvps".into(), Value::Array(rsvps));
        let attendance: Vec<Value> = self
            .attendance
            .values()
            .map(|a| json!({ "occurrence": a.occurrence, "person": a.person, "node": a.node }))
            .collect();
        m.insert("attendance".into(), Value::Array(attendance));
        m.insert("notes".into(), json!(self.notes));
        m.insert("minutes".into(), json!(self.minutes));
        Value::Object(m)
    }
}

impl Render for Story {
    fn header(&self) -> &Header {
        &self.header
    }
    fn updated_at_ms(&self) -> i64 {
        self.updated_at_ms
    }
    fn view(&self) -> Value {
        let mut m = base(&self.header, self.updated_at_ms);
        m.insert("title".into(), json!(self.title));
        m.insert("text".into(), json!(self.text));
        m.insert("cycle".into(), json!(self.cycle));
        m.insert("links".into(), json!(self.links));
        m.insert("person".into(), json!(self.person));
        m.insert(
            "attestation".into(),
            json!(self.attestation.as_ref().map(|a| json!({
                "statement": a.statement,
                "by": a.by,
                "flagged": a.flagged,
                "at": rfc3339(a.at_ms),
            }))),
        );
        Value::Object(m)
    }
}

impl Render for Survey {
    fn header(&self) -> &Header {
        &self.header
    }
    fn updated_at_ms(&self) -> i64 {
        self.updated_at_ms
    }
    fn view(&self) -> Value {
        let mut m = base(&self.header, self.updated_at_ms);
        m.insert("title".into(), json!(self.title));
        m.insert("intro".into(), json!(self.intro));
        m.insert("phase".into(), json!(self.phase));
        m.insert("questions".into(), json!(self.questions));
        m.insert("event".into(), json!(self.event));
        m.insert("occurrence".into(), json!(self.occurrence));
        m.insert("period_from".into(), json!(self.period_from));
        m.insert("period_to".into(), json!(self.period_to));
        m.insert("baseline".into(), json!(self.baseline));
        m.insert("closes_on".into(), json!(self.closes_on));
        m.insert("closed_at".into(), json!(self.closed_at_ms.map(rfc3339)));
        m.insert("nodes_reporting".into(), json!(self.results.len()));
        Value::Object(m)
    }
}

/// A rendered document: its header, last update and API view.
pub struct Rendered {
    pub header: Header,
    pub updated_at_ms: i64,
    pub view: Value,
}

impl Rendered {
    /// The index row of the document at `heads`.
    pub fn into_entry(self, heads: &[automerge::ChangeHash]) -> crate::store::DocEntry {
        crate::store::DocEntry {
            id: self.header.id,
            community: self.header.community,
            audience: self.header.audience,
            creator: self.header.creator,
            created_at_ms: self.header.created_at_ms,
            updated_at_ms: self.updated_at_ms,
            heads: heads.iter().map(|h| h.to_string()).collect(),
            view: self.view,
        }
    }

    pub fn of<T: Render>(doc: &T) -> Self {
        Self {
            header: doc.header().clone(),
            updated_at_ms: doc.updated_at_ms(),
            view: doc.view(),
        }
    }
}

/// Hydrates `doc` as a `kind` document and renders it.
pub fn render<D: ReadDoc>(kind: DocKind, doc: &D) -> Result<Rendered, HydrateError> {
    Ok(match kind {
        DocKind::Community => Rendered::of(&hydrate::<_, Community>(doc)?),
        DocKind::Resource => Rendered::of(&hydrate::<_, Resource>(doc)?),
        DocKind::Consult => Rendered::of(&hydrate::<_, Consult>(doc)?),
        DocKind::Event => Rendered::of(&hydrate::<_, Event>(doc)?),
        DocKind::Story => Rendered::of(&hydrate::<_, Story>(doc)?),
        DocKind::Survey => Rendered::of(&hydrate::<_, Survey>(doc)?),
    })
}

/// Fields of a view that are ids, times or codes rather than words a person would search for.
const NOT_TEXT: &[&str] = &[
    "id",
    "community",
    "audience",
    "creator",
    "created_at",
    "updated_at",
    "start",
    "start_utc",
    "tz",
    "rrule",
    "node",
    "person",
    "author",
    "by",
    "at",
    "occurrence",
    "sha256",
    "media_type",
    "status",
    "kind",
    "evidence",
    "review_by",
    "follow_up_on",
    "answered_at",
    "closed_at",
    "joined_at",
    "left_at",
    "stewards",
    "people_by_level",
    "reply_count",
    "duration_minutes",
    "cancelled",
    "cancelled_occurrences",
    "rsvps",
    "attendance",
    "flagged",
    "cycle",
    "links",
    "phase",
    "closes_on",
    "period_from",
    "period_to",
    "baseline",
    "event",
    "nodes_reporting",
    "presenter",
    "added_by",
    "groups",
    "rhythm",
    "title",
    "name",
    "topics",
    "url",
    "link",
];

fn collect_text(v: &Value, out: &mut String) {
    match v {
        Value::String(s) if !s.is_empty() => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(a) => a.iter().for_each(|x| collect_text(x, out)),
        Value::Object(m) => {
            for (k, x) in m {
                if !NOT_TEXT.contains(&k.as_str()) {
                    collect_text(x, out);
                }
            }
        }
        _ => {}
    }
}

/// What the search index holds of a document: its words, its filters and its date (an event's
/// start, else when it was created).
pub fn search_doc(entry: &crate::store::DocEntry) -> crate::search::SearchDoc {
    let v = &entry.view;
    let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let title = match entry.id.kind() {
        DocKind::Community => text("name"),
        _ => text("title"),
    };
    let mut body = String::new();
    collect_text(v, &mut body);
    // People's names in a community are worth finding it by ("who knows about kinship care?").
    if let Some(people) = v.get("people").and_then(Value::as_array) {
        for p in people {
            collect_text(&p["name"], &mut body);
        }
    }
    let date_ms = match entry.id.kind() {
        DocKind::Event => v
            .get("start_utc")
            .and_then(Value::as_str)
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.timestamp_millis())
            .unwrap_or(entry.created_at_ms),
        _ => entry.created_at_ms,
    };
    crate::search::SearchDoc {
        id: entry.id.to_string(),
        kind: entry.id.kind().as_str().to_owned(),
        community: entry.community.to_string(),
        topics: v
            .get("topics")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        title,
        body,
        date_ms,
        subkind: v.get("kind").and_then(Value::as_str).map(str::to_owned),
    }
}
