//! Joining and leaving a federation: the steps that involve both the replica and the network.

use std::time::Duration;

use copnet_protocol::wire::{InviteToken, JoinRefusal, JoinRequest, JoinResponse, TokenError};
use libp2p::Multiaddr;
use serde_json::{Value, json};

use crate::api::ApiError;
use crate::net::{NetHandle, peer_id};
use crate::replica::{Replica, ReplicaError};
use crate::session;

/// How long `join` waits for the first sync with the inviting node before returning "still
/// syncing in the background". Well under the CLI's 60 s HTTP timeout: joining a federation of
/// 100,000 documents takes longer than that, and the person must hear that the join succeeded,
/// not that the node did not answer.
pub const FIRST_SYNC_TIMEOUT: Duration = Duration::from_secs(45);
/// How long `leave` waits for its departure to reach connected peers.
pub const LEAVE_DELIVERY_TIMEOUT: Duration = Duration::from_secs(15);

fn token_error(e: TokenError) -> ApiError {
    ApiError::invalid(e.to_string())
}

/// Redeems an invite token: dial the issuer, prove the invite, adopt the roster, run a first sync.
pub async fn join(
    replica: &std::sync::Arc<Replica>,
    net: &NetHandle,
    token: &str,
) -> Result<Value, ApiError> {
    let started_ms = crate::replica::now_ms();
    let token = InviteToken::decode(token).map_err(token_error)?;
    if let Some(fed) = replica.federation_id() {
        return Err(ReplicaError::AlreadyInFederation(fed).into());
    }
    // Expiry is the admitting node's to judge, by its clock (DESIGN §3): this machine's clock may
    // be wrong either way, and refusing here would turn a skewed clock into a failed join.
    let issuer = peer_id(&token.body.issuer);
    let addrs: Vec<Multiaddr> = token
        .body
        .addrs
        .iter()
        .filter_map(|a| a.parse::<Multiaddr>().ok())
        .map(|a| match a.iter().last() {
            Some(libp2p::multiaddr::Protocol::P2p(_)) => a,
            _ => a.with(libp2p::multiaddr::Protocol::P2p(issuer)),
        })
        .collect();
    if addrs.is_empty() {
        return Err(ApiError::invalid("the invite carries no address to dial"));
    }
    let req = JoinRequest {
        federation: token.body.federation,
        invite_key: token.invite_key(),
        profile: replica.profile().clone(),
        proof: token.proof_for(&replica.node_id()),
    };
    let unreachable = |why: String| {
        ApiError::new(
            axum::http::StatusCode::BAD_GATEWAY,
            "unreachable",
            format!(
                "could not reach {} at {}: {why}",
                token.body.issuer_org,
                token.body.addrs.join(", ")
            ),
        )
    };
    let response = net.join(issuer, addrs, &req).await.map_err(unreachable)?;
    let ops = match response {
        JoinResponse::Admitted { ops } => ops,
        JoinResponse::Refused { code, message } => {
            let status = match code {
                JoinRefusal::AlreadyUsed | JoinRefusal::AlreadyMember => {
                    axum::http::StatusCode::CONFLICT
                }
                JoinRefusal::Expired => axum::http::StatusCode::GONE,
                JoinRefusal::Busy => axum::http::StatusCode::SERVICE_UNAVAILABLE,
                _ => axum::http::StatusCode::FORBIDDEN,
            };
            let code = match code {
                JoinRefusal::UnknownInvite => "unknown_invite",
                JoinRefusal::AlreadyUsed => "invite_used",
                JoinRefusal::Expired => "invite_expired",
                JoinRefusal::BadProof => "bad_proof",
                JoinRefusal::WrongFederation => "wrong_federation",
                JoinRefusal::CannotAdmit => "cannot_admit",
                JoinRefusal::AlreadyMember => "already_member",
                JoinRefusal::Busy => "inviter_busy",
            };
            return Err(ApiError::new(
                status,
                code,
                format!("the invite was refused: {message}"),
            ));
        }
    };
    let r = replica.clone();
    let fed = token.body.federation;
    tokio::task::spawn_blocking(move || r.adopt_roster(fed, ops))
        .await
        .map_err(|e| ApiError::invalid(e.to_string()))??;
    net.roster_changed().await;
    net.add_addresses(token.body.issuer, token.body.addrs.clone())
        .await;
    // Roster first, then content: the first session with the inviting node ends before we
    // return, so the repertoire is there when the person looks. The syncer runs it (of two
    // nodes, the lower id starts sessions; the inviting node starts one the moment it admits us,
    // or ours does on the roster change above): a second session run from here would race it
    // and carry every change twice.
    let issuer = token.body.issuer;
    let deadline = tokio::time::Instant::now() + FIRST_SYNC_TIMEOUT;
    let synced = loop {
        if net
            .peer_status()
            .get(&issuer)
            .and_then(|p| p.last_in_sync_ms)
            .is_some_and(|at| at >= started_ms)
        {
            break json!({ "in_sync": true });
        }
        if tokio::time::Instant::now() >= deadline {
            break json!({ "error": "still syncing in the background" });
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let fed = replica.federation().expect("just adopted");
    tracing::info!(federation = %fed.id, "joined");
    Ok(json!({
        "id": fed.id,
        "name": fed.name,
        "role": fed.role,
        "first_sync": synced,
    }))
}

/// Publishes this node's Leave, delivers it to the connected peers, disconnects.
pub async fn leave(
    replica: &std::sync::Arc<Replica>,
    net: &NetHandle,
    purge: bool,
) -> Result<Value, ApiError> {
    let state = replica.roster_state().ok_or(ReplicaError::NoFederation)?;
    if replica.own_role().is_none() {
        return Err(ReplicaError::NotActive.into());
    }
    let me = replica.node_id();
    let others: Vec<copnet_protocol::NodeId> = state
        .active()
        .map(|m| m.node)
        .filter(|n| *n != me)
        .collect();
    let connected: Vec<copnet_protocol::NodeId> = net
        .peer_status()
        .into_iter()
        .filter(|(n, s)| s.connected && others.contains(n))
        .map(|(n, _)| n)
        .collect();
    if !others.is_empty() && connected.is_empty() {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "no_peer_reachable",
            "no other member is connected, so nobody would learn that you left; try again when a peer is online",
        ));
    }
    let r = replica.clone();
    tokio::task::spawn_blocking(move || r.leave())
        .await
        .map_err(|e| ApiError::invalid(e.to_string()))??;
    // Deliver: a roster exchange with each connected peer (they still see us as active until
    // they apply our Leave).
    let mut delivered = 0;
    for peer in &connected {
        let link = net.link(*peer);
        match tokio::time::timeout(
            LEAVE_DELIVERY_TIMEOUT,
            session::deliver_roster(replica, &link),
        )
        .await
        {
            Ok(Ok(())) => delivered += 1,
            // It already refuses us: our Leave reached it first (the syncer delivers roster
            // changes too).
            Ok(Err(session::SessionError::Link(session::LinkError::Refused {
                code: copnet_protocol::wire::RefusalCode::NotInRoster,
                ..
            }))) => delivered += 1,
            _ => {}
        }
    }
    net.roster_changed().await;
    net.disconnect_all().await;
    if purge {
        let r = replica.clone();
        tokio::task::spawn_blocking(move || r.purge_content())
            .await
            .map_err(|e| ApiError::invalid(e.to_string()))??;
    }
    Ok(json!({
        "left": true,
        "delivered_to": delivered,
        "connected": connected.len(),
        "purged": purge,
    }))
}
