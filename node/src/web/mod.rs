//! The web interface (DESIGN §8): server-rendered pages for practitioners and facilitators,
//! served by the node itself beside the API, like Syncthing's GUI. Nothing is fetched from
//! anywhere else: the stylesheet and the one small script are compiled into the binary.
//!
//! People sign in with the node's local accounts ([`crate::accounts`]). A session is a random
//! token in a `__Host-` cookie (Secure, HttpOnly, SameSite=Strict); every form carries the
//! session's CSRF token, checked in constant time, and cross-site posts are refused whatever
//! they carry. The API's bearer token is not accepted here, and a session opens nothing under
//! `/api/v1`.
//!
//! Pages render the same views the API serves; writes go through the same [`Replica`] methods,
//! attributed to the signed-in person. The script only adds to pages that work without it: live
//! updates over server-sent events, and the de-identification gate shown while composing.

mod assets;
mod auth;
mod community;
mod consults;
mod events;
mod federation;
mod home;
mod layout;
mod live;
mod report;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::html;
use serde_json::Value;
use tokio::sync::watch;

pub use auth::Sessions;

use crate::api::{ApiError, ApiState};

/// What the web interface keeps beside the API's state.
pub struct Web {
    pub sessions: Sessions,
    /// Becomes `true` when the node stops: live-update streams end, so shutdown is not held up.
    pub stopping: watch::Receiver<bool>,
}

impl Web {
    pub fn new(stopping: watch::Receiver<bool>) -> Self {
        Self {
            sessions: Sessions::default(),
            stopping,
        }
    }
}

/// The pages, mounted at `/` beside `/api/v1`.
pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/", get(home::page))
        .route("/signin", get(auth::signin_page).post(auth::signin))
        .route("/signout", post(auth::signout))
        .route("/live", get(live::stream))
        .route("/assets/{name}", get(assets::serve))
        .route("/communities/{id}", get(community::page))
        .route("/communities/{id}/join", post(community::join))
        .route("/library", get(community::library))
        .route("/library/new", get(community::new_resource))
        .route("/library", post(community::add_resource))
        .route("/consults", get(consults::index).post(consults::publish))
        .route("/consults/new", get(consults::compose))
        .route("/consults/check", post(consults::check))
        .route("/consults/{id}", get(consults::thread))
        .route("/consults/{id}/replies", post(consults::reply))
        .route("/consults/{id}/answer", post(consults::answer))
        .route("/events", get(events::page))
        .route("/events/{id}/rsvp", post(events::rsvp))
        .route("/events/{id}/calendar.ics", get(events::ics))
        .route("/report", get(report::page))
        .route("/federation", get(federation::page))
        .route("/federation/invites", post(federation::invite))
        .route("/federation/invites/revoke", post(federation::revoke))
        .route("/federation/join", post(federation::join))
        .route("/federation/found", post(federation::found))
        .route("/federation/leave", post(federation::leave))
        .layer(middleware::from_fn(security_headers))
}

/// Headers every page carries: a strict content security policy (only this node's own script
/// and stylesheet, no framing, forms post only here), no referrer to other sites, no caching of pages that
/// hold case material.
async fn security_headers(req: Request, next: Next) -> Response {
    let is_asset = req.uri().path().starts_with("/assets/");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // `same-origin`, not `no-referrer`: with no-referrer, browsers send `Origin: null` on form
    // posts, and the CSRF check could no longer tell this node's pages from anyone else's.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !is_asset {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// An error as a page: the same status and message the API would give, in words.
#[derive(Debug)]
pub struct WebError(pub ApiError);

impl<E: Into<ApiError>> From<E> for WebError {
    fn from(e: E) -> Self {
        WebError(e.into())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let e = self.0;
        let title = match e.status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::FORBIDDEN => "Not allowed",
            s if s.is_client_error() => "That did not work",
            _ => "Something went wrong",
        };
        let body = html! {
            (maud::DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · copnet" }
                    link rel="stylesheet" href=(assets::CSS);
                }
                body {
                    main id="main" class="narrow" {
                        h1 { (title) }
                        p role="alert" { (e.message) }
                        p { a href="/" { "Back to the home page" } }
                    }
                }
            }
        };
        (e.status, body).into_response()
    }
}

pub type WebResult<T = Response> = Result<T, WebError>;

/// After a successful form post: back to a page (303, so a reload does not post again).
fn see(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// What every handler shares: the API state.
type State = axum::extract::State<ApiState>;

/// Every document of a kind (in one community, or all), newest change first.
async fn docs(
    s: &ApiState,
    kind: copnet_protocol::DocKind,
    community: Option<copnet_protocol::DocId>,
) -> WebResult<Vec<crate::store::DocEntry>> {
    let r = s.replica.clone();
    let mut all = crate::api::blocking(move || r.list(kind, community.as_ref())).await?;
    all.sort_by_key(|e| std::cmp::Reverse(e.updated_at_ms));
    Ok(all)
}

/// One document, as a page asks for it: an unknown or malformed id is "not found".
async fn doc(
    s: &ApiState,
    id: &str,
    kind: copnet_protocol::DocKind,
) -> WebResult<crate::store::DocEntry> {
    let id = crate::replica::parse_id(id, kind).map_err(|e| ApiError::not_found(e.0))?;
    let r = s.replica.clone();
    Ok(crate::api::blocking(move || r.get(&id)).await?)
}

/// The signed-in person's entry among the community's people, made when they first take part
/// there: what they post is attributed to them by name, within their organisation.
async fn my_person(
    s: &ApiState,
    who: &auth::Signed,
    community: copnet_protocol::DocId,
) -> WebResult<String> {
    let r = s.replica.clone();
    let name = who.account.shown_name().to_owned();
    let person = crate::api::blocking(move || {
        // The replica's own lookup: a current person of this organisation by that name.
        let mine = |r: &crate::replica::Replica| -> crate::replica::Result<Option<String>> {
            let c = r.community(&community)?;
            Ok(r.own_person(&c, Some(&name)).ok().flatten())
        };
        if let Some(id) = mine(&r)? {
            return Ok(id);
        }
        let joined = r.join_community(
            &community.to_string(),
            crate::replica::NewPerson {
                name: name.clone(),
                level: Some("active".into()),
                ..Default::default()
            },
        );
        match joined {
            Ok((_, id)) => Ok(id),
            // Someone else's request joined them a moment ago.
            Err(e) => mine(&r)?.ok_or(e),
        }
    })
    .await?;
    Ok(person)
}

/// The signed-in person's entry among the people of a community's view: a current member of
/// this organisation with their shown name, as [`my_person`] finds or makes them.
fn my_entry<'v>(s: &ApiState, who: &auth::Signed, community: &'v Value) -> Option<&'v Value> {
    let node = s.replica.node_id().to_string();
    let name = who.account.shown_name();
    community["people"].as_array()?.iter().find(|p| {
        p["node"] == node.as_str()
            && p["left_at"].is_null()
            && layout::text(p, "name").eq_ignore_ascii_case(name)
    })
}

/// The communities on this node, by name, as (id, name).
pub struct Names(Vec<(String, String)>);

impl Names {
    /// The names of communities already read.
    pub fn of(communities: &[crate::store::DocEntry]) -> Self {
        let mut all: Vec<(String, String)> = communities
            .iter()
            .map(|e| (e.id.to_string(), layout::text(&e.view, "name").to_owned()))
            .collect();
        all.sort_by_key(|(_, name)| name.to_lowercase());
        Names(all)
    }

    pub fn iter(&self) -> impl Iterator<Item = &(String, String)> {
        self.0.iter()
    }

    pub fn first(&self) -> Option<&(String, String)> {
        self.0.first()
    }

    /// A community's name, or "" for one this node does not hold.
    pub fn name_of(&self, id: &str) -> &str {
        self.0
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, n)| n.as_str())
            .unwrap_or("")
    }
}

/// `?community=`, on pages that start from one.
#[derive(serde::Deserialize)]
pub struct CommunityQuery {
    pub community: Option<String>,
}

/// `?done=`: what the last form did, said at the top of the page it led to.
#[derive(serde::Deserialize)]
pub struct DoneQuery {
    pub done: Option<String>,
}

async fn communities(s: &ApiState) -> WebResult<Names> {
    Ok(Names::of(
        &docs(s, copnet_protocol::DocKind::Community, None).await?,
    ))
}

/// Rows per page of a long listing (the library, consults).
pub const PAGE_ROWS: usize = 50;

/// The rows of page `page` (from 1) of `items`.
pub fn page_of<T>(items: &[T], page: usize) -> &[T] {
    let start = page
        .saturating_sub(1)
        .saturating_mul(PAGE_ROWS)
        .min(items.len());
    &items[start..(start + PAGE_ROWS).min(items.len())]
}

/// "51–100 of 5000", with links to the pages either side. `params` are the listing's other
/// query parameters, kept on every link.
pub fn pager(path: &str, params: &[(&str, &str)], total: usize, page: usize) -> maud::Markup {
    let pages = total.div_ceil(PAGE_ROWS).max(1);
    let page = page.clamp(1, pages);
    let href = |p: usize| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in params.iter().filter(|(_, v)| !v.is_empty()) {
            q.append_pair(k, v);
        }
        if p > 1 {
            q.append_pair("page", &p.to_string());
        }
        let q = q.finish();
        if q.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{q}")
        }
    };
    let first = (page - 1) * PAGE_ROWS + 1;
    let last = (page * PAGE_ROWS).min(total);
    html! {
        @if total > PAGE_ROWS {
            nav.pager aria-label="Pages" {
                @if page > 1 { a href=(href(page - 1)) rel="prev" { "← Previous" } " · " }
                span { (first) "–" (last) " of " (total) }
                @if page < pages { " · " a href=(href(page + 1)) rel="next" { "Next →" } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_listings_are_paged_and_the_links_keep_the_filters() {
        let items: Vec<usize> = (0..120).collect();
        assert_eq!(page_of(&items, 1), &items[..50]);
        assert_eq!(page_of(&items, 3), &items[100..]);
        assert!(page_of(&items, 9).is_empty());
        let nav = pager("/library", &[("q", "housing first"), ("kind", "")], 120, 2).into_string();
        assert!(nav.contains("51–100 of 120"), "{nav}");
        assert!(nav.contains(r#"href="/library?q=housing+first""#), "{nav}");
        assert!(
            nav.contains(r#"href="/library?q=housing+first&amp;page=3""#),
            "{nav}"
        );
        assert!(pager("/library", &[], 50, 1).into_string().is_empty());
    }
}
