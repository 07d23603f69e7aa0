//! The HTTP API under `/api/v1` (DESIGN §8): JSON in and out, bearer-token auth on everything
//! but the health check, errors as `{"error": {"code", "message"}}`.
//!
//! Handlers are thin: they parse, hand the work to the [`Replica`] on the blocking pool (writes
//! wait for an fsync), and render. No handler holds a lock across an `await`.

mod accounts;
mod error;
mod extract;
mod facilitation;
mod repertoire;
mod routes;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::{self, Next};
use axum::response::Response;
use subtle::ConstantTimeEq;

pub use error::ApiError;
pub use repertoire::calendar_key;
pub(crate) use repertoire::ics_response;

use crate::replica::Replica;

/// Largest request body the API reads.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct ApiState {
    pub replica: Arc<Replica>,
    pub accounts: Arc<crate::accounts::Accounts>,
    pub net: crate::net::NetHandle,
    pub token: Arc<str>,
    pub http: SocketAddr,
    /// The web interface's sessions.
    pub web: Arc<crate::web::Web>,
}

/// The API router, with auth and limits.
pub fn router(state: ApiState) -> Router {
    let mut authed = routes::authed();
    if crate::faults::enabled() {
        authed = authed.merge(routes::faults());
    }
    let authed = authed.route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .merge(crate::web::router())
        .nest(
            "/api/v1",
            routes::public()
                .merge(repertoire::feeds())
                .merge(authed)
                .fallback(|| async {
                    ApiError::not_found("no such API endpoint; see the README for the list")
                }),
        )
        .fallback(|| async { ApiError::not_found("not found") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take that method",
            )
        })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn require_token(
    State(state): State<ApiState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let given = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    if given.is_empty() || !bool::from(given.as_bytes().ct_eq(state.token.as_bytes())) {
        return Err(ApiError::unauthorized());
    }
    Ok(next.run(req).await)
}

/// Runs blocking work (the replica's, or password hashing) off the async runtime.
pub async fn blocking<T: Send + 'static, E: Into<ApiError> + Send + 'static>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "API task failed");
            ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error; see the node's log",
            )
        })?
        .map_err(Into::into)
}
