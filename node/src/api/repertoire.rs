//! Endpoints of the repertoire beyond create/list/show: people, attached files, history, the
//! consult lifecycle, RSVPs and occurrences, calendars.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use copnet_protocol::DocKind;
use copnet_protocol::docs::MAX_ATTACHMENT_BYTES;
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::{ApiJson, ApiQuery};
use super::routes::decorate;
use super::{ApiError, ApiState, blocking};
use crate::replica::{
    CommunityEdit, ConsultAnswer, ConsultFollowUp, ConsultOutcome, EventCancel, EventEdit, Export,
    NewPerson, NewRsvp, OccurrenceRecord, PersonEdit, parse_id,
};
use crate::replica::{Replica, ReplicaError};

type ApiResult<T = Json<Value>> = Result<T, ApiError>;

/// How many upcoming occurrences an event's view lists.
const UPCOMING: usize = 6;

pub fn authed() -> Router<ApiState> {
    Router::new()
        .route("/communities/{id}/people", post(join_community))
        .route("/communities/{id}/people/{person}", patch(edit_person))
        .route("/communities/{id}/history", get(history_of::<'c'>))
        .route(
            "/resources/{id}/attachment",
            get(download)
                .put(upload)
                .layer(DefaultBodyLimit::max(MAX_ATTACHMENT_BYTES)),
        )
        .route("/resources/{id}/history", get(history_of::<'r'>))
        .route("/consults/{id}/answer", post(answer_consult))
        .route("/consults/{id}/follow-up", post(follow_up))
        .route("/consults/{id}/outcome", post(record_outcome))
        .route("/consults/{id}/close", post(close_consult))
        .route("/consults/{id}/history", get(history_of::<'x'>))
        .route("/events/{id}/rsvps", post(rsvp))
        .route("/events/{id}/cancel", post(cancel_event))
        .route("/events/{id}/record", post(record_occurrence))
        .route("/events/{id}/history", get(history_of::<'e'>))
        .route("/calendar", get(calendar_info))
        .route("/search", get(search))
        .route("/communities/{id}/export", get(export_community))
        .route(
            "/import",
            post(import).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)),
        )
}

/// Largest export the import endpoint reads.
pub const MAX_IMPORT_BYTES: usize = 128 * 1024 * 1024;

async fn export_community(State(s): State<ApiState>, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id, DocKind::Community).map_err(|e| ApiError::not_found(e.0))?;
    let r = s.replica.clone();
    let export = blocking(move || r.export_community(&id)).await?;
    Ok(Json(
        serde_json::to_value(export).expect("exports serialise"),
    ))
}

async fn import(State(s): State<ApiState>, ApiJson(export): ApiJson<Export>) -> ApiResult {
    let r = s.replica.clone();
    let report = blocking(move || r.import(export)).await?;
    Ok(Json(
        serde_json::to_value(report).expect("reports serialise"),
    ))
}

/// Calendar feeds: a calendar app cannot send a bearer token, so these also accept the
/// calendar key (`?key=`), which opens nothing but the feeds.
pub fn feeds() -> Router<ApiState> {
    Router::new()
        .route("/communities/{id}/calendar.ics", get(community_ics))
        .route("/events/{id}/calendar.ics", get(event_ics))
}

/// Runs a write that takes the path's id and the request body on the blocking pool, and answers
/// with the written document's view.
async fn write_view<I: Send + 'static>(
    s: ApiState,
    id: String,
    input: I,
    write: fn(&Replica, &str, I) -> crate::replica::Result<crate::store::DocEntry>,
) -> ApiResult {
    let r = s.replica.clone();
    Ok(Json(blocking(move || write(&r, &id, input)).await?.view))
}

pub async fn edit_community(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    ApiJson(edit): ApiJson<CommunityEdit>,
) -> ApiResult {
    write_view(s, id, edit, Replica::edit_community).await
}

async fn join_community(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NewPerson>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let r = s.replica.clone();
    let (entry, person) = blocking(move || r.join_community(&id, input)).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "person": person, "community": entry.view })),
    ))
}

async fn edit_person(
    State(s): State<ApiState>,
    Path((id, person)): Path<(String, String)>,
    ApiJson(edit): ApiJson<PersonEdit>,
) -> ApiResult {
    let r = s.replica.clone();
    Ok(Json(
        blocking(move || r.edit_person(&id, &person, edit))
            .await?
            .view,
    ))
}

async fn history_of<const K: char>(State(s): State<ApiState>, Path(id): Path<String>) -> ApiResult {
    let kind = match K {
        'c' => DocKind::Community,
        'r' => DocKind::Resource,
        'x' => DocKind::Consult,
        _ => DocKind::Event,
    };
    let id = parse_id(&id, kind).map_err(|e| ApiError::not_found(e.0))?;
    let r = s.replica.clone();
    let history = blocking(move || r.history(&id)).await?;
    let state = s.replica.roster_state();
    let rows: Vec<Value> = history
        .into_iter()
        .map(|h| {
            let org = state
                .as_ref()
                .and_then(|st| st.member(&h.author).map(|m| m.profile.org.clone()));
            json!({
                "at": h.at,
                "author": h.author,
                "author_org": org,
                "fields": h.fields,
                "change": h.change,
            })
        })
        .collect();
    Ok(Json(Value::Array(rows)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    name: String,
}

async fn upload(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                e.status(),
                "payload_too_large",
                format!(
                    "the file is too large: attachments are limited to {} MiB; link to larger files with a url",
                    MAX_ATTACHMENT_BYTES / (1024 * 1024)
                ),
            )
        } else {
            ApiError::bad_request(format!("the upload failed: {}", e.body_text()))
        }
    })?;
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let r = s.replica.clone();
    let entry = blocking(move || r.attach(&id, &q.name, &media_type, body.to_vec())).await?;
    Ok(Json(entry.view))
}

async fn download(State(s): State<ApiState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let r = s.replica.clone();
    let (att, bytes) = blocking(move || r.attachment(&id)).await?;
    let disposition = format!(
        "attachment; filename=\"{}\"",
        att.name
            .replace(['"', '\\'], "_")
            .replace(|c: char| !c.is_ascii() || c.is_control(), "_")
    );
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&att.media_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    // Served as a download, never rendered: the file came from another organisation.
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    if let Ok(v) = HeaderValue::from_str(&att.sha256) {
        h.insert("x-content-sha256", v);
    }
    Ok(resp)
}

async fn answer_consult(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ConsultAnswer>,
) -> ApiResult {
    write_view(s, id, input, Replica::answer_consult).await
}

async fn follow_up(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ConsultFollowUp>,
) -> ApiResult {
    write_view(s, id, input, Replica::set_follow_up).await
}

async fn record_outcome(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ConsultOutcome>,
) -> ApiResult {
    write_view(s, id, input, Replica::record_outcome).await
}

async fn close_consult(State(s): State<ApiState>, Path(id): Path<String>) -> ApiResult {
    let r = s.replica.clone();
    Ok(Json(blocking(move || r.close_consult(&id)).await?.view))
}

/// An event as stored, plus what depends on today: its next occurrences, each with its RSVP
/// counts and whether it is cancelled.
pub async fn show_event(State(s): State<ApiState>, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id, DocKind::Event).map_err(|e| ApiError::not_found(e.0))?;
    let r = s.replica.clone();
    // Expanding the rule is CPU work: off the async workers.
    let view = blocking(move || Ok::<_, ReplicaError>(with_upcoming(r.get(&id)?.view))).await?;
    Ok(Json(decorate(&s, view)))
}

fn with_upcoming(mut view: Value) -> Value {
    let now = crate::replica::now_ms();
    let Some(upcoming) = crate::occurrences::scheduled(&view, now, i64::MAX, UPCOMING, None) else {
        return view;
    };
    view["upcoming"] = upcoming
        .into_iter()
        .map(|o| {
            json!({
                "occurrence": o.name,
                "start_utc": crate::views::rfc3339(o.start_utc_ms),
                "cancelled": o.cancelled,
                "going": o.going,
                "maybe": o.maybe,
                "declined": o.declined,
            })
        })
        .collect();
    view
}

pub async fn edit_event(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    ApiJson(edit): ApiJson<EventEdit>,
) -> ApiResult {
    write_view(s, id, edit, Replica::edit_event).await
}

async fn rsvp(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NewRsvp>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let r = s.replica.clone();
    let (view, occurrence) = blocking(move || {
        let (entry, occurrence) = r.rsvp(&id, input)?;
        Ok::<_, ReplicaError>((with_upcoming(entry.view), occurrence))
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "occurrence": occurrence, "event": view })),
    ))
}

async fn cancel_event(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<EventCancel>,
) -> ApiResult {
    let r = s.replica.clone();
    Ok(Json(
        blocking(move || Ok::<_, ReplicaError>(with_upcoming(r.cancel_event(&id, input)?.view)))
            .await?,
    ))
}

async fn record_occurrence(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<OccurrenceRecord>,
) -> ApiResult {
    let r = s.replica.clone();
    Ok(Json(
        blocking(move || r.record_occurrence(&id, input))
            .await?
            .view,
    ))
}

// ---- search ---------------------------------------------------------------------------------

/// Longest search text accepted.
const MAX_SEARCH_TEXT: usize = 500;

/// `GET /search?q=&kind=&kind=&community=&topic=&from=&to=&limit=`; `kind` may repeat.
async fn search(
    State(s): State<ApiState>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> ApiResult {
    let mut q = crate::search::Query::default();
    let day = |field: &str, v: &str| -> Result<i64, ApiError> {
        let d = crate::validate::date(field, v).map_err(|e| ApiError::invalid(e.0))?;
        Ok(crate::validate::day_start_ms(d))
    };
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match k.as_ref() {
            "q" => {
                if v.chars().count() > MAX_SEARCH_TEXT {
                    return Err(ApiError::invalid(format!(
                        "search text is longer than {MAX_SEARCH_TEXT} characters"
                    )));
                }
                q.text = v.into_owned();
            }
            "kind" => {
                let kind: DocKind = v
                    .trim()
                    .parse()
                    .map_err(|e: copnet_protocol::IdError| ApiError::invalid(e.to_string()))?;
                q.kinds.push(kind.as_str().to_owned());
            }
            "community" => {
                let id = parse_id(&v, DocKind::Community).map_err(|e| ApiError::invalid(e.0))?;
                q.community = Some(id.to_string());
            }
            "topic" => q.topic = Some(v.trim().to_lowercase()),
            "from" => q.from_ms = Some(day("from", &v)?),
            "to" => q.to_ms = Some(day("to", &v)?),
            "limit" => {
                q.limit = v
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=crate::search::MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        ApiError::invalid(format!(
                            "limit must be a number from 1 to {}",
                            crate::search::MAX_LIMIT
                        ))
                    })?;
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown search parameter {other:?}: use q, kind, community, topic, from, to or limit"
                )));
            }
        }
    }
    let r = s.replica.clone();
    let query = q.clone();
    let hits = tokio::task::spawn_blocking(move || r.search(&query))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "search failed",
            )
        })?
        .map_err(|e| {
            tracing::error!(error = %e, "search failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "search failed; see the node's log",
            )
        })?;
    Ok(Json(json!({
        "query": q.text,
        "count": hits.len(),
        "hits": hits,
    })))
}

// ---- calendars ------------------------------------------------------------------------------

/// The key that opens the calendar feeds (and nothing else). Derived from the API token, so
/// rotating the token revokes every subscribed feed too.
pub fn calendar_key(token: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"copnet/calendar-feed/v1\0");
    h.update(token.as_bytes());
    hex::encode(&h.finalize()[..16])
}

async fn calendar_info(State(s): State<ApiState>) -> Json<Value> {
    Json(json!({
        "key": calendar_key(&s.token),
        "community_feed": format!("http://{}/api/v1/communities/{{id}}/calendar.ics?key={}", s.http, calendar_key(&s.token)),
        "event_feed": format!("http://{}/api/v1/events/{{id}}/calendar.ics?key={}", s.http, calendar_key(&s.token)),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedQuery {
    key: Option<String>,
}

fn feed_allowed(s: &ApiState, headers: &HeaderMap, q: &FeedQuery) -> Result<(), ApiError> {
    use subtle::ConstantTimeEq;
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let ok = match (bearer, q.key.as_deref()) {
        (Some(t), _) if bool::from(t.as_bytes().ct_eq(s.token.as_bytes())) => true,
        (_, Some(k)) => bool::from(k.trim().as_bytes().ct_eq(calendar_key(&s.token).as_bytes())),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "calendar feeds need `?key=` with the calendar key (`copnet community ics ID --url` prints the full address) or the API token",
        ))
    }
}

/// An iCalendar body as a response named `name.ics`; `disposition` is `inline` for feeds that
/// calendar apps read, `attachment` for a file a person downloads.
pub(crate) fn ics_response(name: &str, body: String, disposition: &str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    let file: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename=\"{file}.ics\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

async fn community_ics(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    Query(q): Query<FeedQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    feed_allowed(&s, &headers, &q)?;
    let id = parse_id(&id, DocKind::Community).map_err(|e| ApiError::not_found(e.0))?;
    let r = s.replica.clone();
    let ics = blocking(move || crate::calendar::community_calendar(&r, &id)).await?;
    Ok(ics_response(&id.to_string(), ics, "inline"))
}

async fn event_ics(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    Query(q): Query<FeedQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    feed_allowed(&s, &headers, &q)?;
    let id = parse_id(&id, DocKind::Event).map_err(|e| ApiError::not_found(e.0))?;
    let r = s.replica.clone();
    let ics = blocking(move || crate::calendar::event_calendar(&r, &id)).await?;
    Ok(ics_response(&id.to_string(), ics, "inline"))
}
