//! Node keys and domain-separated signatures (DESIGN §2).
//!
//! A node has exactly one ed25519 key. It is the libp2p identity, it signs every roster op and
//! every automerge change the node makes, and it prefixes the node's automerge actor ids. Every
//! signature is made over `tag || 0x00 || message` where the tag names what is being signed, so a
//! signature over a change hash can never be presented as a signature over a roster op.

use std::fmt;

use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Serialize};

use crate::ids::NodeId;

/// What a signature is for. Each domain has its own tag; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    /// An automerge change hash.
    Change,
    /// A roster op payload hash.
    Roster,
    /// A joiner's proof that it holds an invite secret.
    Invite,
    /// An issuer's signature over an invite token.
    InviteToken,
}

impl Domain {
    pub fn tag(self) -> &'static [u8] {
        match self {
            Self::Change => b"copnet/change/v1",
            Self::Roster => b"copnet/roster/v1",
            Self::Invite => b"copnet/invite/v1",
            Self::InviteToken => b"copnet/invite-token/v1",
        }
    }

    /// The exact bytes that get signed.
    pub fn signing_input(self, message: &[u8]) -> Vec<u8> {
        let tag = self.tag();
        let mut v = Vec::with_capacity(tag.len() + 1 + message.len());
        v.extend_from_slice(tag);
        v.push(0);
        v.extend_from_slice(message);
        v
    }
}

/// An ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature(#[serde(with = "crate::serde_bytes")] pub [u8; 64]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({}…)", &hex::encode(&self.0[..6]))
    }
}

/// A signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signature does not verify")]
pub struct SignatureError;

/// A node's secret key. Its `Debug` shows only the public id, and the secret is wiped on drop.
pub struct NodeKey(SigningKey);

impl NodeKey {
    pub fn generate() -> Self {
        Self::from_secret_bytes(rand::random())
    }

    pub fn from_secret_bytes(secret: [u8; 32]) -> Self {
        Self(SigningKey::from_bytes(&secret))
    }

    /// The secret, for writing the identity file. Handle with care.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn node_id(&self) -> NodeId {
        NodeId::from_public_key(self.0.verifying_key().to_bytes())
            .expect("a signing key's public key is a valid point")
    }

    pub fn sign(&self, domain: Domain, message: &[u8]) -> Signature {
        Signature(self.0.sign(&domain.signing_input(message)).to_bytes())
    }
}

impl fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeKey({})", self.node_id())
    }
}

/// Checks `sig` over `message` in `domain` by `signer`. Uses strict verification, which rejects
/// small-order keys and non-canonical signatures, so a signature cannot be mauled into another
/// valid one.
pub fn verify(
    signer: &NodeId,
    domain: Domain,
    message: &[u8],
    sig: &Signature,
) -> Result<(), SignatureError> {
    verify_raw(&signer.verifying_key(), domain, message, sig)
}

/// [`verify`] for a raw public key that is not a node (an invite key).
pub fn verify_with_key(
    key: &[u8; 32],
    domain: Domain,
    message: &[u8],
    sig: &Signature,
) -> Result<(), SignatureError> {
    let vk = ed25519_dalek::VerifyingKey::from_bytes(key).map_err(|_| SignatureError)?;
    verify_raw(&vk, domain, message, sig)
}

fn verify_raw(
    vk: &ed25519_dalek::VerifyingKey,
    domain: Domain,
    message: &[u8],
    sig: &Signature,
) -> Result<(), SignatureError> {
    let sig = ed25519_dalek::Signature::from_bytes(&sig.0);
    vk.verify_strict(&domain.signing_input(message), &sig)
        .map_err(|_| SignatureError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_in_its_own_domain() {
        let key = NodeKey::generate();
        let msg = [42u8; 32];
        let sig = key.sign(Domain::Change, &msg);
        assert!(verify(&key.node_id(), Domain::Change, &msg, &sig).is_ok());
        for other in [Domain::Roster, Domain::Invite, Domain::InviteToken] {
            assert_eq!(
                verify(&key.node_id(), other, &msg, &sig),
                Err(SignatureError),
                "a change signature must not verify as {other:?}"
            );
        }
    }

    #[test]
    fn a_signature_does_not_verify_under_another_key_or_message() {
        let (a, b) = (NodeKey::generate(), NodeKey::generate());
        let sig = a.sign(Domain::Roster, b"op");
        assert!(verify(&b.node_id(), Domain::Roster, b"op", &sig).is_err());
        assert!(verify(&a.node_id(), Domain::Roster, b"oq", &sig).is_err());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = NodeKey::from_secret_bytes([0xab; 32]);
        let shown = format!("{key:?}");
        assert!(!shown.contains("abab"), "{shown}");
        assert!(shown.contains(&key.node_id().to_string()));
    }

    #[test]
    fn node_id_text_round_trips() {
        let id = NodeKey::generate().node_id();
        let s = id.to_string();
        assert!(s.starts_with("12D3KooW"), "{s}");
        assert_eq!(s.parse::<NodeId>().unwrap(), id);
    }
}
