use autosurgeon::{Hydrate, Reconcile};
use serde::Serialize;

use super::Header;

/// What kind of practice resource something is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    Tool,
    Policy,
    ProgramModel,
    Research,
    Training,
    Template,
}

super::word_enum!(ResourceKind, "resource kind", {
    Tool => "tool",
    Policy => "policy",
    ProgramModel => "program-model",
    Research => "research",
    Training => "training",
    Template => "template",
});

/// Largest attached file, in bytes.
pub const MAX_ATTACHMENT_BYTES: usize = 4 * 1024 * 1024;
/// Files are written in chunks of this size, one change each, so that no change comes near the
/// change size limit.
pub const ATTACHMENT_CHUNK_BYTES: usize = 512 * 1024;
/// Prefix of the root keys that hold attached files' bytes: `file:<sha256 hex>`, each a list of
/// byte chunks. One key per file directly under the root, so files attached on two nodes at once
/// never share a parent object; kept out of [`Resource`] so that reading a resource does not copy
/// its file.
pub const FILES_KEY: &str = "file:";

/// A resource in a community's shared repertoire.
#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize)]
pub struct Resource {
    pub header: Header,
    pub title: String,
    pub kind: ResourceKind,
    pub summary: String,
    pub url: Option<String>,
    pub topics: Vec<String>,
    /// Who the resource is for ("practitioners", "young people", "carers").
    #[autosurgeon(missing = "Default::default")]
    pub intended_for: String,
    /// Where it applies ("NSW", "England and Wales", "any").
    #[autosurgeon(missing = "Default::default")]
    pub jurisdiction: String,
    /// Strength of evidence, 1 (weak) to 5 (strong); `None` is "not rated".
    #[autosurgeon(missing = "Default::default")]
    pub evidence: Option<u64>,
    /// `YYYY-MM-DD`: when the resource should be reviewed; overdue ones are listed.
    #[autosurgeon(missing = "Default::default")]
    pub review_by: Option<String>,
    #[autosurgeon(missing = "Default::default")]
    pub licence: String,
    /// What it was adapted from: a link, a citation or another resource's id.
    #[autosurgeon(missing = "Default::default")]
    pub adapted_from: String,
    #[autosurgeon(missing = "Default::default")]
    pub attachment: Option<Attachment>,
    /// The person (of the creating node) who added it, when named.
    #[autosurgeon(missing = "Default::default")]
    pub added_by: Option<String>,
    pub updated_at_ms: i64,
}

/// An attached file, content-addressed: its bytes are under `file:<sha256>` in the same
/// document, so they replicate (and are signed) with it.
#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize)]
pub struct Attachment {
    pub name: String,
    pub media_type: String,
    pub size: u64,
    /// SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
}
