//! The web interface over plain HTTP, against a real node: sign-in, the session cookie, CSRF on
//! every form, roles, the gate without JavaScript, live updates, and the headers every page
//! carries. (`browser.rs` takes the same interface through a real browser.)

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::Duration;

use copnet_tests::*;
use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::json;

const PASSWORD: &str = "kettle lantern orchard river";

/// A browser without a browser: keeps the session cookie, follows no redirects.
struct Visitor {
    http: Client,
    base: String,
    cookie: Option<String>,
}

impl Visitor {
    fn new(node: &NodeProc) -> Self {
        Self {
            http: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            base: node.api.base.trim_end_matches("/api/v1").to_owned(),
            cookie: None,
        }
    }

    fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(c) = &self.cookie {
            h.insert("cookie", HeaderValue::from_str(c).expect("cookie"));
        }
        h
    }

    fn get(&self, path: &str) -> Response {
        self.http
            .get(format!("{}{path}", self.base))
            .headers(self.headers())
            .send()
            .expect("GET")
    }

    /// Posts a form as this node's own page would (with its Origin).
    fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.post_from(path, form, &self.base.clone())
    }

    fn post_from(&self, path: &str, form: &[(&str, &str)], origin: &str) -> Response {
        self.http
            .post(format!("{}{path}", self.base))
            .headers(self.headers())
            .header("origin", origin)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form)
                    .finish(),
            )
            .send()
            .expect("POST")
    }

    /// Signs in through the form; returns the response to the post.
    fn sign_in(&mut self, name: &str, password: &str) -> Response {
        let page = self.get("/signin");
        let pre = set_cookie(&page, "__Host-copnet-signin").expect("the form sets its cookie");
        let token = hidden(&page.text().unwrap(), "_csrf");
        self.cookie = Some(format!("__Host-copnet-signin={pre}"));
        let resp = self.post(
            "/signin",
            &[
                ("_csrf", &token),
                ("name", name),
                ("password", password),
                ("next", "/"),
            ],
        );
        self.cookie = set_cookie(&resp, "__Host-copnet").map(|v| format!("__Host-copnet={v}"));
        resp
    }

    /// The session's CSRF token, as every page carries it.
    fn csrf(&self) -> String {
        let page = self.get("/").text().unwrap();
        let at = page.find("data-csrf=\"").expect("pages carry the token") + 11;
        page[at..at + page[at..].find('"').unwrap()].to_owned()
    }
}

fn set_cookie(resp: &Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v[name.len() + 1..v.find(';').unwrap_or(v.len())].to_owned())
        .filter(|v| !v.is_empty())
}

fn hidden(page: &str, name: &str) -> String {
    let at = page
        .find(&format!("name=\"{name}\" value=\""))
        .expect("the hidden field")
        + name.len()
        + 15;
    page[at..at + page[at..].find('"').unwrap()].to_owned()
}

fn location(resp: &Response) -> String {
    resp.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// A node in a federation of one, with a community and three accounts.
fn node(dir: &std::path::Path) -> anyhow::Result<(NodeProc, String)> {
    let node = NodeProc::start(&dir.join("node"), "Eastside Youth Services")?;
    node.api
        .create("/federation", &json!({ "name": "Web test federation" }))?;
    let community = node
        .api
        .create("/communities", &json!({ "name": "Leaving care network" }))?["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (name, role, shown) in [
        ("ada", "admin", "Ada Admin"),
        ("fay", "facilitator", "Fay Facilitator"),
        ("pat", "practitioner", "Pat Practitioner"),
    ] {
        node.api.create(
            "/accounts",
            &json!({ "name": name, "role": role, "password": PASSWORD, "display_name": shown }),
        )?;
    }
    Ok((node, community))
}

#[test]
fn signing_in_gives_a_host_only_secure_session_that_opens_pages_and_not_the_api()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (node, _) = node(dir.path())?;
    let mut v = Visitor::new(&node);

    // Not signed in: pages send you to sign in, and come back after.
    let r = v.get("/consults?status=open");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/signin?next=%2Fconsults%3Fstatus%3Dopen");

    // A wrong password says so, and sets no session.
    let r = v.sign_in("pat", "not the password at all");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v.cookie.is_none());
    assert!(r.text()?.contains("do not match"));

    let r = v.sign_in("PAT", PASSWORD);
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text()?);
    let header = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|h| h.to_str().unwrap().to_owned())
        .find(|h| h.starts_with("__Host-copnet="))
        .expect("a session cookie");
    for attr in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(header.contains(attr), "{header} lacks {attr}");
    }
    assert!(!header.contains("Domain"), "{header}");

    let home = v.get("/");
    assert_eq!(home.status(), StatusCode::OK);
    let h = home.headers().clone();
    let page = home.text()?;
    assert!(page.contains("Welcome, Pat Practitioner"), "{page}");
    let csp = h["content-security-policy"].to_str()?;
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");

    // The session is not an API credential.
    let api = v.get("/api/v1/status");
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);

    // Signing out ends it on the node, not only in the browser.
    let stolen = v.cookie.clone();
    let csrf = v.csrf();
    assert_eq!(
        v.post("/signout", &[("_csrf", &csrf)]).status(),
        StatusCode::SEE_OTHER
    );
    v.cookie = stolen;
    assert_eq!(v.get("/").status(), StatusCode::SEE_OTHER);
    Ok(())
}

#[test]
fn every_form_needs_the_session_token_and_this_origin() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (node, community) = node(dir.path())?;
    let mut v = Visitor::new(&node);
    v.sign_in("pat", PASSWORD);
    let csrf = v.csrf();
    let form = |token: &str| {
        vec![
            ("_csrf", token.to_owned()),
            ("community", community.clone()),
            ("title", "Transport to school".to_owned()),
            ("kind", "tool".to_owned()),
        ]
    };
    let send = |f: Vec<(&'static str, String)>, origin: &str| {
        let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        v.post_from("/library", &pairs, origin)
    };
    let base = v.base.clone();
    // No token, a wrong token, or another site: refused, and nothing is written.
    for (f, origin) in [
        (form(""), base.as_str()),
        (form("guessed"), base.as_str()),
        (form(&csrf), "http://evil.example"),
    ] {
        let r = send(f, origin);
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.text()?.contains("reload the page"));
    }
    assert_eq!(node.api.ok("/resources")?.as_array().unwrap().len(), 0);
    // With both: added, and attributed to the signed-in person, who joined the community.
    let r = send(form(&csrf), &base);
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text()?);
    let resources = node.api.ok("/resources")?;
    let person = resources[0]["added_by"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let c = node.api.ok(&format!("/communities/{community}"))?;
    let named = c["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == person.as_str())
        .map(|p| p["name"].clone());
    assert_eq!(named, Some(json!("Pat Practitioner")), "{resources}");
    Ok(())
}

#[test]
fn roles_decide_who_sees_the_report_and_manages_the_federation() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (node, _) = node(dir.path())?;
    let mut pat = Visitor::new(&node);
    pat.sign_in("pat", PASSWORD);
    assert_eq!(pat.get("/report").status(), StatusCode::FORBIDDEN);
    assert!(!pat.get("/").text()?.contains("href=\"/report\""));
    let csrf = pat.csrf();
    let r = pat.post(
        "/federation/invites",
        &[("_csrf", &csrf), ("role", "member"), ("expires", "72h")],
    );
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        node.api
            .ok("/federation/invites")?
            .as_array()
            .unwrap()
            .is_empty()
    );

    let mut fay = Visitor::new(&node);
    fay.sign_in("fay", PASSWORD);
    assert_eq!(fay.get("/report").status(), StatusCode::OK);

    // An admin creates an invite, sees the token once, and revokes it.
    let mut ada = Visitor::new(&node);
    ada.sign_in("ada", PASSWORD);
    let csrf = ada.csrf();
    let r = ada.post(
        "/federation/invites",
        &[("_csrf", &csrf), ("role", "peripheral"), ("expires", "24h")],
    );
    // Post, redirect, get: the token is on the next page, once, and in no URL.
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(!location(&r).contains("copnet-invite"));
    assert!(ada.get("/federation").text()?.contains("copnet-invite"));
    assert!(!ada.get("/federation").text()?.contains("copnet-invite"));
    let invites = node.api.ok("/federation/invites")?;
    let key = invites[0]["key"].as_str().unwrap().to_owned();
    let r = ada.post(
        "/federation/invites/revoke",
        &[("_csrf", &csrf), ("key", &key)],
    );
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(node.api.ok("/federation/invites")?[0]["state"], "revoked");

    // Removing an account signs its sessions out at once.
    copnet_ok(&node.data, &["account", "remove", "pat"])?;
    assert_eq!(pat.get("/").status(), StatusCode::SEE_OTHER);
    Ok(())
}

#[test]
fn the_gate_refuses_identifying_text_without_javascript_and_names_what_it_found()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (node, community) = node(dir.path())?;
    let mut v = Visitor::new(&node);
    v.sign_in("pat", PASSWORD);
    let csrf = v.csrf();
    let consult = |situation: &str, attest: &str| {
        v.post(
            "/consults",
            &[
                ("_csrf", &csrf),
                ("community", &community),
                ("title", "Moving schools"),
                ("question", "What helped a move between schools go well?"),
                ("situation", situation),
                ("attest", attest),
            ],
        )
    };
    let r = consult("Call her mother on 0412 345 678 before the visit.", "");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text()?;
    assert!(
        page.contains("Not published") && page.contains("0412 345 678"),
        "{page}"
    );
    // What was typed is kept in the form.
    assert!(page.contains("Call her mother on"), "{page}");
    assert!(node.api.ok("/consults")?.as_array().unwrap().is_empty());
    // The live check answers with the same findings.
    let check = v.post(
        "/consults/check",
        &[
            ("_csrf", &csrf),
            ("community", &community),
            ("situation", "Ring 0412 345 678"),
        ],
    );
    assert!(check.text()?.contains("0412 345 678"));

    let r = consult("The young person moved schools twice this year.", "");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let published = location(&r);
    let id = published.trim_start_matches("/consults/");
    assert_eq!(
        node.api.ok(&format!("/consults/{id}"))?["title"],
        "Moving schools"
    );
    // The presenter's organisation summarises what helped; the consult is answered.
    let r = v.post(
        &format!("/consults/{id}/answer"),
        &[
            ("_csrf", &csrf),
            ("summary", "A shared plan with the new school."),
        ],
    );
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let answered = node.api.ok(&format!("/consults/{id}"))?;
    assert_eq!(answered["status"], "answered");
    assert_eq!(
        answered["presenter_summary"],
        "A shared plan with the new school."
    );
    Ok(())
}

#[test]
fn a_page_hears_about_new_content_over_server_sent_events() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (node, community) = node(dir.path())?;
    let mut v = Visitor::new(&node);
    assert_eq!(
        v.get("/live").status(),
        StatusCode::SEE_OTHER,
        "signed-in only"
    );
    v.sign_in("fay", PASSWORD);
    let live = v
        .http
        .get(format!("{}/live", v.base))
        .headers(v.headers())
        .timeout(Duration::from_secs(120))
        .send()?;
    assert_eq!(live.headers()["content-type"], "text/event-stream");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(live).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    node.api.create(
        "/resources",
        &json!({ "community": community, "title": "Bus pass guide", "kind": "tool" }),
    )?;
    let heard = wait_for(Duration::from_secs(30), "a change event", || {
        let line = rx.recv_timeout(Duration::from_millis(500)).ok()?;
        (line == "data: resource").then_some(())
    });
    assert!(heard.is_ok(), "no event for the new resource");
    Ok(())
}
