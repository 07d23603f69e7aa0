//! Signing in and out, sessions, and the CSRF check every form goes through.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::layout::{self, Shell};
use super::{State, WebError, WebResult, see};
use crate::accounts::{Account, Role};
use crate::api::{ApiError, ApiState, blocking};
use crate::replica::now_ms;

/// The session cookie. `__Host-` makes the browser refuse it unless it is Secure, has no
/// Domain and covers the whole site. Browsers treat `localhost` and `127.0.0.1` as secure, so
/// it works on the default loopback address; anywhere else the node belongs behind HTTPS.
const SESSION_COOKIE: &str = "__Host-copnet";
/// The sign-in form's double-submit token, set when the form is shown (login CSRF).
const SIGNIN_COOKIE: &str = "__Host-copnet-signin";
/// A session ends after this long without a request...
const IDLE_MS: i64 = 4 * 3600 * 1000;
/// ...and after this long in any case: a working day.
const ABSOLUTE_MS: i64 = 12 * 3600 * 1000;
/// Sessions one node holds at most; the oldest go first.
const MAX_SESSIONS: usize = 10_000;
/// Sessions one account holds at most (browsers, devices); its own oldest go first.
const MAX_SESSIONS_PER_ACCOUNT: usize = 10;
/// Failed sign-ins to one account name before it is refused for [`LOCKOUT_MS`]...
const MAX_FAILURES: u32 = 5;
/// ...counted over this window.
const FAILURE_WINDOW_MS: i64 = 15 * 60 * 1000;
const LOCKOUT_MS: i64 = 60 * 1000;
/// Password checks running at once: each holds 19 MiB for Argon2id, and a flood must not take
/// the blocking pool (or the memory) from everything else.
const CONCURRENT_SIGN_INS: usize = 2;
/// Largest form body read.
const MAX_FORM_BYTES: usize = 256 * 1024;

struct Session {
    account: String,
    csrf: String,
    created_ms: i64,
    last_seen_ms: i64,
    /// The previous sign-in: where "what changed since your last visit" starts.
    since_ms: Option<i64>,
    /// Something to show once on the next page (a new invite's token), never in a URL.
    flash: Option<String>,
}

/// Failed sign-ins of one account name.
#[derive(Default)]
struct Failures {
    count: u32,
    first_ms: i64,
    locked_until_ms: i64,
}

/// Signed-in sessions, in memory: a restart signs everyone out. Keyed by the SHA-256 of the
/// cookie's token, so that the table alone cannot be replayed.
pub struct Sessions {
    live: Mutex<HashMap<[u8; 32], Session>>,
    failures: Mutex<HashMap<String, Failures>>,
    checking: tokio::sync::Semaphore,
}

impl Default for Sessions {
    fn default() -> Self {
        Self {
            live: Mutex::default(),
            failures: Mutex::default(),
            checking: tokio::sync::Semaphore::new(CONCURRENT_SIGN_INS),
        }
    }
}

fn random_token() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Sessions {
    fn start(&self, account: &str, since_ms: Option<i64>) -> String {
        let token = random_token();
        let now = now_ms();
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.retain(|_, s| fresh(s, now));
        let mine: Vec<([u8; 32], i64)> = live
            .iter()
            .filter(|(_, s)| s.account.eq_ignore_ascii_case(account))
            .map(|(k, s)| (*k, s.last_seen_ms))
            .collect();
        if mine.len() >= MAX_SESSIONS_PER_ACCOUNT
            && let Some((k, _)) = mine.iter().min_by_key(|(_, seen)| *seen)
        {
            live.remove(k);
        }
        if live.len() >= MAX_SESSIONS {
            let oldest = live
                .iter()
                .min_by_key(|(_, s)| s.last_seen_ms)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                live.remove(&k);
            }
        }
        live.insert(
            digest(&token),
            Session {
                account: account.to_owned(),
                csrf: random_token(),
                created_ms: now,
                last_seen_ms: now,
                since_ms,
                flash: None,
            },
        );
        token
    }

    fn end(&self, token: &str) {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.remove(&digest(token));
    }

    /// The session's account name, CSRF token and "since", if the token is live. `touch`
    /// counts the request as activity; a page refreshing itself for live updates does not.
    fn lookup(&self, token: &str, touch: bool) -> Option<(String, String, Option<i64>)> {
        let now = now_ms();
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        let key = digest(token);
        let s = live.get_mut(&key)?;
        if !fresh(s, now) {
            live.remove(&key);
            return None;
        }
        if touch {
            s.last_seen_ms = now;
        }
        Some((s.account.clone(), s.csrf.clone(), s.since_ms))
    }

    #[cfg(test)]
    fn touch(&self, token: &str) -> Option<(String, String, Option<i64>)> {
        self.lookup(token, true)
    }

    /// Keeps something to show once on the session's next page.
    pub fn set_flash(&self, token: &str, message: String) {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = live.get_mut(&digest(token)) {
            s.flash = Some(message);
        }
    }

    /// What [`Sessions::set_flash`] kept, once.
    pub fn take_flash(&self, token: &str) -> Option<String> {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.get_mut(&digest(token))?.flash.take()
    }

    /// Whether sign-in to `name` is refused for now, after too many failures.
    fn locked(&self, name: &str) -> bool {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures
            .get(&name.trim().to_lowercase())
            .is_some_and(|f| f.locked_until_ms > now_ms())
    }

    fn failed(&self, name: &str) {
        let now = now_ms();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() > MAX_SESSIONS {
            failures.retain(|_, f| now - f.first_ms < FAILURE_WINDOW_MS);
        }
        let f = failures.entry(name.trim().to_lowercase()).or_default();
        if now - f.first_ms > FAILURE_WINDOW_MS {
            *f = Failures {
                first_ms: now,
                ..Failures::default()
            };
        }
        f.count += 1;
        if f.count >= MAX_FAILURES {
            f.locked_until_ms = now + LOCKOUT_MS;
            f.count = 0;
            f.first_ms = now;
        }
    }

    fn succeeded(&self, name: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&name.trim().to_lowercase());
    }

    /// Whether a session is live, without counting this as activity: an open page's live-update
    /// stream must not keep an idle session alive.
    pub fn alive(&self, token: &str) -> bool {
        let live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.get(&digest(token)).is_some_and(|s| fresh(s, now_ms()))
    }

    /// Ends every session of an account (it was removed or its password changed).
    pub fn end_all_of(&self, account: &str) {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.retain(|_, s| !s.account.eq_ignore_ascii_case(account));
    }
}

fn fresh(s: &Session, now: i64) -> bool {
    now - s.last_seen_ms < IDLE_MS && now - s.created_ms < ABSOLUTE_MS
}

/// The session token the request carries, if any.
pub fn session_token(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, SESSION_COOKIE)
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn set_cookie(name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let age = max_age
        .map(|s| format!("; Max-Age={s}"))
        .unwrap_or_default();
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Secure; HttpOnly; SameSite=Strict{age}"
    ))
    .expect("cookie values are URL-safe base64")
}

/// The signed-in person, for a page. A request without a live session is sent to sign in.
pub struct Signed {
    pub account: Account,
    pub csrf: String,
    pub since_ms: Option<i64>,
}

impl Signed {
    pub fn is_facilitator(&self) -> bool {
        matches!(self.account.role, Role::Admin | Role::Facilitator)
    }

    pub fn is_admin(&self) -> bool {
        self.account.role == Role::Admin
    }

    pub fn require_facilitator(&self) -> Result<(), WebError> {
        if self.is_facilitator() {
            Ok(())
        } else {
            Err(forbidden("this page is for facilitators and admins"))
        }
    }

    pub fn require_admin(&self) -> Result<(), WebError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(forbidden(
                "only an admin of this node can do this; ask one, or see `copnet account list`",
            ))
        }
    }
}

pub fn forbidden(msg: &str) -> WebError {
    WebError(ApiError::new(StatusCode::FORBIDDEN, "forbidden", msg))
}

/// Why a request has no signed-in person: sent to the sign-in page, coming back after.
pub struct SignInFirst(String);

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        let next: String = url::form_urlencoded::byte_serialize(self.0.as_bytes()).collect();
        Redirect::to(&format!("/signin?next={next}")).into_response()
    }
}

impl FromRequestParts<ApiState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &ApiState) -> Result<Self, Response> {
        let back = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".into());
        let back = if parts.method == axum::http::Method::GET {
            back
        } else {
            "/".into()
        };
        let token = cookie(&parts.headers, SESSION_COOKIE).unwrap_or("");
        // The script's re-read of a page for live updates is not the person's activity: an
        // unattended tab must still reach the idle limit.
        let activity = !parts.headers.contains_key("x-copnet-live");
        let Some((name, csrf, since_ms)) = s.web.sessions.lookup(token, activity) else {
            return Err(SignInFirst(back).into_response());
        };
        // The account is read on every request, so a removed account is signed out at once and
        // a changed role applies at once.
        let accounts = s.accounts.clone();
        let lookup = name.clone();
        let account = blocking(move || accounts.account(&lookup))
            .await
            .map_err(|e| WebError(e).into_response())?;
        let Some(account) = account else {
            s.web.sessions.end_all_of(&name);
            return Err(SignInFirst(back).into_response());
        };
        Ok(Signed {
            account,
            csrf,
            since_ms,
        })
    }
}

/// A posted form from the signed-in person, after the CSRF checks: the request must not come
/// from another site (`Sec-Fetch-Site`, `Origin`), and must carry the session's token in
/// `_csrf`. `T` is read from the other fields.
pub struct Posted<T> {
    pub who: Signed,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<ApiState> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, s: &ApiState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        same_origin(&parts.headers).map_err(IntoResponse::into_response)?;
        let who = Signed::from_request_parts(&mut parts, s).await?;
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| {
                WebError(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "the form is too large",
                ))
                .into_response()
            })?;
        let (form, given) = split_csrf::<T>(&bytes).map_err(IntoResponse::into_response)?;
        if !bool::from(given.as_bytes().ct_eq(who.csrf.as_bytes())) || given.is_empty() {
            return Err(stale_form().into_response());
        }
        Ok(Posted { who, form })
    }
}

fn stale_form() -> WebError {
    WebError(ApiError::new(
        StatusCode::FORBIDDEN,
        "csrf",
        "this form has expired or did not come from this node's pages; go back, reload the page and send it again",
    ))
}

/// Reads a urlencoded form into `T` and its `_csrf` field (the last, if repeated). The forms'
/// types do not refuse unknown fields, so `T` does not see `_csrf`.
fn split_csrf<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, String), WebError> {
    let csrf = url::form_urlencoded::parse(bytes)
        .filter(|(k, _)| k == "_csrf")
        .last()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let form = serde_urlencoded::from_bytes::<T>(bytes)
        .map_err(|e| WebError(ApiError::invalid(format!("the form is incomplete: {e}"))))?;
    Ok((form, csrf))
}

/// Refuses a post that the browser says came from another site.
fn same_origin(headers: &HeaderMap) -> Result<(), WebError> {
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if matches!(site, Some("cross-site") | Some("same-site")) {
        tracing::info!(sec_fetch_site = ?site, "web post from another site refused");
        return Err(stale_form());
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if let (Some(origin), Some(host)) = (origin, host) {
        let ok = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            == Some(host);
        if !ok {
            tracing::info!(origin, host, "web post from another origin refused");
            return Err(stale_form());
        }
    }
    Ok(())
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only a path on this site may follow sign-in: never `//elsewhere` or a full URL.
fn safe_next(next: Option<&str>) -> String {
    match next {
        // Browsers drop tabs and newlines inside URLs, so "/\t/evil" would become "//evil".
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

pub async fn signin_page(
    axum::extract::State(s): State,
    axum::extract::Query(q): axum::extract::Query<NextQuery>,
) -> Response {
    signin_form(&s, &safe_next(q.next.as_deref()), None, "", StatusCode::OK)
}

fn signin_form(
    s: &ApiState,
    next: &str,
    error: Option<&str>,
    name: &str,
    status: StatusCode,
) -> Response {
    let token = random_token();
    let body = html! {
        h1 { "Sign in" }
        p { "Sign in to " strong { (s.replica.profile().org) } "’s copnet node." }
        @if let Some(e) = error {
            p.notice.error role="alert" id="signin-error" { (e) }
        }
        form method="post" action="/signin" class="stack" {
            input type="hidden" name="_csrf" value=(token);
            input type="hidden" name="next" value=(next);
            label for="name" { "Account name" }
            input id="name" name="name" type="text" autocomplete="username" required
                value=(name) autocapitalize="none" spellcheck="false"
                aria-describedby=[error.map(|_| "signin-error")];
            label for="password" { "Password" }
            input id="password" name="password" type="password" autocomplete="current-password" required;
            button type="submit" { "Sign in" }
        }
        p.hint { "No account yet? An admin of this node makes one with "
            code { "copnet account add NAME --role practitioner" } "." }
    };
    let mut resp = (status, layout::bare(&Shell::anonymous(s), "Sign in", body)).into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SIGNIN_COOKIE, &token, Some(3600)),
    );
    resp
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    _csrf: String,
    #[serde(default)]
    next: Option<String>,
    name: String,
    password: String,
}

pub async fn signin(
    axum::extract::State(s): State,
    headers: HeaderMap,
    axum::Form(form): axum::Form<SignInForm>,
) -> WebResult {
    same_origin(&headers)?;
    let next = safe_next(form.next.as_deref());
    let expected = cookie(&headers, SIGNIN_COOKIE).unwrap_or("");
    if expected.is_empty() || !bool::from(expected.as_bytes().ct_eq(form._csrf.as_bytes())) {
        return Ok(signin_form(
            &s,
            &next,
            Some("The sign-in form had expired. Please sign in again."),
            &form.name,
            StatusCode::FORBIDDEN,
        ));
    }
    if s.web.sessions.locked(&form.name) {
        return Ok(signin_form(
            &s,
            &next,
            Some("Too many failed sign-ins to this account. Wait a minute, then try again."),
            &form.name,
            StatusCode::TOO_MANY_REQUESTS,
        ));
    }
    let _turn = s
        .web
        .sessions
        .checking
        .acquire()
        .await
        .expect("the semaphore is never closed");
    let accounts = s.accounts.clone();
    let (name, password) = (form.name.clone(), form.password);
    let verified = blocking(move || {
        let Some(account) = accounts.verify(&name, &password)? else {
            return Ok::<_, crate::accounts::AccountError>(None);
        };
        let since = accounts.visited(&account.name, now_ms())?;
        Ok(Some((account, since)))
    })
    .await?;
    let Some((account, since)) = verified else {
        s.web.sessions.failed(&form.name);
        tracing::info!(account = %form.name.trim(), "web sign-in refused");
        return Ok(signin_form(
            &s,
            &next,
            Some("That account name and password do not match. Check both and try again."),
            &form.name,
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    };
    s.web.sessions.succeeded(&account.name);
    let token = s.web.sessions.start(&account.name, since);
    tracing::info!(account = %account.name, "web sign-in");
    let mut resp = see(&next);
    let h = resp.headers_mut();
    h.append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, &token, None));
    h.append(header::SET_COOKIE, set_cookie(SIGNIN_COOKIE, "", Some(0)));
    Ok(resp)
}

#[derive(Deserialize)]
pub struct Nothing {}

pub async fn signout(
    axum::extract::State(s): State,
    headers: HeaderMap,
    _posted: Posted<Nothing>,
) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        s.web.sessions.end(token);
    }
    let mut resp = see("/signin");
    resp.headers_mut()
        .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", Some(0)));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_site_follow_sign_in() {
        assert_eq!(safe_next(Some("/consults/x")), "/consults/x");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "evil",
            "/\t/evil.example",
            "/\n/evil.example",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:7700"));
        assert!(same_origin(&h).is_ok());
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:7700"),
        );
        assert!(same_origin(&h).is_ok());
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(same_origin(&h).is_err());
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(same_origin(&h).is_err());
    }

    #[test]
    fn sessions_end_when_idle_and_when_signed_out() {
        let s = Sessions::default();
        let t = s.start("sam", None);
        assert!(s.touch(&t).is_some());
        assert!(s.touch("someone else's guess").is_none());
        {
            let mut live = s.live.lock().unwrap();
            live.get_mut(&digest(&t)).unwrap().last_seen_ms -= IDLE_MS + 1;
        }
        assert!(!s.alive(&t) && s.touch(&t).is_none(), "idle too long");
        let t = s.start("sam", None);
        assert!(s.alive(&t));
        s.end_all_of("SAM");
        assert!(!s.alive(&t));
        assert!(s.touch(&t).is_none(), "account's sessions ended");
    }

    #[test]
    fn an_account_is_refused_for_a_minute_after_five_failures() {
        let s = Sessions::default();
        for _ in 0..MAX_FAILURES - 1 {
            s.failed("Sam");
        }
        assert!(!s.locked("sam"));
        s.failed("sam");
        assert!(s.locked("SAM"));
        assert!(!s.locked("ada"), "other accounts are not affected");
    }

    #[test]
    fn one_account_keeps_at_most_ten_sessions() {
        let s = Sessions::default();
        let first = s.start("sam", None);
        s.live
            .lock()
            .unwrap()
            .get_mut(&digest(&first))
            .unwrap()
            .last_seen_ms -= 1_000;
        let other = s.start("ada", None);
        for _ in 0..MAX_SESSIONS_PER_ACCOUNT {
            s.start("sam", None);
        }
        assert!(!s.alive(&first), "sam's oldest session made way");
        assert!(s.alive(&other), "ada's session is untouched");
    }

    #[test]
    fn the_csrf_field_is_taken_out_of_the_form() {
        #[derive(Deserialize)]
        struct F {
            text: String,
        }
        let (f, csrf) = split_csrf::<F>(b"text=hello+there&_csrf=abc").unwrap();
        assert_eq!((f.text.as_str(), csrf.as_str()), ("hello there", "abc"));
        assert!(split_csrf::<F>(b"_csrf=abc").is_err());
    }
}
