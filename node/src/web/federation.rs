//! The federation: member organisations with their roles, online status and sync state; invites
//! (create, list, revoke); joining, founding and leaving. Changing anything takes an admin.

use axum::extract::Query;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::{Posted, Signed, session_token};
use super::layout::{self, Nav, Shell};
use super::{DoneQuery, State, WebError, WebResult, see};
use crate::api::{ApiError, ApiState, blocking};
use crate::replica::NewFederation;

pub async fn page(
    axum::extract::State(s): State,
    who: Signed,
    headers: HeaderMap,
    Query(q): Query<DoneQuery>,
) -> WebResult<Markup> {
    // A new invite's token is shown once, on the page the form leads to, and is in no URL.
    let token = session_token(&headers).and_then(|t| s.web.sessions.take_flash(t));
    Ok(render(&s, &who, q.done.as_deref(), token.as_deref(), None))
}

fn render(
    s: &ApiState,
    who: &Signed,
    done: Option<&str>,
    token: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let state = s.replica.roster_state();
    let own = s.replica.own_role();
    let net = s.net.peer_status();
    let me = s.replica.node_id();
    let body = html! {
        h1 { "Federation" }
        (layout::notice(done))
        @if let Some(e) = error { p.notice.error role="alert" { (e) } }
        @match (&state, own) {
            (Some(st), Some(role)) => {
                p { strong { (st.name) } " · this node is a " (role.as_str()) " organisation." }
                @if !st.charter.is_empty() { (layout::paragraphs(&st.charter)) }
                section #members data-live aria-labelledby="members-h" {
                    h2 #members-h { "Member organisations" }
                    div.table-scroll {
                        table.stack {
                            thead { tr {
                                th scope="col" { "Organisation" } th scope="col" { "Role" } th scope="col" { "Status" }
                                th scope="col" { "Online" } th scope="col" { "Sync" }
                            } }
                            tbody {
                                @for m in st.members.values() {
                                    @let p = net.get(&m.node).cloned().unwrap_or_default();
                                    @let this = m.node == me;
                                    tr {
                                        td data-label="Organisation" {
                                            (m.profile.org) @if this { " " span.badge.muted { "this node" } }
                                            @if let Some(sec) = &m.profile.sector { br; span.meta { (sec) } }
                                        }
                                        td data-label="Role" { (m.role.as_str()) }
                                        td data-label="Status" { (format!("{:?}", m.status).to_lowercase())
                                            @if let Some(r) = &m.removal_reason { br; span.meta { (r) } } }
                                        td data-label="Online" {
                                            @if this || p.connected { span.badge.ok { "online" } } @else { span.badge.muted { "offline" } }
                                        }
                                        td data-label="Sync" {
                                            @if this { "—" }
                                            @else if p.connected && p.docs_behind == 0 { span.badge.ok { "in sync" } }
                                            @else if p.docs_behind > 0 { span.badge.warn { (p.docs_behind) " documents to go" } }
                                            @else { span.meta { "waiting to connect" } }
                                            @if let Some(t) = p.last_in_sync_ms { br; span.meta { "last in sync " (layout::day(&crate::views::rfc3339(t))) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if who.is_admin() && role == copnet_protocol::Role::Member {
                    section aria-labelledby="invite-h" {
                        h2 #invite-h { "Invite an organisation" }
                        @if let Some(t) = token {
                            div.notice {
                                p { strong { "The invite is ready." } " Send this one-time invite to the other organisation’s admin over a channel you trust. They paste it into their node’s Federation page, or run " code { "copnet federation join" } " with it." }
                                label for="token" { "Invite" }
                                textarea.token id="token" readonly { (t) }
                            }
                        }
                        form.stack method="post" action="/federation/invites" {
                            input type="hidden" name="_csrf" value=(who.csrf);
                            label for="role" { "Their role" }
                            select id="role" name="role" {
                                option value="member" { "Member: reads and writes" }
                                option value="peripheral" { "Peripheral: a read-only replica" }
                            }
                            label for="expires" { "Valid for" }
                            select id="expires" name="expires" {
                                option value="24h" { "1 day" }
                                option value="72h" selected { "3 days" }
                                option value="7d" { "7 days" }
                            }
                            button type="submit" { "Create invite" }
                        }
                        @let invites = s.replica.invites();
                        @if !invites.is_empty() {
                            h3 { "Invites this node issued that no one has used" }
                            ul.cards {
                                @for i in &invites {
                                    li.card {
                                        (i.role.as_str()) " invite · "
                                        @match i.state {
                                            "open" => { span.badge.ok { "open" } " until " (layout::day(&crate::views::rfc3339(i.expires_at_ms as i64))) }
                                            other => { span.badge.muted { (other) } }
                                        }
                                        @if i.state == "open" {
                                            form.inline method="post" action="/federation/invites/revoke" {
                                                input type="hidden" name="_csrf" value=(who.csrf);
                                                input type="hidden" name="key" value=(i.key);
                                                button.secondary type="submit" aria-label=(format!("Revoke the {} invite", i.role.as_str())) { "Revoke" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if who.is_admin() {
                    section aria-labelledby="leave-h" {
                        h2 #leave-h { "Leave the federation" }
                        details {
                            summary { "Leave…" }
                            p { "This node publishes a signed departure, disconnects and stops syncing. What it already received stays unless you also delete it." }
                            form.stack method="post" action="/federation/leave" {
                                input type="hidden" name="_csrf" value=(who.csrf);
                                label { input type="checkbox" name="purge" value="true"; " Also delete every document this node holds" }
                                label { input type="checkbox" name="confirm" value="yes" required; " I understand that rejoining needs a new invite" }
                                button.danger type="submit" { "Leave " (st.name) }
                            }
                        }
                    }
                }
            }
            _ => {
                p { "This node is not in a federation." }
                @if who.is_admin() {
                    div.grid {
                        section aria-labelledby="join-h" {
                            h2 #join-h { "Join with an invite" }
                            form.stack method="post" action="/federation/join" {
                                input type="hidden" name="_csrf" value=(who.csrf);
                                label for="invite" { "Invite from a member organisation" }
                                textarea.token id="invite" name="token" required {}
                                button type="submit" { "Join" }
                            }
                        }
                        section aria-labelledby="found-h" {
                            h2 #found-h { "Or found a new federation" }
                            form.stack method="post" action="/federation/found" {
                                input type="hidden" name="_csrf" value=(who.csrf);
                                label for="fname" { "Name" }
                                input type="text" id="fname" name="name" required;
                                label for="charter" { "What it is for " span.meta { "(optional)" } }
                                textarea id="charter" name="charter" {}
                                button type="submit" { "Found the federation" }
                            }
                        }
                    }
                } @else {
                    p.meta { "An admin of this node can join one with an invite." }
                }
            }
        }
    };
    layout::page(&Shell::new(s, who), Nav::Federation, "Federation", body)
}

#[derive(Deserialize)]
pub struct InviteForm {
    role: String,
    expires: String,
}

pub async fn invite(
    axum::extract::State(s): State,
    headers: HeaderMap,
    posted: Posted<InviteForm>,
) -> WebResult<Response> {
    posted.who.require_admin()?;
    let role: copnet_protocol::Role = posted.form.role.parse().map_err(ApiError::invalid)?;
    let ttl = crate::validate::ttl_ms(&posted.form.expires).map_err(|e| ApiError::invalid(e.0))?;
    let addrs = s.net.dialable_addrs();
    let r = s.replica.clone();
    match blocking(move || r.create_invite(role, ttl, addrs)).await {
        Ok(token) => {
            s.net.roster_changed().await;
            if let Some(session) = session_token(&headers) {
                s.web.sessions.set_flash(session, token.encode());
            }
            Ok(see("/federation#invite-h"))
        }
        Err(e) if e.status.is_client_error() => Ok((
            e.status,
            render(&s, &posted.who, None, None, Some(&e.message)),
        )
            .into_response()),
        Err(e) => Err(WebError(e)),
    }
}

#[derive(Deserialize)]
pub struct RevokeForm {
    key: String,
}

pub async fn revoke(axum::extract::State(s): State, posted: Posted<RevokeForm>) -> WebResult {
    posted.who.require_admin()?;
    let r = s.replica.clone();
    let key = posted.form.key;
    blocking(move || r.revoke_invite(&key)).await?;
    s.net.roster_changed().await;
    Ok(see(
        "/federation?done=The+invite+is+revoked%3B+no+one+can+join+with+it.",
    ))
}

#[derive(Deserialize)]
pub struct JoinForm {
    token: String,
}

pub async fn join(axum::extract::State(s): State, posted: Posted<JoinForm>) -> WebResult<Response> {
    posted.who.require_admin()?;
    match crate::join::join(&s.replica, &s.net, posted.form.token.trim()).await {
        Ok(_) => Ok(see(
            "/federation?done=Joined.+The+first+sync+continues+in+the+background.",
        )),
        Err(e) => {
            let msg = format!("Not joined: {}", e.message);
            Ok((e.status, render(&s, &posted.who, None, None, Some(&msg))).into_response())
        }
    }
}

#[derive(Deserialize)]
pub struct FoundForm {
    name: String,
    #[serde(default)]
    charter: String,
}

pub async fn found(
    axum::extract::State(s): State,
    posted: Posted<FoundForm>,
) -> WebResult<Response> {
    posted.who.require_admin()?;
    let input = NewFederation {
        name: posted.form.name,
        charter: Some(posted.form.charter).filter(|c| !c.trim().is_empty()),
    };
    let r = s.replica.clone();
    match blocking(move || r.create_federation(input)).await {
        Ok(_) => {
            s.net.roster_changed().await;
            Ok(see(
                "/federation?done=The+federation+is+founded.+Invite+the+other+organisations+below.",
            ))
        }
        Err(e) if e.status.is_client_error() => {
            let msg = format!("Not founded: {}", e.message);
            Ok((e.status, render(&s, &posted.who, None, None, Some(&msg))).into_response())
        }
        Err(e) => Err(WebError(e)),
    }
}

#[derive(Deserialize)]
pub struct LeaveForm {
    #[serde(default)]
    purge: Option<String>,
    #[serde(default)]
    confirm: Option<String>,
}

pub async fn leave(axum::extract::State(s): State, posted: Posted<LeaveForm>) -> WebResult {
    posted.who.require_admin()?;
    if posted.form.confirm.as_deref() != Some("yes") {
        return Err(
            ApiError::invalid("tick the box that confirms you understand, then leave").into(),
        );
    }
    let purge = posted.form.purge.as_deref() == Some("true");
    crate::join::leave(&s.replica, &s.net, purge).await?;
    Ok(see("/federation?done=This+node+has+left+the+federation."))
}
