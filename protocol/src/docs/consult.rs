use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile};
use serde::Serialize;

use super::Header;
use crate::ids::NodeId;

/// Where a case consult is in its life: open for replies, answered once the presenter has
/// summarised what helped, closed once the follow-up is recorded (or the presenter closes it).
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

/// What a reply does in the consult's phases (peer group supervision: clarifying questions
/// first, then ideas).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReplyKind {
    Clarifying,
    Idea,
}

super::word_enum!(ReplyKind, "reply kind", {
    Clarifying => "clarifying",
    Idea => "idea",
});

/// A case consult: a practitioner brings a de-identified case (in situation / background /
/// assessment / request form) and a key question; peers reply; the presenter summarises what
/// helped and, at the follow-up date, records what happened.
#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize)]
pub struct Consult {
    pub header: Header,
    pub title: String,
    /// The key question the presenter wants help with.
    pub question: String,
    #[autosurgeon(missing = "Default::default")]
    pub situation: String,
    #[autosurgeon(missing = "Default::default")]
    pub background: String,
    #[autosurgeon(missing = "Default::default")]
    pub assessment: String,
    #[autosurgeon(missing = "Default::default")]
    pub request: String,
    pub status: ConsultStatus,
    /// The person (of the creating node) presenting the case, when named.
    #[autosurgeon(missing = "Default::default")]
    pub presenter: Option<String>,
    pub replies: Vec<Reply>,
    /// The presenter's summary of which ideas helped.
    #[autosurgeon(missing = "Default::default")]
    pub presenter_summary: String,
    /// `YYYY-MM-DD`: when to ask "what did you try, what happened?".
    #[autosurgeon(missing = "Default::default")]
    pub follow_up_on: Option<String>,
    #[autosurgeon(missing = "Default::default")]
    pub outcome: Option<String>,
    #[autosurgeon(missing = "Default::default")]
    pub answered_at_ms: Option<i64>,
    #[autosurgeon(missing = "Default::default")]
    pub closed_at_ms: Option<i64>,
    /// Authors' attestations that text the de-identification gate flagged is de-identified,
    /// keyed by the part they cover: `case`, `summary`, `outcome`, `reply:<id>`.
    #[autosurgeon(missing = "Default::default")]
    pub attestations: BTreeMap<String, Attestation>,
    pub updated_at_ms: i64,
}

/// One reply in a consult thread. Replies from several nodes merge: each is a list element with
/// its own id, so concurrent replies are all kept.
#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize)]
pub struct Reply {
    #[key]
    pub id: String,
    pub author: NodeId,
    /// The person (of the author node) who replied, when named.
    #[autosurgeon(missing = "Default::default")]
    pub person: Option<String>,
    #[autosurgeon(missing = "default_reply_kind")]
    pub kind: ReplyKind,
    pub text: String,
    pub created_at_ms: i64,
}

fn default_reply_kind() -> ReplyKind {
    ReplyKind::Idea
}

/// An author's explicit statement that flagged text is de-identified, stored with the post. It
/// records which kinds of finding the gate reported, never the matched text itself.
#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize)]
pub struct Attestation {
    pub statement: String,
    pub by: NodeId,
    pub flagged: Vec<String>,
    pub at_ms: i64,
}
