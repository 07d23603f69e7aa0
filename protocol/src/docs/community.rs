use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile};
use serde::Serialize;

use super::Header;
use crate::ids::NodeId;

/// How a person takes part in a community. Every level is legitimate: peripheral participation
/// is how most people start, and many stay there usefully.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    Core,
    Active,
    Peripheral,
}

super::word_enum!(Level, "participation level", {
    Core => "core",
    Active => "active",
    Peripheral => "peripheral",
});

/// One Community of Practice: its charter, the people in it, and its own privacy terms.
///
/// Collections that several nodes add to at once are maps keyed by a fresh id (people) so that
/// concurrent additions all survive the merge; a list field (goals, topics) is edited as a whole
/// by whoever edits the charter.
#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize)]
pub struct Community {
    pub header: Header,
    pub name: String,
    /// The shared domain of practice, e.g. "youth homelessness".
    pub domain: String,
    pub purpose: String,
    #[autosurgeon(missing = "Default::default")]
    pub practice_focus: String,
    /// Who the community is for, in words ("frontline youth workers and team leaders").
    #[autosurgeon(missing = "Default::default")]
    pub audience: String,
    #[autosurgeon(missing = "Default::default")]
    pub goals: Vec<String>,
    #[autosurgeon(missing = "Default::default")]
    pub outcomes: Vec<String>,
    /// Stakeholder groups the community wants at the table ("young people with lived
    /// experience", "schools"): what "who is missing?" is asked against.
    #[autosurgeon(missing = "Default::default")]
    pub stakeholders: Vec<String>,
    #[autosurgeon(missing = "Default::default")]
    pub topics: Vec<String>,
    /// People, by person id.
    #[autosurgeon(missing = "Default::default")]
    pub people: BTreeMap<String, Person>,
    /// Extra words the de-identification gate flags in this community's consults: local program
    /// names, schools, rare events. Keyed by the lower-cased term (the value is as written), so
    /// terms added on two nodes at once are both kept.
    #[autosurgeon(missing = "Default::default")]
    pub privacy_terms: BTreeMap<String, String>,
    /// Small places (towns, suburbs, communities) that identify a family when combined with an
    /// exact age or a rare event; keyed like `privacy_terms`.
    #[autosurgeon(missing = "Default::default")]
    pub small_places: BTreeMap<String, String>,
    pub updated_at_ms: i64,
}

/// A practitioner in a community. People are not nodes: an organisation's node adds its own staff.
/// A person who leaves keeps their record (with `left_at_ms`), so past participation still counts.
#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize)]
pub struct Person {
    pub name: String,
    /// The organisation's node that added this person.
    pub node: NodeId,
    pub level: Level,
    pub expertise: Vec<String>,
    /// Stewards look after the community: facilitators, coordinators, champions.
    pub steward: bool,
    pub joined_at_ms: i64,
    pub left_at_ms: Option<i64>,
}
