use autosurgeon::{Hydrate, Reconcile};
use serde::Serialize;

use super::Header;

/// One Community of Practice: its charter and the people who steer it.
#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize)]
pub struct Community {
    pub header: Header,
    pub name: String,
    /// The shared domain of practice, e.g. "youth homelessness".
    pub domain: String,
    pub purpose: String,
    #[autosurgeon(missing = "Default::default")]
    pub practice_focus: String,
    pub updated_at_ms: i64,
}
