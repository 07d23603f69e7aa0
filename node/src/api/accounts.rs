//! Endpoints for the web interface's sign-in accounts. Behind the API token, like the rest of
//! the API: this is how the CLI makes the first account.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;

use super::extract::ApiJson;
use super::{ApiError, ApiState, blocking};
use crate::accounts::{Account, AccountError, Role};

pub fn authed() -> Router<ApiState> {
    Router::new()
        .route("/accounts", get(list_accounts).post(add_account))
        .route("/accounts/{name}", delete(remove_account))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAccount {
    name: String,
    role: String,
    password: String,
    #[serde(default)]
    display_name: Option<String>,
}

async fn list_accounts(State(s): State<ApiState>) -> Result<Json<Vec<Account>>, ApiError> {
    let a = Arc::clone(&s.accounts);
    Ok(Json(blocking(move || a.list()).await?))
}

async fn add_account(
    State(s): State<ApiState>,
    ApiJson(input): ApiJson<NewAccount>,
) -> Result<(StatusCode, Json<Account>), ApiError> {
    let role: Role = input.role.parse()?;
    let a = Arc::clone(&s.accounts);
    let account = blocking(move || {
        a.add_named(
            &input.name,
            input.display_name.as_deref(),
            role,
            &input.password,
        )
    })
    .await?;
    Ok((StatusCode::CREATED, Json(account)))
}

async fn remove_account(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let a = Arc::clone(&s.accounts);
    let who = name.clone();
    blocking(move || a.remove(&name)).await?;
    // Whoever was signed in with it is signed out now, not at their next request.
    s.web.sessions.end_all_of(&who);
    Ok(StatusCode::NO_CONTENT)
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        let message = e.to_string();
        match e {
            AccountError::Invalid(_) => Self::invalid(message),
            AccountError::Exists(_) => Self::new(StatusCode::CONFLICT, "exists", message),
            AccountError::NotFound(_) => Self::not_found(message),
            AccountError::LastAdmin(_) => Self::new(StatusCode::CONFLICT, "last_admin", message),
            AccountError::Store(_) | AccountError::Damaged { .. } => {
                tracing::error!(error = %message, "account storage failure");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "storage", message)
            }
        }
    }
}
