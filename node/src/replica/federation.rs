//! Membership operations of this node: invites, admitting a joiner, leaving, removing.
//!
//! Each appends one signed roster op; the fold (`copnet_protocol::roster`) decides what it means.

use copnet_protocol::roster::{MemberStatus, invite_proof_message};
use copnet_protocol::wire::{InviteBody, InviteToken, JoinRefusal, JoinRequest};
use copnet_protocol::{
    Domain, NodeId, NodeKey, OpHash, Role, RosterOp, RosterOpBody, SignedRosterOp, keys,
};
use serde::Serialize;

use super::{Replica, ReplicaError, ReplicaEvent, Result, now_ms};
use crate::store::WriteBatch;
use crate::validate::InputError;

/// Longest an invite may stay valid.
pub const MAX_INVITE_TTL_MS: u64 = 30 * 24 * 3600 * 1000;

/// Where a removal stands after this node's vote.
#[derive(Debug, Clone, Serialize)]
pub struct RemovalStatus {
    pub proposal: OpHash,
    pub target: NodeId,
    /// `proposed`, `endorsed` or `removed`.
    pub outcome: &'static str,
    pub votes: usize,
    pub electorate: usize,
}

/// An invite this node issued, as listed to its admins.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedInvite {
    /// The invite's public key, hex: names it for revocation.
    pub key: String,
    pub role: Role,
    pub expires_at_ms: u64,
    /// `open`, `expired` or `revoked`.
    pub state: &'static str,
}

impl Replica {
    /// Appends one op by this node citing the current heads, durably.
    fn append_op(&self, body: RosterOpBody) -> Result<(OpHash, SignedRosterOp)> {
        let (hash, signed, ticket) = {
            let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            let mut guard = self.roster.write().unwrap_or_else(|e| e.into_inner());
            let log = guard.as_mut().ok_or(ReplicaError::NoFederation)?;
            let op = RosterOp {
                federation: Some(log.federation()),
                author: self.node_id,
                parents: log.heads(),
                created_at_ms: now_ms().max(0) as u64,
                body,
            };
            let signed = op.sign(&self.key);
            let verified = signed.verify().expect("own op verifies");
            let hash = verified.hash;
            log.insert(verified)
                .map_err(|e| ReplicaError::BadMessage(e.to_string()))?;
            let mut batch = WriteBatch::new();
            batch.put_roster_op(&hash, &signed);
            (hash, signed, self.store.apply(batch)?)
        };
        self.store.wait_durable(ticket)?;
        self.emit(ReplicaEvent::RosterChanged);
        Ok((hash, signed))
    }

    fn require_member(&self) -> Result<()> {
        match self.own_role() {
            Some(Role::Member) => Ok(()),
            Some(Role::Peripheral) => Err(ReplicaError::ReadOnly),
            None if self.roster_state().is_none() => Err(ReplicaError::NoFederation),
            None => Err(ReplicaError::NotActive),
        }
    }

    /// Creates a one-time invite and returns its token. `addrs` are this node's dialable
    /// multiaddrs (with `/p2p/<id>`).
    pub fn create_invite(
        &self,
        role: Role,
        ttl_ms: u64,
        addrs: Vec<String>,
    ) -> Result<InviteToken> {
        self.require_member()?;
        if ttl_ms == 0 || ttl_ms > MAX_INVITE_TTL_MS {
            return Err(InputError("an invite may last at most 30 days".into()).into());
        }
        if addrs.is_empty() {
            return Err(ReplicaError::Forbidden(
                "this node is not listening on any address a joiner could dial".into(),
            ));
        }
        let secret: [u8; 32] = rand::random();
        let invite_key = *NodeKey::from_secret_bytes(secret).node_id().as_bytes();
        let expires_at_ms = now_ms().max(0) as u64 + ttl_ms;
        self.append_op(RosterOpBody::Invite {
            invite_key,
            role,
            expires_at_ms,
        })?;
        let state = self.roster_state().ok_or(ReplicaError::NoFederation)?;
        Ok(InviteToken::issue(
            InviteBody {
                federation: state.federation,
                federation_name: state.name.clone(),
                secret,
                role,
                issuer: self.node_id,
                issuer_org: self.profile.org.clone(),
                expires_at_ms,
                addrs,
            },
            &self.key,
        ))
    }

    /// The invites this node issued that nobody has used, newest first: open ones, and the
    /// expired or revoked ones still listed so that people can see what happened to them.
    pub fn invites(&self) -> Vec<IssuedInvite> {
        let Some(state) = self.roster_state() else {
            return vec![];
        };
        let now = now_ms().max(0) as u64;
        let mut out: Vec<IssuedInvite> = state
            .invites
            .iter()
            .filter(|(_, i)| i.issuer == self.node_id && i.used_by.is_none())
            .map(|(key, i)| IssuedInvite {
                key: hex::encode(key),
                role: i.role,
                expires_at_ms: i.expires_at_ms,
                state: if i.revoked {
                    "revoked"
                } else if now >= i.expires_at_ms {
                    "expired"
                } else {
                    "open"
                },
            })
            .collect();
        out.sort_by_key(|i| std::cmp::Reverse(i.expires_at_ms));
        out
    }

    /// Withdraws an unused invite this node issued (given by its key, hex). Nodes that have not
    /// yet seen the revocation could still admit with it until the roster reaches them.
    pub fn revoke_invite(&self, key: &str) -> Result<()> {
        self.require_member()?;
        let parsed: [u8; 32] = hex::decode(key.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| InputError(format!("{key:?} is not an invite key (64 hex digits)")))?;
        let state = self.roster_state().ok_or(ReplicaError::NoFederation)?;
        let Some(invite) = state.invite(&parsed) else {
            return Err(ReplicaError::NotFound {
                kind: "invite",
                id: key.trim().to_owned(),
            });
        };
        if invite.issuer != self.node_id {
            return Err(ReplicaError::Forbidden(
                "only the organisation that issued an invite can revoke it".into(),
            ));
        }
        if invite.used_by.is_some() {
            return Err(InputError("this invite has already been used".into()).into());
        }
        if invite.revoked {
            return Ok(());
        }
        self.append_op(RosterOpBody::RevokeInvite { invite_key: parsed })?;
        tracing::info!(invite = %key, "invite revoked");
        Ok(())
    }

    /// Admits `joiner` (the transport-authenticated peer) if its request proves a live invite.
    /// Returns the whole roster including the new `Admit`.
    pub fn admit(
        &self,
        joiner: &NodeId,
        req: &JoinRequest,
    ) -> std::result::Result<Vec<SignedRosterOp>, (JoinRefusal, String)> {
        let refuse = |code, msg: &str| Err((code, msg.to_owned()));
        let Some(fed) = self.federation_id() else {
            return refuse(JoinRefusal::CannotAdmit, "this node is not in a federation");
        };
        if req.federation != fed {
            return refuse(
                JoinRefusal::WrongFederation,
                "the invite is for another federation",
            );
        }
        if self.own_role() != Some(Role::Member) {
            return refuse(
                JoinRefusal::CannotAdmit,
                "this node cannot admit anyone (it is not a member)",
            );
        }
        if keys::verify_with_key(
            &req.invite_key,
            Domain::Invite,
            &invite_proof_message(&fed, joiner),
            &req.proof,
        )
        .is_err()
        {
            return refuse(JoinRefusal::BadProof, "the invite proof does not verify");
        }
        let profile_ok = !req.profile.org.trim().is_empty() && req.profile.org.len() <= 200;
        if !profile_ok {
            return refuse(
                JoinRefusal::BadProof,
                "the joiner must name its organisation",
            );
        }
        let state = self.roster_state().expect("in a federation");
        let Some(invite) = state.invite(&req.invite_key) else {
            return refuse(
                JoinRefusal::UnknownInvite,
                "this federation has no such invite",
            );
        };
        if invite.used_by.is_some() {
            return refuse(
                JoinRefusal::AlreadyUsed,
                "this invite has already been used",
            );
        }
        if invite.revoked {
            return refuse(
                JoinRefusal::Expired,
                "this invite was revoked by the organisation that issued it; ask for a new one",
            );
        }
        // Expiry is judged by the admitting node's clock (DESIGN §3).
        if (now_ms().max(0) as u64) >= invite.expires_at_ms {
            return refuse(
                JoinRefusal::Expired,
                "this invite has expired; ask for a new one",
            );
        }
        if state.is_active(joiner) {
            return refuse(JoinRefusal::AlreadyMember, "this node is already a member");
        }
        let result = self.append_op(RosterOpBody::Admit {
            invite_key: req.invite_key,
            joiner: *joiner,
            profile: req.profile.clone(),
            proof: req.proof,
        });
        if let Err(e) = result {
            return Err((JoinRefusal::CannotAdmit, e.to_string()));
        }
        let after = self.roster_state().expect("in a federation");
        if !after.is_active(joiner) {
            return refuse(JoinRefusal::AlreadyUsed, "the invite was used concurrently");
        }
        tracing::info!(joiner = %joiner, org = %req.profile.org, "admitted a new organisation");
        Ok(self.roster_ops())
    }

    /// Publishes this node's `Leave`. The caller delivers it to peers and stops syncing.
    pub fn leave(&self) -> Result<SignedRosterOp> {
        if self.own_role().is_none() {
            return Err(if self.roster_state().is_none() {
                ReplicaError::NoFederation
            } else {
                ReplicaError::NotActive
            });
        }
        Ok(self.append_op(RosterOpBody::Leave)?.1)
    }

    /// Proposes removing `target`, or endorses the pending proposal against it.
    pub fn remove(&self, target: &NodeId, reason: &str) -> Result<RemovalStatus> {
        self.require_member()?;
        let reason = crate::validate::required_text("reason", reason, 1_000)?;
        if *target == self.node_id {
            return Err(InputError(
                "to take your own node out, use `copnet federation leave`".into(),
            )
            .into());
        }
        let state = self.roster_state().ok_or(ReplicaError::NoFederation)?;
        match state.member(target) {
            Some(m) if m.status == MemberStatus::Active => {}
            Some(_) => {
                return Err(InputError(format!("{target} is no longer in the federation")).into());
            }
            None => {
                return Err(ReplicaError::NotFound {
                    kind: "member",
                    id: target.to_string(),
                });
            }
        }
        let pending = state
            .proposals
            .iter()
            .find(|(_, p)| p.target == *target && !p.carried)
            .map(|(h, p)| (*h, p.endorsers.contains(&self.node_id)));
        let (proposal, outcome) = match pending {
            Some((h, true)) => (h, "endorsed"),
            Some((h, false)) => {
                self.append_op(RosterOpBody::Endorse { proposal: h })?;
                (h, "endorsed")
            }
            None => {
                let (h, _) = self.append_op(RosterOpBody::ProposeRemoval {
                    target: *target,
                    reason,
                })?;
                (h, "proposed")
            }
        };
        let after = self.roster_state().ok_or(ReplicaError::NoFederation)?;
        let p = &after.proposals[&proposal];
        let electorate = after.electorate(target);
        let votes = after.votes(p);
        Ok(RemovalStatus {
            proposal,
            target: *target,
            outcome: if p.carried { "removed" } else { outcome },
            votes,
            electorate: electorate.len(),
        })
    }
}
