//! The wire protocol (see PROTOCOL.md): every message two nodes exchange, and the invite token.
//!
//! Messages are postcard-encoded and framed by the transport with a length prefix. Every size is
//! bounded here, and every decoder runs on hostile input: decoding never trusts a length it has not
//! checked against these limits.

use serde::{Deserialize, Serialize};

use crate::collection::{ItemHash, SetDigest};
use crate::docs::Audience;
use crate::ids::{DocId, FederationId, NodeId, OpHash};
use crate::keys::{self, Domain, NodeKey, Signature};
use crate::roster::{Profile, Role, SignedRosterOp};

/// Protocol id of the sync protocol (roster, collection, documents).
pub const SYNC_PROTOCOL: &str = "/copnet/sync/1";
/// Protocol id of the join protocol, the only one open to peers outside the roster.
pub const JOIN_PROTOCOL: &str = "/copnet/join/1";
/// Largest sync or join message, either direction.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
/// Largest join request: a proof and a profile. The join protocol is open to peers outside the
/// roster, so its requests get a far smaller bound than sync messages.
pub const MAX_JOIN_REQUEST_BYTES: usize = 64 * 1024;
/// Most roster ops in one message.
pub const MAX_OPS_PER_MESSAGE: usize = 10_000;
/// Most documents synced in one `Docs` request.
pub const MAX_DOCS_PER_MESSAGE: usize = 256;
/// Most addresses per peer in an `Addresses` answer.
pub const MAX_ADDRESSES_PER_PEER: usize = 16;
/// Largest gossip announcement.
pub const MAX_ANNOUNCE_BYTES: usize = 4 * 1024;

/// One document's automerge sync message, with a signature for every change it carries.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct DocSyncMessage {
    pub doc: DocId,
    /// An `automerge::sync::Message`, encoded. `None` when the sender has nothing to say.
    pub message: Option<Vec<u8>>,
    /// `(change hash, author's signature)` for each change the message carries.
    pub signatures: Vec<([u8; 32], Signature)>,
}

/// Requests of `/copnet/sync/1`. Only active roster members and peripheral nodes may send them.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum SyncRequest {
    /// "These are my roster heads; send me the ops I lack."
    Roster {
        federation: FederationId,
        heads: Vec<OpHash>,
    },
    /// "Here are roster ops you may lack" (sent on every new local op).
    RosterPush {
        federation: FederationId,
        ops: Vec<SignedRosterOp>,
    },
    /// "What are your collection digests?" Each node answers only for the audiences the asker
    /// may read. `asker` carries the asker's own digests (`members` only when both are members),
    /// so that the responder also learns when the two are in sync.
    Digest {
        federation: FederationId,
        asker: Option<(SetDigest, Option<SetDigest>)>,
    },
    /// "Your 256 bucket digests for this audience."
    Buckets {
        federation: FederationId,
        audience: Audience,
    },
    /// "The items in these buckets."
    Items {
        federation: FederationId,
        audience: Audience,
        buckets: Vec<u8>,
    },
    /// One step of automerge sync for several documents.
    Docs {
        federation: FederationId,
        docs: Vec<DocSyncMessage>,
    },
    /// "Where can I reach the other nodes of the roster?" (peer exchange, so that nodes admitted
    /// by different members find each other).
    Addresses { federation: FederationId },
}

/// Responses of `/copnet/sync/1`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum SyncResponse {
    /// The ops the asker lacks, and the responder's heads so the asker can push what it lacks.
    RosterOps {
        ops: Vec<SignedRosterOp>,
        heads: Vec<OpHash>,
    },
    Ack,
    Digest {
        federation: SetDigest,
        /// `None` when the asker may not read `members` documents.
        members: Option<SetDigest>,
    },
    Buckets {
        buckets: Vec<SetDigest>,
    },
    Items {
        items: Vec<(DocId, ItemHash)>,
    },
    Docs {
        docs: Vec<DocSyncMessage>,
    },
    /// Known multiaddrs of active roster nodes.
    Addresses {
        peers: Vec<(NodeId, Vec<String>)>,
    },
    /// The request was refused; `code` is machine-readable, `message` is for logs.
    Refused {
        code: RefusalCode,
        message: String,
    },
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalCode {
    /// The asker is not an active member or peripheral node of this federation.
    NotInRoster,
    /// The request names another federation.
    WrongFederation,
    /// The asker may not read what it asked for.
    Forbidden,
    /// The request is malformed or over a limit.
    BadRequest,
    /// A carried change failed the validity rule.
    InvalidChange,
    /// The responder is overloaded; retry later.
    Busy,
    /// Anything else.
    Internal,
}

/// `/copnet/join/1` request: a joiner proves it holds an invite secret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct JoinRequest {
    pub federation: FederationId,
    pub invite_key: [u8; 32],
    pub profile: Profile,
    /// `sign(invite_secret, Domain::Invite, federation ‖ joiner)`; the joiner is the
    /// transport-authenticated peer.
    pub proof: Signature,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum JoinResponse {
    /// Admitted: the whole roster, including the new `Admit`.
    Admitted {
        ops: Vec<SignedRosterOp>,
    },
    Refused {
        code: JoinRefusal,
        message: String,
    },
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinRefusal {
    UnknownInvite,
    AlreadyUsed,
    Expired,
    BadProof,
    WrongFederation,
    /// The node asked cannot admit (it is peripheral, or no longer a member).
    CannotAdmit,
    AlreadyMember,
    /// The node asked has too many joins in progress; try again shortly.
    Busy,
}

/// Gossiped on the federation's topic when a node's roster or documents change. Carries digests
/// only, never content or document ids.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Announce {
    pub federation: FederationId,
    pub roster_heads: Vec<OpHash>,
    pub federation_digest: SetDigest,
    pub members_digest: SetDigest,
}

/// The gossipsub topic of a federation.
pub fn announce_topic(federation: &FederationId) -> String {
    format!("copnet/{federation}/announce/1")
}

/// What an invite token says.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct InviteBody {
    pub federation: FederationId,
    pub federation_name: String,
    /// The one-time invite secret.
    pub secret: [u8; 32],
    pub role: Role,
    pub issuer: NodeId,
    pub issuer_org: String,
    pub expires_at_ms: u64,
    /// Multiaddrs of the issuer (with `/p2p/<issuer>`), as text.
    pub addrs: Vec<String>,
}

/// An invite as one copy-pasteable string: `copnet-invite-` + base58(postcard(body, signature)).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct InviteToken {
    pub body: InviteBody,
    /// The issuer's signature over the encoded body, so a tampered token is detected before
    /// anything is dialled.
    pub signature: Signature,
}

pub const INVITE_PREFIX: &str = "copnet-invite-";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("this is not a copnet invite (it should start with {INVITE_PREFIX})")]
    NotAnInvite,
    #[error("the invite is damaged (was it copied whole?)")]
    Damaged,
    #[error("the invite's signature does not match its issuer: it was altered or forged")]
    Forged,
}

impl InviteToken {
    pub fn issue(body: InviteBody, issuer: &NodeKey) -> Self {
        let bytes = postcard::to_allocvec(&body).expect("invite bodies encode");
        Self {
            signature: issuer.sign(Domain::InviteToken, &bytes),
            body,
        }
    }

    pub fn encode(&self) -> String {
        let bytes = postcard::to_allocvec(self).expect("invite tokens encode");
        format!("{INVITE_PREFIX}{}", bs58::encode(bytes).into_string())
    }

    /// Parses and checks the issuer's signature.
    pub fn decode(s: &str) -> Result<Self, TokenError> {
        let body = s
            .trim()
            .strip_prefix(INVITE_PREFIX)
            .ok_or(TokenError::NotAnInvite)?;
        if body.len() > 8 * 1024 {
            return Err(TokenError::Damaged);
        }
        let bytes = bs58::decode(body)
            .into_vec()
            .map_err(|_| TokenError::Damaged)?;
        let token: InviteToken = postcard::from_bytes(&bytes).map_err(|_| TokenError::Damaged)?;
        let signed = postcard::to_allocvec(&token.body).map_err(|_| TokenError::Damaged)?;
        keys::verify(
            &token.body.issuer,
            Domain::InviteToken,
            &signed,
            &token.signature,
        )
        .map_err(|_| TokenError::Forged)?;
        Ok(token)
    }

    /// The invite's public key (announced in the roster's `Invite` op).
    pub fn invite_key(&self) -> [u8; 32] {
        *NodeKey::from_secret_bytes(self.body.secret)
            .node_id()
            .as_bytes()
    }

    /// The joiner's proof of holding the invite secret.
    pub fn proof_for(&self, joiner: &NodeId) -> Signature {
        NodeKey::from_secret_bytes(self.body.secret).sign(
            Domain::Invite,
            &crate::roster::invite_proof_message(&self.body.federation, joiner),
        )
    }
}

/// Encodes a wire message.
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    postcard::to_allocvec(msg).expect("wire messages encode")
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message of {0} bytes is over the limit")]
    TooLarge(usize),
    #[error("message does not decode: {0}")]
    Malformed(String),
}

/// Decodes a wire message, refusing anything over [`MAX_MESSAGE_BYTES`].
pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, DecodeError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(DecodeError::TooLarge(bytes.len()));
    }
    postcard::from_bytes(bytes).map_err(|e| DecodeError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(issuer: &NodeKey) -> InviteBody {
        InviteBody {
            federation: FederationId([1; 32]),
            federation_name: "Prairie youth justice CoP".into(),
            secret: [9; 32],
            role: Role::Peripheral,
            issuer: issuer.node_id(),
            issuer_org: "Issuer".into(),
            expires_at_ms: 99,
            addrs: vec!["/ip4/127.0.0.1/tcp/4001".into()],
        }
    }

    #[test]
    fn invite_tokens_round_trip_and_detect_tampering() {
        let issuer = NodeKey::generate();
        let token = InviteToken::issue(body(&issuer), &issuer);
        let s = token.encode();
        assert_eq!(InviteToken::decode(&s).unwrap(), token);
        assert_eq!(InviteToken::decode("hello"), Err(TokenError::NotAnInvite));
        assert_eq!(
            InviteToken::decode(&format!("{INVITE_PREFIX}0OIl")),
            Err(TokenError::Damaged)
        );
        let mut forged = token.clone();
        forged.body.role = Role::Member;
        assert_eq!(
            InviteToken::decode(&forged.encode()),
            Err(TokenError::Forged)
        );
    }

    #[test]
    fn decoding_refuses_oversized_and_malformed_messages() {
        let big = vec![0u8; MAX_MESSAGE_BYTES + 1];
        assert!(matches!(
            decode::<SyncRequest>(&big),
            Err(DecodeError::TooLarge(_))
        ));
        assert!(matches!(
            decode::<SyncRequest>(&[0xff, 0xff]),
            Err(DecodeError::Malformed(_))
        ));
        // A length prefix claiming a huge vector must fail, not allocate.
        let mut lie = vec![5u8]; // Docs variant
        lie.extend_from_slice(&[0; 32]);
        lie.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(decode::<SyncRequest>(&lie).is_err());
    }
}
