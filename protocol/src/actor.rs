//! Automerge actor ids bound to node keys (DESIGN §2).
//!
//! An actor id is the node's 32-byte public key followed by 8 random bytes chosen when the
//! process starts. The key part lets every node check who wrote a change; the suffix makes sure a
//! node restored from a backup never reuses an (actor, seq) pair it already published.

use crate::ids::NodeId;

pub const ACTOR_ID_LEN: usize = 40;

/// A node's actor id for one process lifetime.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ActorId {
    node: NodeId,
    suffix: [u8; 8],
}

impl ActorId {
    pub fn new(node: NodeId, suffix: [u8; 8]) -> Self {
        Self { node, suffix }
    }

    /// A fresh actor id for this process.
    pub fn for_process(node: NodeId) -> Self {
        Self::new(node, rand::random())
    }

    pub fn node(&self) -> NodeId {
        self.node
    }

    pub fn to_bytes(&self) -> [u8; ACTOR_ID_LEN] {
        let mut b = [0u8; ACTOR_ID_LEN];
        b[..32].copy_from_slice(self.node.as_bytes());
        b[32..].copy_from_slice(&self.suffix);
        b
    }

    /// Reads the author back out of an automerge actor id. Fails for actor ids that are not
    /// 40 bytes or whose key part is not an ed25519 key: such a change has no accountable author.
    pub fn from_automerge(actor: &automerge::ActorId) -> Option<Self> {
        let b = actor.to_bytes();
        if b.len() != ACTOR_ID_LEN {
            return None;
        }
        let node = NodeId::from_public_key(b[..32].try_into().ok()?).ok()?;
        Some(Self::new(node, b[32..].try_into().ok()?))
    }

    pub fn to_automerge(&self) -> automerge::ActorId {
        automerge::ActorId::from(&self.to_bytes()[..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NodeKey;

    #[test]
    fn actor_ids_carry_the_node_key() {
        let node = NodeKey::generate().node_id();
        let a = ActorId::for_process(node);
        let b = ActorId::for_process(node);
        assert_ne!(a, b, "each process start picks a new suffix");
        assert_eq!(ActorId::from_automerge(&a.to_automerge()), Some(a));
        assert_eq!(
            ActorId::from_automerge(&automerge::ActorId::from(&[1u8; 16][..])),
            None
        );
    }
}
