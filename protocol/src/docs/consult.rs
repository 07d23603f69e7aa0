use autosurgeon::{Hydrate, Reconcile};
use serde::Serialize;

use super::Header;
use crate::ids::NodeId;

/// Where a case consult is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConsultStatus {
    Open,
    Answered,
    Closed,
}

super::word_enum!(ConsultStatus, "consult status", {
    Open => "open",
    Answered => "answered",
    Closed => "closed",
});

/// A case consult: a practitioner brings a de-identified case and a key question; peers reply.
#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize)]
pub struct Consult {
    pub header: Header,
    pub title: String,
    /// The key question the presenter wants help with.
    pub question: String,
    /// The de-identified case summary.
    pub summary: String,
    pub status: ConsultStatus,
    pub replies: Vec<Reply>,
    pub updated_at_ms: i64,
}

/// One reply in a consult thread. Replies from several nodes merge: each is a list element with
/// its own id, so concurrent replies are all kept.
#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize)]
pub struct Reply {
    #[key]
    pub id: String,
    pub author: NodeId,
    pub text: String,
    pub created_at_ms: i64,
}
