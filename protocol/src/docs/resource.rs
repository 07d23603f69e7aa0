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

/// A resource in a community's shared repertoire.
#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize)]
pub struct Resource {
    pub header: Header,
    pub title: String,
    pub kind: ResourceKind,
    pub summary: String,
    pub url: Option<String>,
    pub topics: Vec<String>,
    pub updated_at_ms: i64,
}
