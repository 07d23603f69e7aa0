use autosurgeon::{Hydrate, Reconcile};
use serde::Serialize;

use crate::ids::{DocId, DocKind, FederationId, NodeId};

/// The schema version this build writes. Readers accept this version and older ones.
pub const SCHEMA_VERSION: u64 = 1;

/// Who may receive a document (DESIGN §1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Audience {
    /// Member and peripheral nodes.
    Federation,
    /// Member nodes only. Case consults default to this.
    Members,
}

super::word_enum!(Audience, "audience", { Federation => "federation", Members => "members" });

/// The immutable first part of every document: written by its first change, never changed.
#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize)]
pub struct Header {
    /// The document's own id, so a peer cannot pass one document off as another.
    pub id: DocId,
    pub kind: DocKind,
    pub federation: FederationId,
    /// The community the document belongs to; a community document names itself.
    pub community: DocId,
    pub audience: Audience,
    pub creator: NodeId,
    pub schema_version: u64,
    pub created_at_ms: i64,
}
