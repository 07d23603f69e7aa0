//! Sync sessions (DESIGN §6): the order of steps on a connection — roster first, then the
//! document set, then documents — written once against [`Link`], so it runs over libp2p in the
//! node and over a direct in-process link in tests.
//!
//! [`respond`] answers one request. [`run`] drives a whole session from the asking side: it pulls
//! what it lacks and, because automerge sync is two-way, also hands the peer what the peer lacks.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

use copnet_protocol::collection::{differing_buckets, differing_docs};
use copnet_protocol::docs::Audience;
use copnet_protocol::wire::{
    DocSyncMessage, MAX_DOCS_PER_MESSAGE, MAX_OPS_PER_MESSAGE, RefusalCode, SyncRequest,
    SyncResponse,
};
use copnet_protocol::{DocId, FederationId, NodeId, Role};

use crate::replica::{Channel, Replica, ReplicaError, may_read};

/// Documents synced per `Docs` request.
pub const DOC_BATCH: usize = 64;
/// Most automerge sync round trips spent on one batch before giving up until the next session.
pub const MAX_DOC_ROUNDS: usize = 8;
/// Bytes of document sync messages one request or reply carries, beyond its first document. A
/// document whose message does not fit waits for the next round: the requester keeps it open, the
/// responder leaves it out of its reply (which the requester reads as "later"). The first document
/// always goes, and fits the frame limit because files are bounded per document.
pub const MESSAGE_BUDGET: usize = 8 * 1024 * 1024;

/// Generates the messages for `docs` within [`MESSAGE_BUDGET`]: the messages, and the documents
/// that did not fit.
fn generate_within_budget(
    replica: &Replica,
    peer: &NodeId,
    docs: &[DocId],
) -> Result<(Vec<DocSyncMessage>, BTreeSet<DocId>), ReplicaError> {
    let mut out = Vec::with_capacity(docs.len());
    let mut deferred = BTreeSet::new();
    let mut used = 0usize;
    for doc in docs {
        let budget = if used == 0 {
            usize::MAX
        } else {
            MESSAGE_BUDGET.saturating_sub(used)
        };
        match replica.sync_generate_within(peer, doc, Channel::Initiated, budget)? {
            Some(m) => {
                used += m.message.as_ref().map_or(0, Vec::len) + m.signatures.len() * 96;
                out.push(m);
            }
            None => {
                deferred.insert(*doc);
            }
        }
    }
    Ok((out, deferred))
}

/// Carries requests to one peer.
pub trait Link: Sync {
    fn request(
        &self,
        req: SyncRequest,
    ) -> impl Future<Output = Result<SyncResponse, LinkError>> + Send;
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum LinkError {
    #[error("peer unreachable: {0}")]
    Unreachable(String),
    #[error("peer refused: {code:?}: {message}")]
    Refused { code: RefusalCode, message: String },
    #[error("peer answered out of protocol: {0}")]
    Protocol(String),
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error(transparent)]
    Replica(#[from] ReplicaError),
    /// The peer sent something invalid: an offence.
    #[error("peer misbehaved: {0}")]
    Offence(String),
}

/// What a session did.
#[derive(Debug, Default, Clone)]
pub struct SessionReport {
    pub roster_ops_received: usize,
    pub round_trips: usize,
    pub docs_compared: usize,
    pub changes_applied: usize,
    /// Documents that differed and did not converge within this session.
    pub unsynced: usize,
    /// Document messages held back to a later round to keep messages within the budget.
    pub deferred: usize,
    /// True when both sides' collection digests matched at the end.
    pub in_sync: bool,
    /// Addresses of roster nodes the peer knows.
    pub addresses: Vec<(NodeId, Vec<String>)>,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ReplicaError> + Send + 'static,
) -> Result<T, ReplicaError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ReplicaError::BadMessage(format!("sync task failed: {e}")))?
}

fn unexpected(resp: SyncResponse) -> SessionError {
    match resp {
        SyncResponse::Refused { code, message } => LinkError::Refused { code, message }.into(),
        other => LinkError::Protocol(format!("unexpected response {other:?}")).into(),
    }
}

/// Runs one sync session with `peer` over `link`.
pub async fn run(
    replica: Arc<Replica>,
    peer: NodeId,
    link: &impl Link,
) -> Result<SessionReport, SessionError> {
    let mut report = SessionReport::default();
    let federation = replica.federation_id().ok_or(ReplicaError::NoFederation)?;
    replica.begin_conversation(&peer, Channel::Initiated);

    // 1. Roster: pull what we lack, push what they lack.
    let ours = replica.roster_heads();
    report.round_trips += 1;
    match link
        .request(SyncRequest::Roster {
            federation,
            heads: ours,
        })
        .await?
    {
        SyncResponse::RosterOps { ops, heads } => {
            if ops.len() > MAX_OPS_PER_MESSAGE {
                return Err(SessionError::Offence("too many roster ops".into()));
            }
            let r = replica.clone();
            report.roster_ops_received =
                blocking(move || r.apply_roster_ops(ops))
                    .await
                    .map_err(|e| match e {
                        ReplicaError::BadMessage(m) => SessionError::Offence(m),
                        other => other.into(),
                    })?;
            let push = replica.roster_ops_for(&heads);
            if !push.is_empty() {
                report.round_trips += 1;
                match link
                    .request(SyncRequest::RosterPush {
                        federation,
                        ops: push,
                    })
                    .await?
                {
                    SyncResponse::Ack => {}
                    other => return Err(unexpected(other)),
                }
            }
        }
        other => return Err(unexpected(other)),
    }

    // Where the other roster nodes can be reached, if we do not know yet.
    if let Some(addresses) = learn_addresses(&replica, peer, link).await? {
        report.round_trips += 1;
        report.addresses = addresses;
    }

    // Who may read what, after the roster step.
    let (Some(peer_role), Some(own_role)) = (replica.peer_role(&peer), replica.own_role()) else {
        return Ok(report);
    };
    let mut audiences = vec![Audience::Federation];
    if peer_role == Role::Member && own_role == Role::Member {
        audiences.push(Audience::Members);
    }

    // 2. Collection reconciliation: one root digest per audience, narrowing only on difference.
    let both_members = audiences.contains(&Audience::Members);
    report.round_trips += 1;
    let (theirs_fed, theirs_members) = match link
        .request(digest_request(&replica, federation, both_members))
        .await?
    {
        SyncResponse::Digest {
            federation,
            members,
        } => (federation, members),
        other => return Err(unexpected(other)),
    };
    let (ours_fed, ours_members) = replica.digests();
    let mut to_sync: BTreeSet<DocId> = BTreeSet::new();
    let mut differing_audiences = 0;
    for audience in audiences {
        let (ours, theirs) = match audience {
            Audience::Federation => (ours_fed, Some(theirs_fed)),
            Audience::Members => (ours_members, theirs_members),
        };
        if Some(ours) == theirs {
            continue;
        }
        differing_audiences += 1;
        report.round_trips += 1;
        let their_buckets = match link
            .request(SyncRequest::Buckets {
                federation,
                audience,
            })
            .await?
        {
            SyncResponse::Buckets { buckets } => buckets,
            other => return Err(unexpected(other)),
        };
        let buckets = differing_buckets(&replica.bucket_digests(audience), &their_buckets);
        if buckets.is_empty() {
            continue;
        }
        report.round_trips += 1;
        let their_items = match link
            .request(SyncRequest::Items {
                federation,
                audience,
                buckets: buckets.clone(),
            })
            .await?
        {
            SyncResponse::Items { items } => items,
            other => return Err(unexpected(other)),
        };
        let ours = replica.bucket_items(audience, &buckets);
        report.docs_compared += ours.len().max(their_items.len());
        to_sync.extend(differing_docs(&ours, &their_items));
    }

    // 3. Documents, in batches, automerge sync until both sides have nothing more to say.
    let docs: Vec<DocId> = to_sync.into_iter().collect();
    for batch in docs.chunks(DOC_BATCH) {
        let mut open: Vec<DocId> = batch.to_vec();
        for _ in 0..MAX_DOC_ROUNDS {
            let r = replica.clone();
            let ids = open.clone();
            let (outgoing, deferred) =
                blocking(move || generate_within_budget(&r, &peer, &ids)).await?;
            // A document of ours that did not fit this round is sent next round: it is not in
            // `outgoing`, so not idle, so it stays open.
            let idle_ours: BTreeSet<DocId> = outgoing
                .iter()
                .filter(|m| m.message.is_none())
                .map(|m| m.doc)
                .collect();
            report.deferred += deferred.len();
            report.round_trips += 1;
            let replies = match link
                .request(SyncRequest::Docs {
                    federation,
                    docs: outgoing,
                })
                .await?
            {
                SyncResponse::Docs { docs } => docs,
                other => return Err(unexpected(other)),
            };
            if replies.len() > MAX_DOCS_PER_MESSAGE
                || replies.iter().any(|m| !open.contains(&m.doc))
            {
                return Err(SessionError::Offence(
                    "reply names documents not asked about".into(),
                ));
            }
            let idle_theirs: BTreeSet<DocId> = replies
                .iter()
                .filter(|m| m.message.is_none())
                .map(|m| m.doc)
                .collect();
            let r = replica.clone();
            let applied = blocking(move || {
                let (mut applied, mut last) = (0, None);
                for m in replies {
                    let (received, ticket) =
                        r.sync_receive_unflushed(&peer, Channel::Initiated, m)?;
                    applied += received.applied;
                    last = ticket.or(last);
                }
                // One fsync for the batch.
                if let Some(ticket) = last {
                    r.wait_durable(ticket)?;
                }
                Ok(applied)
            })
            .await
            .map_err(|e| match e {
                ReplicaError::Rejected(r) => SessionError::Offence(r.to_string()),
                ReplicaError::BadMessage(m) => SessionError::Offence(m),
                other => other.into(),
            })?;
            report.changes_applied += applied;
            open.retain(|d| !(idle_ours.contains(d) && idle_theirs.contains(d)));
            if open.is_empty() {
                break;
            }
        }
        report.unsynced += open.len();
    }

    if docs.is_empty() && differing_audiences == 0 {
        // Equal digests at the start and nothing to do: in sync at the cost of one digest.
        report.in_sync = true;
        return Ok(report);
    }

    report.round_trips += 1;
    if let SyncResponse::Digest {
        federation: f,
        members,
    } = link
        .request(digest_request(&replica, federation, both_members))
        .await?
    {
        let (of, om) = replica.digests();
        report.in_sync = f == of && (members.is_none() || members == Some(om));
    }
    Ok(report)
}

/// Asks `link`'s peer where the roster nodes are whose addresses we do not know, if there are
/// any (`None` without a request otherwise). A node learns addresses this way whether or not it
/// starts the sessions with that peer (see `net::syncer`): the nodes two others joined through
/// are often the only ones that know where both are.
pub async fn learn_addresses(
    replica: &Replica,
    peer: NodeId,
    link: &impl Link,
) -> Result<Option<Vec<(NodeId, Vec<String>)>>, SessionError> {
    let federation = replica.federation_id().ok_or(ReplicaError::NoFederation)?;
    let known: BTreeSet<NodeId> = replica
        .store()
        .address_book()
        .unwrap_or_default()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let unknown = replica.roster_state().is_some_and(|s| {
        s.active()
            .any(|m| m.node != replica.node_id() && m.node != peer && !known.contains(&m.node))
    });
    if !unknown {
        return Ok(None);
    }
    match link.request(SyncRequest::Addresses { federation }).await? {
        SyncResponse::Addresses { peers } => Ok(Some(
            peers
                .into_iter()
                .filter(|(n, _)| replica.peer_role(n).is_some() && *n != replica.node_id())
                .map(|(n, mut a)| {
                    a.truncate(copnet_protocol::wire::MAX_ADDRESSES_PER_PEER);
                    (n, a)
                })
                .collect(),
        )),
        other => Err(unexpected(other)),
    }
}

/// A `Digest` request carrying our own digests (`members` only when both sides are members).
fn digest_request(replica: &Replica, federation: FederationId, both_members: bool) -> SyncRequest {
    let (fed, members) = replica.digests();
    SyncRequest::Digest {
        federation,
        asker: Some((fed, both_members.then_some(members))),
    }
}

/// Whether `req` is a `Digest` request of our federation whose asker holds exactly what we hold
/// of everything the two may share: the session `peer` runs found us in sync, which our own
/// status then shows without waiting for a session of ours (see `net::syncer`).
pub fn asker_in_sync(replica: &Replica, peer: &NodeId, req: &SyncRequest) -> bool {
    let SyncRequest::Digest {
        federation,
        asker: Some((fed, members)),
    } = req
    else {
        return false;
    };
    let (ours_fed, ours_members) = replica.digests();
    replica.federation_id() == Some(*federation)
        && *fed == ours_fed
        && (!both_members(replica, peer) || *members == Some(ours_members))
}

/// Whether `peer` and this node are both members: only then is the `members` collection shared.
pub(crate) fn both_members(replica: &Replica, peer: &NodeId) -> bool {
    replica.peer_role(peer) == Some(Role::Member) && replica.own_role() == Some(Role::Member)
}

/// Sends `link`'s peer the roster ops it lacks (the roster step of a session, alone). Used to
/// deliver a departure: to the nodes of a node that leaves, and to a node that was removed.
pub async fn deliver_roster(replica: &Replica, link: &impl Link) -> Result<(), SessionError> {
    let federation = replica.federation_id().ok_or(ReplicaError::NoFederation)?;
    let heads = match link
        .request(SyncRequest::Roster {
            federation,
            heads: replica.roster_heads(),
        })
        .await?
    {
        SyncResponse::RosterOps { heads, .. } => heads,
        other => return Err(unexpected(other)),
    };
    let ops = replica.roster_ops_for(&heads);
    if ops.is_empty() {
        return Ok(());
    }
    match link
        .request(SyncRequest::RosterPush { federation, ops })
        .await?
    {
        SyncResponse::Ack => Ok(()),
        other => Err(unexpected(other)),
    }
}

fn refused(code: RefusalCode, message: impl Into<String>) -> SyncResponse {
    SyncResponse::Refused {
        code,
        message: message.into(),
    }
}

/// Answers one sync request from `peer`. Blocking: run it on the blocking pool. Every request is
/// gated: only active roster members and peripherals get an answer, and only about what they may
/// read. Returns the response and whether the request was an offence: invalid content or a
/// malformed request. Refused reads are not offences; they are simply refused.
pub fn respond(replica: &Replica, peer: &NodeId, req: SyncRequest) -> (SyncResponse, bool) {
    let Some(role) = replica.peer_role(peer) else {
        return (
            refused(
                RefusalCode::NotInRoster,
                "not an active member of this federation",
            ),
            false,
        );
    };
    let Some(federation) = replica.federation_id() else {
        return (
            refused(RefusalCode::NotInRoster, "not in a federation"),
            false,
        );
    };
    let named = match &req {
        SyncRequest::Roster { federation, .. }
        | SyncRequest::RosterPush { federation, .. }
        | SyncRequest::Digest { federation, .. }
        | SyncRequest::Buckets { federation, .. }
        | SyncRequest::Items { federation, .. }
        | SyncRequest::Docs { federation, .. }
        | SyncRequest::Addresses { federation } => *federation,
    };
    if named != federation {
        return (
            refused(RefusalCode::WrongFederation, "another federation"),
            true,
        );
    }
    match req {
        SyncRequest::Roster { heads, .. } => {
            // Every session starts with the roster: a new conversation (see `run`).
            replica.begin_conversation(peer, Channel::Answered);
            (
                SyncResponse::RosterOps {
                    ops: replica.roster_ops_for(&heads),
                    heads: replica.roster_heads(),
                },
                false,
            )
        }
        SyncRequest::RosterPush { ops, .. } => {
            if ops.len() > MAX_OPS_PER_MESSAGE {
                return (refused(RefusalCode::BadRequest, "too many ops"), true);
            }
            match replica.apply_roster_ops(ops) {
                Ok(_) => (SyncResponse::Ack, false),
                Err(ReplicaError::BadMessage(m)) => (refused(RefusalCode::BadRequest, m), true),
                Err(e) => (refused(RefusalCode::Internal, e.to_string()), false),
            }
        }
        SyncRequest::Digest { .. } => {
            let (f, m) = replica.digests();
            let members = both_members(replica, peer).then_some(m);
            (
                SyncResponse::Digest {
                    federation: f,
                    members,
                },
                false,
            )
        }
        SyncRequest::Buckets { audience, .. } => {
            if !may_read(role, audience) {
                return (refused(RefusalCode::Forbidden, "members only"), false);
            }
            (
                SyncResponse::Buckets {
                    buckets: replica.bucket_digests(audience),
                },
                false,
            )
        }
        SyncRequest::Items {
            audience, buckets, ..
        } => {
            if !may_read(role, audience) {
                return (refused(RefusalCode::Forbidden, "members only"), false);
            }
            if buckets.len() > copnet_protocol::collection::BUCKETS {
                return (refused(RefusalCode::BadRequest, "too many buckets"), true);
            }
            (
                SyncResponse::Items {
                    items: replica.bucket_items(audience, &buckets),
                },
                false,
            )
        }
        SyncRequest::Addresses { .. } => {
            let peers = replica
                .store()
                .address_book()
                .unwrap_or_default()
                .into_iter()
                .filter(|(n, _)| n != peer && replica.peer_role(n).is_some())
                .collect();
            (SyncResponse::Addresses { peers }, false)
        }
        SyncRequest::Docs { docs, .. } => {
            if docs.len() > MAX_DOCS_PER_MESSAGE {
                return (refused(RefusalCode::BadRequest, "too many documents"), true);
            }
            let mut replies = Vec::with_capacity(docs.len());
            let mut used = 0usize;
            let mut last_ticket = None;
            for m in docs {
                let doc = m.doc;
                match replica.sync_receive_unflushed(peer, Channel::Answered, m) {
                    Ok((_, ticket)) => last_ticket = ticket.or(last_ticket),
                    Err(ReplicaError::Forbidden(_)) => {
                        // Asked about a document it may not read: answer as if we had none.
                        replies.push(DocSyncMessage {
                            doc,
                            message: None,
                            signatures: vec![],
                        });
                        continue;
                    }
                    Err(e @ (ReplicaError::Rejected(_) | ReplicaError::BadMessage(_))) => {
                        tracing::warn!(from = %peer.fmt_short(), %doc, error = %e, "refused a sync message");
                        return (refused(RefusalCode::InvalidChange, e.to_string()), true);
                    }
                    Err(e) => return (refused(RefusalCode::Internal, e.to_string()), false),
                }
                // Over the budget, a document is left out of the reply: "later".
                let budget = if used == 0 {
                    usize::MAX
                } else {
                    MESSAGE_BUDGET.saturating_sub(used)
                };
                match replica.sync_generate_within(peer, &doc, Channel::Answered, budget) {
                    Ok(Some(reply)) => {
                        used += reply.message.as_ref().map_or(0, Vec::len)
                            + reply.signatures.len() * 96;
                        replies.push(reply);
                    }
                    Ok(None) => {}
                    Err(e) => return (refused(RefusalCode::Internal, e.to_string()), false),
                }
            }
            // What we received is on disk before we answer: one fsync for the request.
            if let Some(ticket) = last_ticket
                && let Err(e) = replica.wait_durable(ticket)
            {
                return (refused(RefusalCode::Internal, e.to_string()), false);
            }
            (SyncResponse::Docs { docs: replies }, false)
        }
    }
}
