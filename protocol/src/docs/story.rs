use autosurgeon::{Hydrate, Reconcile};
use serde::Serialize;

use super::{Attestation, Header};
use crate::ids::NodeId;

/// Where on the value-creation cycles a story sits (Wenger, Trayner & de Laat, 2011): what the
/// community gave someone, from a useful conversation to a change in how a system works.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValueCycle {
    /// Activities and interactions had value in themselves (a useful call, feeling less alone).
    Immediate,
    /// Knowledge capital produced: a new idea, a tool, a contact, confidence.
    Potential,
    /// That capital was used in practice: a tool tried, an approach changed.
    Applied,
    /// Using it made a difference to performance or to young people and families.
    Realised,
    /// It changed what counts as success: a policy, a service model, a system.
    Transformative,
}

super::word_enum!(ValueCycle, "value cycle", {
    Immediate => "immediate",
    Potential => "potential",
    Applied => "applied",
    Realised => "realised",
    Transformative => "transformative",
});

/// A value-creation story: what taking part in the community led to, told by the person it
/// happened to (or their organisation), linked to the consults, events and resources involved.
#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize)]
pub struct Story {
    pub header: Header,
    pub title: String,
    pub text: String,
    pub cycle: ValueCycle,
    /// Ids of consults, events and resources of the same community the story draws on.
    pub links: Vec<String>,
    /// The person (of the creating node) whose story it is, when named.
    pub person: Option<String>,
    /// The author's statement that text the de-identification gate flagged is de-identified.
    pub attestation: Option<Attestation>,
    pub updated_at_ms: i64,
}

impl Story {
    pub fn author(&self) -> NodeId {
        self.header.creator
    }
}
