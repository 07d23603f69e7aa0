//! The API's one error type. Status codes are chosen here and nowhere else.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::replica::ReplicaError;
use crate::store::StoreError;

/// An error as the API reports it: `{"error": {"code", "message"}}` with a fitting status.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Structured detail a client can act on, e.g. the gate's findings.
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong API token: send `Authorization: Bearer <token>` with the token from <data>/api-token",
        )
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(d) = self.details {
            error["details"] = d;
        }
        let body = Json(json!({ "error": error }));
        (self.status, body).into_response()
    }
}

impl From<ReplicaError> for ApiError {
    fn from(e: ReplicaError) -> Self {
        let message = e.to_string();
        match e {
            ReplicaError::Input(_) => Self::invalid(message),
            ReplicaError::NotFound { .. } => Self::not_found(message),
            ReplicaError::NoFederation => Self::new(StatusCode::CONFLICT, "no_federation", message),
            ReplicaError::AlreadyInFederation(_) => {
                Self::new(StatusCode::CONFLICT, "already_in_federation", message)
            }
            ReplicaError::ReadOnly => Self::new(StatusCode::FORBIDDEN, "read_only", message),
            ReplicaError::NotActive => Self::new(StatusCode::FORBIDDEN, "not_active", message),
            ReplicaError::Rejected(_) => Self::new(StatusCode::FORBIDDEN, "rejected", message),
            ReplicaError::Forbidden(_) => Self::new(StatusCode::FORBIDDEN, "forbidden", message),
            ReplicaError::BadMessage(_) => Self::bad_request(message),
            ReplicaError::Identifying(refusal) => Self {
                details: Some(json!({ "findings": refusal.findings })),
                ..Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "identifying_details",
                    message,
                )
            },
            ReplicaError::Damaged { .. } | ReplicaError::Store(StoreError::Corrupt { .. }) => {
                tracing::error!(error = %message, "damaged data");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "damaged", message)
            }
            ReplicaError::Store(_) => {
                tracing::error!(error = %message, "storage failure");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "storage", message)
            }
        }
    }
}
