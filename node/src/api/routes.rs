//! The endpoints. One section per area; each handler parses, delegates, renders.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use copnet_protocol::DocKind;
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::{ApiJson, ApiQuery};
use super::{ApiError, ApiState, blocking};
use crate::replica::{
    NewCommunity, NewConsult, NewEvent, NewFederation, NewReply, NewResource, ResourceEdit,
    parse_id,
};
use crate::store::DocEntry;

type ApiResult<T = Json<Value>> = Result<T, ApiError>;

pub fn public() -> Router<ApiState> {
    Router::new().route("/health", get(health))
}

/// Fault injection (see `crate::faults`), mounted only when it is on.
pub fn faults() -> Router<ApiState> {
    Router::new()
        .route("/faults/partition", post(partition))
        .route("/faults/heal", post(heal))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartitionInput {
    /// Nodes this node stops talking to.
    nodes: Vec<String>,
}

async fn partition(
    State(s): State<ApiState>,
    ApiJson(input): ApiJson<PartitionInput>,
) -> ApiResult {
    let nodes = input
        .nodes
        .iter()
        .map(|n| {
            n.parse::<copnet_protocol::NodeId>()
                .map_err(|e| ApiError::invalid(format!("nodes: {n:?} is not a node id: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    s.net.partition(nodes.clone()).await;
    Ok(Json(json!({ "partitioned_from": nodes })))
}

async fn heal(State(s): State<ApiState>) -> ApiResult {
    s.net.heal().await;
    Ok(Json(json!({ "partitioned_from": [] })))
}

pub fn authed() -> Router<ApiState> {
    super::repertoire::authed()
        .merge(super::facilitation::authed())
        .merge(super::accounts::authed())
        .route("/status", get(status))
        .route("/status/storage", get(storage))
        .route("/federation", get(federation).post(create_federation))
        .route("/federation/invites", get(list_invites).post(create_invite))
        .route("/federation/invites/{key}/revoke", post(revoke_invite))
        .route("/federation/join", post(join_federation))
        .route("/federation/leave", post(leave_federation))
        .route("/federation/remove", post(remove_member))
        .route("/communities", get(list_communities).post(create_community))
        .route(
            "/communities/{id}",
            get(show_community).patch(super::repertoire::edit_community),
        )
        .route("/resources", get(list_resources).post(add_resource))
        .route("/resources/{id}", get(show_resource).patch(edit_resource))
        .route("/consults", get(list_consults).post(open_consult))
        .route("/consults/{id}", get(show_consult))
        .route("/consults/{id}/replies", post(reply_consult))
        .route("/events", get(list_events).post(schedule_event))
        .route(
            "/events/{id}",
            get(super::repertoire::show_event).patch(super::repertoire::edit_event),
        )
}

async fn health() -> Json<Value> {
    Json(json!({ "ok": true, "version": env!("CARGO_PKG_VERSION") }))
}

async fn status(State(s): State<ApiState>) -> ApiResult {
    // The two collections hold every document: counting them costs nothing, unlike a scan.
    let (federation_set, members_set) = s.replica.digests();
    let docs = federation_set.count + members_set.count;
    let fed = s.replica.federation();
    Ok(Json(json!({
        "node_id": s.replica.node_id(),
        "org": s.replica.profile().org,
        "sector": s.replica.profile().sector,
        "version": env!("CARGO_PKG_VERSION"),
        "federation": fed.map(|f| json!({
            "id": f.id,
            "name": f.name,
            "role": f.role.map(|r| r.as_str()).unwrap_or("none"),
        })),
        "http": s.http.to_string(),
        "listen": s.net.listen_addrs(),
        "peers": peers(&s),
        "traffic": s.net.traffic(),
        "docs": docs,
        "collections": { "federation": federation_set.count, "members": members_set.count },
        "pending_changes": s.replica.pending_changes(),
    })))
}

/// What the store holds: signed changes against caches, and the bytes on disk.
async fn storage(State(s): State<ApiState>) -> ApiResult {
    let r = s.replica.clone();
    let usage = blocking(move || Ok::<_, crate::replica::ReplicaError>(r.store().usage()?)).await?;
    Ok(Json(json!(usage)))
}

/// Every other active organisation, with its connection and sync state.
fn peers(s: &ApiState) -> Vec<Value> {
    let Some(state) = s.replica.roster_state() else {
        return vec![];
    };
    if s.replica.own_role().is_none() {
        // This node left or was removed: it has no peers any more.
        return vec![];
    }
    let net = s.net.peer_status();
    state
        .active()
        .filter(|m| m.node != s.replica.node_id())
        .map(|m| {
            let st = net.get(&m.node).cloned().unwrap_or_default();
            json!({
                "node_id": m.node,
                "org": m.profile.org,
                "role": m.role,
                "connected": st.connected,
                "docs_behind": st.docs_behind,
                "last_in_sync": st.last_in_sync_ms.map(crate::views::rfc3339),
            })
        })
        .collect()
}

async fn federation(State(s): State<ApiState>) -> ApiResult {
    let Some(state) = s.replica.roster_state() else {
        return Err(crate::replica::ReplicaError::NoFederation.into());
    };
    let net = s.net.peer_status();
    let members: Vec<Value> = state
        .members
        .values()
        .map(|m| {
            json!({
                "node_id": m.node,
                "org": m.profile.org,
                "sector": m.profile.sector,
                "role": m.role,
                "status": m.status,
                "connected": m.node == s.replica.node_id()
                    || net.get(&m.node).is_some_and(|p| p.connected),
                "removal_reason": m.removal_reason,
                "this_node": m.node == s.replica.node_id(),
            })
        })
        .collect();
    let proposals: Vec<Value> = state
        .proposals
        .iter()
        .filter(|(_, p)| !p.carried && state.is_active(&p.target))
        .map(|(hash, p)| {
            let electorate = state.electorate(&p.target).len();
            json!({
                "id": hash.to_string(),
                "target": p.target,
                "proposer": p.proposer,
                "reason": p.reason,
                "votes": state.votes(p),
                "electorate": electorate,
            })
        })
        .collect();
    Ok(Json(json!({
        "id": state.federation,
        "name": state.name,
        "charter": state.charter,
        "members": members,
        "proposals": proposals,
    })))
}

async fn create_federation(
    State(s): State<ApiState>,
    ApiJson(input): ApiJson<NewFederation>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let r = s.replica.clone();
    let f = blocking(move || r.create_federation(input)).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": f.id, "name": f.name, "role": f.role })),
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    pub community: Option<String>,
    /// Resources whose review-by date has passed.
    #[serde(default)]
    pub overdue: bool,
    /// Consults whose follow-up date has come and that have no outcome yet.
    #[serde(default)]
    pub follow_up_due: bool,
    /// Consults in this status.
    pub status: Option<String>,
}

/// Adds who wrote a document as the roster knows them now: their organisation, and whether they
/// have since left or been removed (DESIGN §4: the UI marks such content).
pub(super) fn decorate(s: &ApiState, mut view: Value) -> Value {
    let state = s.replica.roster_state();
    if let (Some(state), Some(obj)) = (state, view.as_object_mut()) {
        let creator = obj
            .get("creator")
            .and_then(Value::as_str)
            .and_then(|c| c.parse::<copnet_protocol::NodeId>().ok());
        if let Some(m) = creator.and_then(|c| state.member(&c).cloned()) {
            obj.insert("creator_org".into(), json!(m.profile.org));
            obj.insert("creator_status".into(), json!(m.status));
        }
    }
    view
}

pub(super) fn rows(s: &ApiState, entries: Vec<DocEntry>) -> Json<Value> {
    Json(Value::Array(
        entries.into_iter().map(|e| decorate(s, e.view)).collect(),
    ))
}

pub(super) async fn list(s: ApiState, kind: DocKind, q: ListQuery) -> ApiResult {
    let community = q
        .community
        .as_deref()
        .map(|c| parse_id(c, DocKind::Community))
        .transpose()
        .map_err(|e| ApiError::invalid(e.0))?;
    let only = |what: &str, k: DocKind| {
        if kind == k {
            Ok(())
        } else {
            Err(ApiError::bad_request(format!(
                "{what} applies to {k} listings only"
            )))
        }
    };
    if q.overdue {
        only("overdue", DocKind::Resource)?;
    }
    if q.follow_up_due {
        only("follow_up_due", DocKind::Consult)?;
    }
    if q.status.is_some() {
        only("status", DocKind::Consult)?;
    }
    let status = q
        .status
        .as_deref()
        .map(|st| st.trim().parse::<copnet_protocol::docs::ConsultStatus>())
        .transpose()
        .map_err(ApiError::invalid)?;
    let r = s.replica.clone();
    let mut entries = blocking(move || r.list(kind, community.as_ref())).await?;
    let today = crate::replica::now_utc()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    let field = |e: &DocEntry, f: &str| e.view.get(f).and_then(Value::as_str).map(str::to_owned);
    if q.overdue {
        entries.retain(|e| field(e, "review_by").is_some_and(|d| d < today));
    }
    if q.follow_up_due {
        entries.retain(|e| {
            field(e, "follow_up_on").is_some_and(|d| d <= today)
                && e.view.get("outcome").is_none_or(Value::is_null)
                && field(e, "status").as_deref() != Some("closed")
        });
    }
    if let Some(st) = status {
        entries.retain(|e| field(e, "status").as_deref() == Some(st.as_str()));
    }
    Ok(rows(&s, entries))
}

pub(super) async fn show(s: ApiState, kind: DocKind, id: String) -> ApiResult {
    let id = parse_id(&id, kind).map_err(|e| ApiError::not_found(e.0))?;
    let r = s.replica.clone();
    let view = blocking(move || r.get(&id)).await?.view;
    Ok(Json(decorate(&s, view)))
}

pub(super) fn created(e: DocEntry) -> (StatusCode, Json<Value>) {
    (StatusCode::CREATED, Json(e.view))
}

async fn list_communities(State(s): State<ApiState>) -> ApiResult {
    list(s, DocKind::Community, ListQuery::default()).await
}

async fn show_community(State(s): State<ApiState>, Path(id): Path<String>) -> ApiResult {
    show(s, DocKind::Community, id).await
}

async fn create_community(
    State(s): State<ApiState>,
    ApiJson(input): ApiJson<NewCommunity>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let r = s.replica.clone();
    Ok(created(blocking(move || r.create_community(input)).await?))
}

async fn list_resources(State(s): State<ApiState>, ApiQuery(q): ApiQuery<ListQuery>) -> ApiResult {
    list(s, DocKind::Resource, q).await
}

async fn show_resource(State(s): State<ApiState>, Path(id): Path<String>) -> ApiResult {
    show(s, DocKind::Resource, id).await
}

async fn add_resource(
    State(s): State<ApiState>,
    ApiJson(input): ApiJson<NewResource>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let r = s.replica.clone();
    Ok(created(blocking(move || r.add_resource(input)).await?))
}

async fn edit_resource(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    ApiJson(edit): ApiJson<ResourceEdit>,
) -> ApiResult {
    let r = s.replica.clone();
    Ok(Json(
        blocking(move || r.edit_resource(&id, edit)).await?.view,
    ))
}

async fn list_consults(State(s): State<ApiState>, ApiQuery(q): ApiQuery<ListQuery>) -> ApiResult {
    list(s, DocKind::Consult, q).await
}

async fn show_consult(State(s): State<ApiState>, Path(id): Path<String>) -> ApiResult {
    show(s, DocKind::Consult, id).await
}

async fn open_consult(
    State(s): State<ApiState>,
    ApiJson(input): ApiJson<NewConsult>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let r = s.replica.clone();
    Ok(created(blocking(move || r.open_consult(input)).await?))
}

async fn reply_consult(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NewReply>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let r = s.replica.clone();
    Ok(created(
        blocking(move || r.reply_consult(&id, input)).await?,
    ))
}

async fn list_events(State(s): State<ApiState>, ApiQuery(q): ApiQuery<ListQuery>) -> ApiResult {
    list(s, DocKind::Event, q).await
}

async fn schedule_event(
    State(s): State<ApiState>,
    ApiJson(input): ApiJson<NewEvent>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let r = s.replica.clone();
    Ok(created(blocking(move || r.schedule_event(input)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteInput {
    #[serde(default)]
    role: Option<String>,
    /// e.g. "72h", "30m", "7d"
    #[serde(default)]
    expires: Option<String>,
}

async fn create_invite(
    State(s): State<ApiState>,
    ApiJson(input): ApiJson<InviteInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let role: copnet_protocol::Role = input
        .role
        .as_deref()
        .unwrap_or("member")
        .parse()
        .map_err(ApiError::invalid)?;
    let ttl_ms = crate::validate::ttl_ms(input.expires.as_deref().unwrap_or("72h"))
        .map_err(|e| ApiError::invalid(e.0))?;
    let addrs = s.net.dialable_addrs();
    let r = s.replica.clone();
    let token = blocking(move || r.create_invite(role, ttl_ms, addrs)).await?;
    s.net.roster_changed().await;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "token": token.encode(),
            "role": role,
            "expires_at": crate::views::rfc3339(token.body.expires_at_ms as i64),
        })),
    ))
}

async fn list_invites(State(s): State<ApiState>) -> ApiResult {
    let rows: Vec<Value> = s
        .replica
        .invites()
        .into_iter()
        .map(|i| {
            json!({
                "key": i.key,
                "role": i.role,
                "expires_at": crate::views::rfc3339(i.expires_at_ms as i64),
                "state": i.state,
            })
        })
        .collect();
    Ok(Json(Value::Array(rows)))
}

async fn revoke_invite(State(s): State<ApiState>, Path(key): Path<String>) -> ApiResult {
    let r = s.replica.clone();
    blocking(move || r.revoke_invite(&key)).await?;
    s.net.roster_changed().await;
    Ok(Json(json!({ "revoked": true })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JoinInput {
    token: String,
}

async fn join_federation(
    State(s): State<ApiState>,
    ApiJson(input): ApiJson<JoinInput>,
) -> ApiResult {
    let joined = crate::join::join(&s.replica, &s.net, &input.token).await?;
    Ok(Json(joined))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LeaveInput {
    #[serde(default)]
    purge: bool,
}

async fn leave_federation(
    State(s): State<ApiState>,
    ApiJson(input): ApiJson<LeaveInput>,
) -> ApiResult {
    Ok(Json(
        crate::join::leave(&s.replica, &s.net, input.purge).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveInput {
    node: String,
    reason: String,
}

async fn remove_member(
    State(s): State<ApiState>,
    ApiJson(input): ApiJson<RemoveInput>,
) -> ApiResult {
    let node: copnet_protocol::NodeId = input
        .node
        .parse()
        .map_err(|e: copnet_protocol::IdError| ApiError::invalid(e.to_string()))?;
    let r = s.replica.clone();
    let status = blocking(move || r.remove(&node, &input.reason)).await?;
    s.net.roster_changed().await;
    Ok(Json(
        serde_json::to_value(status).expect("status serialises"),
    ))
}
