//! copnet's sans-I/O core.
//!
//! Everything here is a pure function of its inputs: node identities and domain-separated
//! signatures ([`keys`]), automerge actor ids bound to those keys ([`actor`]), the federation
//! roster and its deterministic fold ([`roster`]), the rule that decides whether a signed change
//! is valid ([`validity`]) and the typed document schemas ([`docs`]).
//!
//! What must not live here: tokio, sockets, files, sled, clocks. Callers pass the time in where a
//! rule needs it, so every node that holds the same inputs reaches the same answer.

pub mod actor;
pub mod chunks;
pub mod collection;
pub mod docs;
pub mod ids;
pub mod keys;
mod limits;
pub mod roster;
mod serde_bytes;
pub mod validity;
pub mod wire;

pub use actor::ActorId;
pub use ids::{DocId, DocKind, FederationId, IdError, NodeId, OpHash};
pub use keys::{Domain, NodeKey, Signature, SignatureError};
pub use limits::*;
pub use roster::{
    MemberStatus, Profile, Role, RosterError, RosterLog, RosterOp, RosterOpBody, RosterState,
    SignedRosterOp, VerifiedRosterOp,
};
pub use validity::{ChangeRejection, SignedChange, ValidChange, Verdict, validate_change};
