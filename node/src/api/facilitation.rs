//! Endpoints of facilitation: stories, check-ins and surveys, the report and participation.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use copnet_protocol::DocKind;
use serde::Deserialize;
use serde_json::Value;

use super::extract::{ApiJson, ApiQuery};
use super::routes::{ListQuery, created, decorate, list, show};
use super::{ApiError, ApiState, blocking};
use crate::replica::{NewStory, NewSurvey, SurveyResponse, parse_id};
use crate::report;

type ApiResult<T = Json<Value>> = Result<T, ApiError>;

pub fn authed() -> Router<ApiState> {
    Router::new()
        .route("/stories", get(list_stories).post(tell_story))
        .route("/stories/{id}", get(show_story))
        .route("/surveys", get(list_surveys).post(open_survey))
        .route("/surveys/{id}", get(show_survey))
        .route("/surveys/{id}/responses", post(respond))
        .route("/surveys/{id}/close", post(close_survey))
        .route("/communities/{id}/report", get(community_report))
        .route("/communities/{id}/participation", get(participation))
}

async fn list_stories(State(s): State<ApiState>, ApiQuery(q): ApiQuery<ListQuery>) -> ApiResult {
    list(s, DocKind::Story, q).await
}

async fn show_story(State(s): State<ApiState>, Path(id): Path<String>) -> ApiResult {
    show(s, DocKind::Story, id).await
}

async fn tell_story(
    State(s): State<ApiState>,
    ApiJson(input): ApiJson<NewStory>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let r = s.replica.clone();
    Ok(created(blocking(move || r.tell_story(input)).await?))
}

async fn list_surveys(State(s): State<ApiState>, ApiQuery(q): ApiQuery<ListQuery>) -> ApiResult {
    list(s, DocKind::Survey, q).await
}

async fn open_survey(
    State(s): State<ApiState>,
    ApiJson(input): ApiJson<NewSurvey>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let r = s.replica.clone();
    Ok(created(blocking(move || r.open_survey(input)).await?))
}

/// The survey with every organisation's published aggregate combined, and this node's own
/// count of responses.
async fn show_survey(State(s): State<ApiState>, Path(id): Path<String>) -> ApiResult {
    parse_id(&id, DocKind::Survey).map_err(|e| ApiError::not_found(e.0))?;
    let r = s.replica.clone();
    let view = blocking(move || r.survey_results(&id)).await?;
    Ok(Json(decorate(&s, view)))
}

async fn respond(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<SurveyResponse>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    parse_id(&id, DocKind::Survey).map_err(|e| ApiError::not_found(e.0))?;
    let r = s.replica.clone();
    blocking(move || r.respond_survey(&id, input)).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "recorded": true,
            "notice": "the answers are kept on this node only; the survey's results show the aggregate once it closes",
        })),
    ))
}

async fn close_survey(State(s): State<ApiState>, Path(id): Path<String>) -> ApiResult {
    parse_id(&id, DocKind::Survey).map_err(|e| ApiError::not_found(e.0))?;
    let r = s.replica.clone();
    let entry = blocking(move || r.close_survey(&id)).await?;
    Ok(Json(entry.view))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    /// `YYYY-MM-DD`, the first day; default 90 days before `until`.
    since: Option<String>,
    /// `YYYY-MM-DD`, the last day; default today (up to now).
    until: Option<String>,
    /// `json` (default), `csv` or `text`.
    format: Option<String>,
}

fn day(field: &str, v: Option<&str>) -> Result<Option<chrono::NaiveDate>, ApiError> {
    v.map(|d| crate::validate::date(field, d).map_err(|e| ApiError::invalid(e.0)))
        .transpose()
}

async fn community_report(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Response, ApiError> {
    parse_id(&id, DocKind::Community).map_err(|e| ApiError::not_found(e.0))?;
    let since = day("since", q.since.as_deref())?;
    let until = day("until", q.until.as_deref())?;
    let format = q.format.as_deref().unwrap_or("json").trim().to_owned();
    if !matches!(format.as_str(), "json" | "csv" | "text") {
        return Err(ApiError::invalid(format!(
            "format {format:?} is not one of json, csv, text"
        )));
    }
    let (since, until) = report::checked_period(since, until, crate::replica::now_ms())
        .map_err(ApiError::invalid)?;
    let r = s.replica.clone();
    let rep = blocking(move || r.report(&id, since, until)).await?;
    let body = |ct: &'static str, text: String| {
        let mut resp = text.into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        resp
    };
    Ok(match format.as_str() {
        "csv" => {
            let mut resp = body("text/csv; charset=utf-8", report::csv(&rep));
            resp.headers_mut().insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"copnet-report.csv\""),
            );
            resp
        }
        "text" => body("text/plain; charset=utf-8", report::text(&rep)),
        _ => Json(serde_json::to_value(&rep).expect("reports serialise")).into_response(),
    })
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ParticipationQuery {
    /// `YYYY-MM-DD`: the end of the observation window; default now.
    at: Option<String>,
}

async fn participation(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ParticipationQuery>,
) -> ApiResult {
    parse_id(&id, DocKind::Community).map_err(|e| ApiError::not_found(e.0))?;
    let at = day("at", q.at.as_deref())?;
    let (_, at) = report::period(None, at, crate::replica::now_ms());
    let r = s.replica.clone();
    let p = blocking(move || r.participation(&id, at)).await?;
    Ok(Json(
        serde_json::to_value(&p).expect("participation serialises"),
    ))
}
