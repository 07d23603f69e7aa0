//! JSON renderings of documents, as the API serves them and the index caches them.
//!
//! A view flattens the header into the document's own fields: `id`, `community`, `audience`,
//! `creator`, `created_at`, then the kind's fields. Times are RFC 3339 in UTC.

use autosurgeon::{HydrateError, ReadDoc, hydrate};
use copnet_protocol::DocKind;
use copnet_protocol::docs::{Community, Consult, Event, Header, Resource};
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
        m.insert("summary".into(), json!(self.summary));
        m.insert("status".into(), json!(self.status));
        let mut replies: Vec<_> = self.replies.iter().collect();
        replies.sort_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)));
        let replies: Vec<Value> = replies
            .iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "author": r.author,
                    "text": r.text,
                    "created_at": rfc3339(r.created_at_ms),
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
        m.insert("start".into(), json!(self.start_local));
        m.insert("tz".into(), json!(self.tz));
        m.insert("start_utc".into(), json!(rfc3339(self.start_utc_ms)));
        m.insert("duration_minutes".into(), json!(self.duration_minutes));
        m.insert("rrule".into(), json!(self.rrule));
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
    })
}
