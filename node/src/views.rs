//! JSON renderings of documents, as the API serves them and the index caches them.
//!
//! A view flattens the header into the document's own fields: `id`, `community`, `audience`,
//! `creator`, `created_at`, then the kind's fields. Times are RFC 3339 in UTC.

use automerge::AutoCommit;
use autosurgeon::{HydrateError, hydrate};
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

/// Hydrates `doc` as a `kind` document and renders it. Returns the header too.
pub fn render(kind: DocKind, doc: &AutoCommit) -> Result<(Header, i64, Value), HydrateError> {
    Ok(match kind {
        DocKind::Community => {
            let c: Community = hydrate(doc)?;
            let mut m = base(&c.header, c.updated_at_ms);
            m.insert("name".into(), json!(c.name));
            m.insert("domain".into(), json!(c.domain));
            m.insert("purpose".into(), json!(c.purpose));
            m.insert("practice_focus".into(), json!(c.practice_focus));
            (c.header, c.updated_at_ms, Value::Object(m))
        }
        DocKind::Resource => {
            let r: Resource = hydrate(doc)?;
            let mut m = base(&r.header, r.updated_at_ms);
            m.insert("title".into(), json!(r.title));
            m.insert("kind".into(), json!(r.kind));
            m.insert("summary".into(), json!(r.summary));
            m.insert("url".into(), json!(r.url));
            m.insert("topics".into(), json!(r.topics));
            (r.header, r.updated_at_ms, Value::Object(m))
        }
        DocKind::Consult => {
            let c: Consult = hydrate(doc)?;
            let mut m = base(&c.header, c.updated_at_ms);
            m.insert("title".into(), json!(c.title));
            m.insert("question".into(), json!(c.question));
            m.insert("summary".into(), json!(c.summary));
            m.insert("status".into(), json!(c.status));
            let mut replies = c.replies.clone();
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
            (c.header, c.updated_at_ms, Value::Object(m))
        }
        DocKind::Event => {
            let e: Event = hydrate(doc)?;
            let mut m = base(&e.header, e.updated_at_ms);
            m.insert("title".into(), json!(e.title));
            m.insert("start".into(), json!(e.start_local));
            m.insert("tz".into(), json!(e.tz));
            m.insert("start_utc".into(), json!(rfc3339(e.start_utc_ms)));
            m.insert("duration_minutes".into(), json!(e.duration_minutes));
            m.insert("rrule".into(), json!(e.rrule));
            (e.header, e.updated_at_ms, Value::Object(m))
        }
    })
}
