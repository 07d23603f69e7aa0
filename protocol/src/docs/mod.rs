//! Typed schemas of the replicated documents (DESIGN §5), one file per kind.
//!
//! Each document is one automerge document whose root is one of these structs, written and read
//! with autosurgeon. Every document starts with an immutable [`Header`]; the validity rule refuses
//! any later change that alters it. Fields added by later schema versions are `missing = ...`
//! defaults, so an older document still hydrates.

mod community;
mod consult;
mod event;
mod header;
mod resource;
mod story;
mod survey;

pub use community::{Community, Level, LevelChange, Person, Rhythm};
pub use consult::{Attestation, Consult, ConsultStatus, Reply, ReplyKind};
pub use event::{Attendance, Event, EventKind, Rsvp, RsvpStatus, occurrence_key};
pub use header::{Audience, Header, SCHEMA_VERSION};
pub use resource::{
    ATTACHMENT_CHUNK_BYTES, Attachment, FILES_KEY, MAX_ATTACHMENT_BYTES, Resource, ResourceKind,
};
pub use story::{Story, ValueCycle};
pub use survey::{
    MAX_QUESTIONS, MIN_QUESTIONS, NodeResults, Question, QuestionKind, QuestionResults, SCALE_MAX,
    SCALE_MIN, SMALL_NUMBER, Survey, SurveyPhase, shown_count,
};

use autosurgeon::{Hydrate, HydrateError, Reconcile, Reconciler, reconcile::NoKey};

use crate::ids::DocKind;

/// Implements `as_str`, `FromStr`, `Display`, serde and autosurgeon for a fieldless enum whose
/// text forms are given, so the words in documents, the API and the CLI are one and the same.
macro_rules! word_enum {
    ($t:ident, $what:literal, { $($variant:ident => $word:literal),+ $(,)? }) => {
        impl $t {
            pub const ALL: &'static [$t] = &[$($t::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($t::$variant => $word),+ }
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($word => Ok($t::$variant),)+
                    other => Err(format!(
                        "unknown {} {:?}: expected one of {}",
                        $what,
                        other,
                        [$($word),+].join(", ")
                    )),
                }
            }
        }

        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl autosurgeon::Reconcile for $t {
            type Key<'a> = autosurgeon::reconcile::NoKey;
            fn reconcile<R: autosurgeon::Reconciler>(&self, mut r: R) -> Result<(), R::Error> {
                r.str(self.as_str())
            }
        }

        impl autosurgeon::Hydrate for $t {
            fn hydrate_string(s: &str) -> Result<Self, autosurgeon::HydrateError> {
                s.parse().map_err(|e: String| autosurgeon::HydrateError::unexpected($what, e))
            }
        }
    };
}
pub(crate) use word_enum;

impl Reconcile for DocKind {
    type Key<'a> = NoKey;
    fn reconcile<R: Reconciler>(&self, mut r: R) -> Result<(), R::Error> {
        r.str(self.as_str())
    }
}

impl Hydrate for DocKind {
    fn hydrate_string(s: &str) -> Result<Self, HydrateError> {
        s.parse()
            .map_err(|e: crate::IdError| HydrateError::unexpected("a document kind", e.to_string()))
    }
}

/// Reads just the header of a document, whatever its kind.
pub fn read_header<D: autosurgeon::ReadDoc>(doc: &D) -> Result<Option<Header>, HydrateError> {
    if doc.get(&automerge::ROOT, "header")?.is_none() {
        return Ok(None);
    }
    autosurgeon::hydrate_prop(doc, automerge::ROOT, "header")
}
