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

/// How often a community means to meet: its beat. The facilitator report checks each period of
/// the rhythm for at least one held event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rhythm {
    Weekly,
    Fortnightly,
    Monthly,
    Quarterly,
}

super::word_enum!(Rhythm, "rhythm", {
    Weekly => "weekly",
    Fortnightly => "fortnightly",
    Monthly => "monthly",
    Quarterly => "quarterly",
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
    /// How often the community means to meet.
    #[autosurgeon(missing = "Default::default")]
    pub rhythm: Option<Rhythm>,
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
    /// Stakeholder groups the person speaks for ("schools", "young people with lived
    /// experience"), matched against the charter's `stakeholders` to ask who is missing.
    #[autosurgeon(missing = "Default::default")]
    pub groups: Vec<String>,
    /// Every declared level, oldest first, so the report can show movement between levels.
    /// Only the person's own node writes it.
    #[autosurgeon(missing = "Default::default")]
    pub level_history: Vec<LevelChange>,
}

/// A person's declared level from a moment on.
#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize)]
pub struct LevelChange {
    pub level: Level,
    pub at_ms: i64,
}

impl Person {
    /// The level the person had declared at `at_ms` (their first level before any record).
    pub fn level_at(&self, at_ms: i64) -> Level {
        self.level_history
            .iter()
            .take_while(|c| c.at_ms <= at_ms)
            .last()
            .or(self.level_history.first())
            .map(|c| c.level)
            .unwrap_or(self.level)
    }

    /// Whether the person was in the community at `at_ms`.
    pub fn member_at(&self, at_ms: i64) -> bool {
        self.joined_at_ms <= at_ms && self.left_at_ms.is_none_or(|left| left > at_ms)
    }
}
