//! The stylesheet and the script, compiled in: the interface fetches nothing from elsewhere.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Addresses carry the version, so a new release is never served a stale cached file.
pub const CSS: &str = concat!("/assets/copnet-", env!("CARGO_PKG_VERSION"), ".css");
pub const JS: &str = concat!("/assets/copnet-", env!("CARGO_PKG_VERSION"), ".js");

const STYLE: &str = include_str!("assets/copnet.css");
const SCRIPT: &str = include_str!("assets/copnet.js");

pub async fn serve(Path(name): Path<String>) -> Response {
    let path = format!("/assets/{name}");
    let (body, kind) = if path == CSS {
        (STYLE, "text/css; charset=utf-8")
    } else if path == JS {
        (SCRIPT, "text/javascript; charset=utf-8")
    } else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400"),
    );
    resp
}
