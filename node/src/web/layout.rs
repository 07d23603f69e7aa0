//! The page shell (header, navigation, main landmark, live-update region) and small pieces
//! every page uses.

use maud::{DOCTYPE, Markup, html};
use serde_json::Value;

use super::assets;
use super::auth::Signed;
use crate::api::ApiState;

/// Where a page sits in the navigation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Home,
    Library,
    Consults,
    Events,
    Report,
    Federation,
}

/// What the shell shows around a page.
pub struct Shell<'a> {
    org: String,
    federation: Option<String>,
    who: Option<&'a Signed>,
}

impl<'a> Shell<'a> {
    pub fn new(s: &ApiState, who: &'a Signed) -> Self {
        Self {
            org: s.replica.profile().org.clone(),
            federation: s.replica.federation().map(|f| f.name),
            who: Some(who),
        }
    }

    pub fn anonymous(s: &ApiState) -> Self {
        Self {
            org: s.replica.profile().org.clone(),
            federation: None,
            who: None,
        }
    }
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · copnet" }
            link rel="stylesheet" href=(assets::CSS);
            script src=(assets::JS) defer {}
        }
    }
}

/// A page for a signed-in person.
pub fn page(shell: &Shell, nav: Nav, title: &str, body: Markup) -> Markup {
    let who = shell.who.expect("page() is for signed-in people");
    let item = |to: Nav, href: &str, label: &str| {
        html! {
            li { a href=(href) aria-current=[(nav == to).then_some("page")] { (label) } }
        }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body data-csrf=(who.csrf) {
                a.skip href="#main" { "Skip to content" }
                header.site {
                    div.brand {
                        a href="/" { "copnet" }
                        span.org { (shell.org) }
                        @if let Some(f) = &shell.federation {
                            span.fed { "· " (f) }
                        }
                    }
                    nav aria-label="Main" {
                        ul {
                            (item(Nav::Home, "/", "Home"))
                            (item(Nav::Library, "/library", "Library"))
                            (item(Nav::Consults, "/consults", "Consults"))
                            (item(Nav::Events, "/events", "Events"))
                            @if who.is_facilitator() {
                                (item(Nav::Report, "/report", "Report"))
                            }
                            (item(Nav::Federation, "/federation", "Federation"))
                        }
                    }
                    form.signout method="post" action="/signout" {
                        input type="hidden" name="_csrf" value=(who.csrf);
                        span.me { (who.account.shown_name()) " (" (who.account.role.as_str()) ")" }
                        button.link type="submit" { "Sign out" }
                    }
                }
                div #live-status .live-status role="status" aria-live="polite" {}
                main id="main" tabindex="-1" {
                    (body)
                }
            }
        }
    }
}

/// A page with no navigation: sign-in.
pub fn bare(shell: &Shell, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.site {
                    div.brand { span { "copnet" } span.org { (shell.org) } }
                }
                main id="main" class="narrow" { (body) }
            }
        }
    }
}

/// A string field of a view, or "".
pub fn text<'v>(v: &'v Value, field: &str) -> &'v str {
    v.get(field).and_then(Value::as_str).unwrap_or("")
}

/// A list-of-strings field of a view.
pub fn strings(v: &Value, field: &str) -> Vec<String> {
    v.get(field)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// `2026-11-23T09:30:00Z` as "23 Nov 2026".
pub fn day(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|d| d.format("%-d %b %Y").to_string())
        .unwrap_or_else(|_| rfc3339.get(..10).unwrap_or(rfc3339).to_owned())
}

/// A paragraph per blank-line-separated block of text, with line breaks kept.
pub fn paragraphs(t: &str) -> Markup {
    html! {
        @for block in t.split("\n\n").map(str::trim).filter(|b| !b.is_empty()) {
            p {
                @for (i, line) in block.lines().enumerate() {
                    @if i > 0 { br; }
                    (line)
                }
            }
        }
    }
}

/// Who wrote something, as the roster knows them; marked when they have left.
pub fn org_of(s: &ApiState, node: &str) -> Markup {
    let state = s.replica.roster_state();
    let member = node
        .parse::<copnet_protocol::NodeId>()
        .ok()
        .and_then(|n| state.as_ref()?.member(&n).cloned());
    match member {
        Some(m) => html! {
            (m.profile.org)
            @if m.status != copnet_protocol::roster::MemberStatus::Active {
                " " span.badge.muted { "has " (format!("{:?}", m.status).to_lowercase()) }
            }
        },
        None => html! { "an organisation no longer in the roster" },
    }
}

/// The person a post is attributed to, by id, from the community's view.
pub fn person_name(community: Option<&Value>, person: &str) -> Option<String> {
    community?
        .get("people")?
        .as_array()?
        .iter()
        .find(|p| p["id"] == person)
        .and_then(|p| p["name"].as_str().map(str::to_owned))
}

/// A link from a document, if it is an http(s) address. Documents come from other organisations,
/// and this node's own checks on writing do not bind them: a `javascript:` or `data:` address is
/// shown as no link at all.
pub fn safe_href(url: &str) -> Option<&str> {
    let lower = url.trim_start().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then_some(url.trim())
}

/// A notice at the top of a page: `?done=` after a redirect.
pub fn notice(message: Option<&str>) -> Markup {
    html! {
        @if let Some(m) = message {
            p.notice role="status" { (m) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_addresses_become_links() {
        assert_eq!(
            safe_href(" https://example.org/x"),
            Some("https://example.org/x")
        );
        assert_eq!(safe_href("HTTP://example.org"), Some("HTTP://example.org"));
        for bad in [
            "javascript:alert(1)",
            " JavaScript:alert(1)",
            "data:text/html,x",
            "//evil",
            "",
        ] {
            assert_eq!(safe_href(bad), None, "{bad}");
        }
    }
}
