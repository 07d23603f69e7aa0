//! The shared repertoire: communities and their people, resources with attached files, case
//! consults through their lifecycle behind the de-identification gate, and events on a rhythm.
//!
//! Every method here checks what a person typed (`crate::validate`), then makes one or more signed
//! changes through [`Replica::create`] / [`Replica::edit`]. Rules that depend on the document as
//! it is now (a closed consult takes no replies, an RSVP names a real occurrence) are checked
//! inside the edit, under the writer lock, against the document about to be changed.

use std::sync::{Arc, OnceLock};

use automerge::{ObjType, ReadDoc, transaction::Transactable};
use copnet_protocol::docs::{
    ATTACHMENT_CHUNK_BYTES, Attachment, Attendance, Attestation, Audience, Community, Consult,
    ConsultStatus, Event, EventKind, FILES_KEY, Level, LevelChange, MAX_ATTACHMENT_BYTES, Person,
    Reply, ReplyKind, Resource, ResourceKind, Rhythm, Rsvp, RsvpStatus, occurrence_key,
};
use copnet_protocol::{DocId, DocKind, NodeId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Replica, ReplicaError, ReplicaEvent, Result, audience, now_ms, parse_id};
use crate::deid::{self, Gate};
use crate::occurrences::{Occurrence, Timing};
use crate::store::DocEntry;
use crate::validate::{self, InputError, MAX_LONG_TEXT, MAX_SHORT_TEXT};
use crate::views::Rendered;

/// Most steps of a document's history shown (the newest).
pub const MAX_HISTORY: usize = 500;
/// Hydrated communities kept by [`Replica::community`]; the cache starts over when full.
const MAX_CACHED_COMMUNITIES: usize = 256;
/// Most items in a charter list (goals, outcomes, stakeholder groups).
pub const MAX_CHARTER_ITEMS: usize = 30;
/// Most privacy terms or small places a community keeps for the gate.
pub const MAX_PRIVACY_TERMS: usize = 500;
/// Most people in one community document.
pub const MAX_PEOPLE: usize = 5_000;
/// Most RSVPs and attendance records one event keeps.
pub const MAX_EVENT_RECORDS: usize = 20_000;
/// The total size of every file a resource has ever carried. Replacing a file keeps the old bytes
/// in the document's history (that is what makes it verifiable), so the history is bounded too.
/// Kept well below the sync frame limit, since a new peer receives a document's whole history in
/// one message.
pub const MAX_FILE_HISTORY_BYTES: usize = 10 * 1024 * 1024;

// ---- inputs ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewCommunity {
    pub name: String,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub purpose: Option<String>,
    #[serde(default)]
    pub practice_focus: Option<String>,
    #[serde(default)]
    pub audience: Option<String>,
    #[serde(default)]
    pub goals: Vec<String>,
    #[serde(default)]
    pub outcomes: Vec<String>,
    #[serde(default)]
    pub stakeholders: Vec<String>,
    #[serde(default)]
    pub topics: Vec<String>,
    /// `weekly`, `fortnightly`, `monthly` or `quarterly`.
    #[serde(default)]
    pub rhythm: Option<String>,
}

/// Charter fields to change; absent fields stay as they are.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CommunityEdit {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub purpose: Option<String>,
    #[serde(default)]
    pub practice_focus: Option<String>,
    #[serde(default)]
    pub audience: Option<String>,
    #[serde(default)]
    pub goals: Option<Vec<String>>,
    #[serde(default)]
    pub outcomes: Option<Vec<String>>,
    #[serde(default)]
    pub stakeholders: Option<Vec<String>>,
    #[serde(default)]
    pub topics: Option<Vec<String>>,
    /// `weekly`, `fortnightly`, `monthly` or `quarterly`; `""` clears it.
    #[serde(default)]
    pub rhythm: Option<String>,
    /// Words the de-identification gate flags in this community's consults.
    #[serde(default)]
    pub privacy_terms: Option<Vec<String>>,
    /// Small places that identify a family when combined with an exact age or a rare event.
    #[serde(default)]
    pub small_places: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewPerson {
    pub name: String,
    #[serde(default)]
    pub level: Option<String>,
    #[serde(default)]
    pub expertise: Vec<String>,
    #[serde(default)]
    pub steward: bool,
    /// Stakeholder groups the person speaks for.
    #[serde(default)]
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PersonEdit {
    #[serde(default)]
    pub level: Option<String>,
    #[serde(default)]
    pub expertise: Option<Vec<String>>,
    #[serde(default)]
    pub steward: Option<bool>,
    #[serde(default)]
    pub groups: Option<Vec<String>>,
    /// `true` records that the person left the community; `false` brings them back.
    #[serde(default)]
    pub left: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewResource {
    pub community: String,
    pub title: String,
    pub kind: String,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub topics: Vec<String>,
    #[serde(default)]
    pub audience: Option<String>,
    #[serde(default)]
    pub intended_for: Option<String>,
    #[serde(default)]
    pub jurisdiction: Option<String>,
    /// `1`–`5` or `not-rated`.
    #[serde(default)]
    pub evidence: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub review_by: Option<String>,
    #[serde(default)]
    pub licence: Option<String>,
    #[serde(default)]
    pub adapted_from: Option<String>,
    /// The person of this organisation who adds it: a person id or name.
    #[serde(default)]
    pub person: Option<String>,
}

/// Fields to change on a resource; absent fields stay as they are. `url: ""` removes the link,
/// `review_by: ""` the review date.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ResourceEdit {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub topics: Option<Vec<String>>,
    #[serde(default)]
    pub intended_for: Option<String>,
    #[serde(default)]
    pub jurisdiction: Option<String>,
    #[serde(default)]
    pub evidence: Option<String>,
    #[serde(default)]
    pub review_by: Option<String>,
    #[serde(default)]
    pub licence: Option<String>,
    #[serde(default)]
    pub adapted_from: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewConsult {
    pub community: String,
    pub title: String,
    pub question: String,
    pub situation: String,
    #[serde(default)]
    pub background: Option<String>,
    #[serde(default)]
    pub assessment: Option<String>,
    #[serde(default)]
    pub request: Option<String>,
    #[serde(default)]
    pub audience: Option<String>,
    /// `YYYY-MM-DD`; defaults to 30 days from now.
    #[serde(default)]
    pub follow_up_on: Option<String>,
    /// The author's statement that text the gate flagged is de-identified.
    #[serde(default)]
    pub attest: Option<String>,
    /// The person of this organisation presenting the case: a person id or name.
    #[serde(default)]
    pub person: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewReply {
    pub text: String,
    /// `clarifying` (a question back) or `idea` (the default).
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub attest: Option<String>,
    /// The person of this organisation replying: a person id or name.
    #[serde(default)]
    pub person: Option<String>,
}

/// The presenter's summary of what helped: moves the consult to `answered`.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ConsultAnswer {
    pub summary: String,
    #[serde(default)]
    pub follow_up_on: Option<String>,
    #[serde(default)]
    pub attest: Option<String>,
}

/// What happened after the consult: recorded at the follow-up, and closes it.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ConsultOutcome {
    pub outcome: String,
    #[serde(default)]
    pub attest: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ConsultFollowUp {
    /// `YYYY-MM-DD`.
    pub on: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    pub community: String,
    pub title: String,
    #[serde(default)]
    pub kind: Option<String>,
    pub start: String,
    pub tz: String,
    pub duration: String,
    #[serde(default)]
    pub rrule: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub link: Option<String>,
    #[serde(default)]
    pub agenda: Option<String>,
}

/// Fields to change on an event; absent fields stay. `rrule: ""` makes it a one-off,
/// `location: ""` / `link: ""` remove them.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct EventEdit {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default)]
    pub tz: Option<String>,
    #[serde(default)]
    pub duration: Option<String>,
    #[serde(default)]
    pub rrule: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub link: Option<String>,
    #[serde(default)]
    pub agenda: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewRsvp {
    /// A person id from the community's people.
    pub person: String,
    /// `going`, `maybe` or `declined`.
    pub status: String,
    /// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`; the next occurrence when absent.
    #[serde(default)]
    pub occurrence: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct EventCancel {
    /// One occurrence; the whole series when absent.
    #[serde(default)]
    pub occurrence: Option<String>,
}

/// What happened at one occurrence: notes, minutes, who attended.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OccurrenceRecord {
    pub occurrence: String,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub minutes: Option<String>,
    /// Person ids of those who attended.
    #[serde(default)]
    pub attended: Vec<String>,
}

/// One step of a document's history: who changed which fields, when.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    pub at: String,
    pub author: NodeId,
    pub change: String,
    pub fields: Vec<String>,
}

/// The text the de-identification gate flagged, by field, when the author did not attest.
#[derive(Debug, Clone, Serialize)]
pub struct GateRefusal {
    pub findings: Vec<FieldFinding>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FieldFinding {
    pub field: String,
    #[serde(flatten)]
    pub finding: deid::Finding,
}

impl std::fmt::Display for GateRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.findings.len();
        write!(
            f,
            "not published: the de-identification gate found {n} detail{} that could identify someone. \
             Rewrite them (use roles like \"the young person\", ages in ranges, \"a regional town\"), \
             or if the text is already de-identified, say so with an attestation such as \
             \"de-identified; the family could not recognise this\"",
            if n == 1 { "" } else { "s" }
        )
    }
}

/// The gate, built once: its patterns and name lists take a moment to compile.
pub fn gate() -> &'static Gate {
    static GATE: OnceLock<Gate> = OnceLock::new();
    GATE.get_or_init(Gate::new)
}

const MIN_ATTESTATION: usize = 12;

fn new_person_id() -> String {
    format!("per_{}", hex::encode(rand::random::<[u8; 6]>()))
}

fn lines(field: &str, list: &[String]) -> Result<Vec<String>, InputError> {
    validate::items(field, list, MAX_CHARTER_ITEMS)
}

fn opt_text(field: &str, s: Option<&str>, max: usize) -> Result<Option<String>, InputError> {
    s.map(|s| validate::text(field, s, max)).transpose()
}

/// `""` clears an optional field; anything else is checked by `f`.
fn clearable<T>(
    s: Option<&str>,
    f: impl FnOnce(&str) -> Result<T, InputError>,
) -> Result<Option<Option<T>>, InputError> {
    match s.map(str::trim) {
        None => Ok(None),
        Some("") => Ok(Some(None)),
        Some(v) => Ok(Some(Some(f(v)?))),
    }
}

fn rhythm(s: &str) -> Result<Rhythm, InputError> {
    s.trim().parse().map_err(InputError)
}

fn date_string(field: &str, s: &str) -> Result<String, InputError> {
    Ok(validate::date(field, s)?.format("%Y-%m-%d").to_string())
}

fn set<T: PartialEq>(slot: &mut T, value: Option<T>, changed: &mut bool) {
    if let Some(v) = value
        && *slot != v
    {
        *slot = v;
        *changed = true;
    }
}

fn nothing_to_change() -> ReplicaError {
    InputError("nothing to change: give at least one field to edit".into()).into()
}

impl Replica {
    // ---- communities and people -----------------------------------------------------------

    pub fn create_community(&self, input: NewCommunity) -> Result<DocEntry> {
        let name = validate::title("name", &input.name)?;
        let text = |f: &str, s: &Option<String>| {
            validate::text(f, s.as_deref().unwrap_or(""), MAX_SHORT_TEXT)
        };
        let domain = text("domain", &input.domain)?;
        let purpose = text("purpose", &input.purpose)?;
        let practice_focus = text("practice focus", &input.practice_focus)?;
        let who = text("audience", &input.audience)?;
        let goals = lines("goal", &input.goals)?;
        let outcomes = lines("outcome", &input.outcomes)?;
        let stakeholders = lines("stakeholder group", &input.stakeholders)?;
        let topics = validate::topics(&input.topics)?;
        let rhythm = input.rhythm.as_deref().map(rhythm).transpose()?;
        let fed = self.writable()?;
        let id = DocId::random(DocKind::Community);
        let header = self.header(id, fed, id, Audience::Federation);
        let now = header.created_at_ms;
        self.create(
            id,
            &Community {
                header,
                name,
                domain,
                purpose,
                practice_focus,
                audience: who,
                goals,
                outcomes,
                stakeholders,
                topics,
                rhythm,
                people: Default::default(),
                privacy_terms: Default::default(),
                small_places: Default::default(),
                updated_at_ms: now,
            },
        )
    }

    pub fn edit_community(&self, id: &str, edit: CommunityEdit) -> Result<DocEntry> {
        let id = parse_id(id, DocKind::Community)?;
        let name = edit
            .name
            .as_deref()
            .map(|n| validate::title("name", n))
            .transpose()?;
        let domain = opt_text("domain", edit.domain.as_deref(), MAX_SHORT_TEXT)?;
        let purpose = opt_text("purpose", edit.purpose.as_deref(), MAX_SHORT_TEXT)?;
        let focus = opt_text(
            "practice focus",
            edit.practice_focus.as_deref(),
            MAX_SHORT_TEXT,
        )?;
        let who = opt_text("audience", edit.audience.as_deref(), MAX_SHORT_TEXT)?;
        let list = |f: &str, l: &Option<Vec<String>>| l.as_deref().map(|l| lines(f, l)).transpose();
        let goals = list("goal", &edit.goals)?;
        let outcomes = list("outcome", &edit.outcomes)?;
        let stakeholders = list("stakeholder group", &edit.stakeholders)?;
        let topics = edit.topics.as_deref().map(validate::topics).transpose()?;
        let new_rhythm = clearable(edit.rhythm.as_deref(), rhythm)?;
        let terms = |f: &str, l: &Option<Vec<String>>| {
            l.as_deref()
                .map(|l| {
                    validate::items(f, l, MAX_PRIVACY_TERMS).map(|items| {
                        items
                            .into_iter()
                            .map(|t| (t.to_lowercase(), t))
                            .collect::<std::collections::BTreeMap<_, _>>()
                    })
                })
                .transpose()
        };
        let privacy_terms = terms("privacy term", &edit.privacy_terms)?;
        let small_places = terms("small place", &edit.small_places)?;
        let nothing_given = name.is_none()
            && domain.is_none()
            && purpose.is_none()
            && focus.is_none()
            && who.is_none()
            && goals.is_none()
            && outcomes.is_none()
            && stakeholders.is_none()
            && topics.is_none()
            && new_rhythm.is_none()
            && privacy_terms.is_none()
            && small_places.is_none();
        if nothing_given {
            return Err(nothing_to_change());
        }
        self.require(&id)?;
        self.edit(id, |c: &mut Community| {
            let mut changed = false;
            set(&mut c.name, name, &mut changed);
            set(&mut c.domain, domain, &mut changed);
            set(&mut c.purpose, purpose, &mut changed);
            set(&mut c.practice_focus, focus, &mut changed);
            set(&mut c.audience, who, &mut changed);
            set(&mut c.goals, goals, &mut changed);
            set(&mut c.outcomes, outcomes, &mut changed);
            set(&mut c.stakeholders, stakeholders, &mut changed);
            set(&mut c.topics, topics, &mut changed);
            set(&mut c.rhythm, new_rhythm, &mut changed);
            set(&mut c.privacy_terms, privacy_terms, &mut changed);
            set(&mut c.small_places, small_places, &mut changed);
            if changed {
                c.updated_at_ms = now_ms();
            }
            Ok(())
        })
    }

    /// A person of this node's organisation joins a community; returns the community with the
    /// new person's id in `person`.
    pub fn join_community(&self, id: &str, input: NewPerson) -> Result<(DocEntry, String)> {
        let id = parse_id(id, DocKind::Community)?;
        let name = validate::title("name", &input.name)?;
        let level: Level = match input.level.as_deref() {
            None => Level::Peripheral,
            Some(l) => l.trim().parse().map_err(InputError)?,
        };
        let expertise = validate::topics(&input.expertise)?;
        let groups = lines("stakeholder group", &input.groups)?;
        self.require(&id)?;
        let node = self.node_id;
        let person = new_person_id();
        let pid = person.clone();
        let entry = self.edit(id, move |c: &mut Community| {
            if c.people.len() >= MAX_PEOPLE {
                return Err(InputError(format!("a community holds at most {MAX_PEOPLE} people")).into());
            }
            if let Some((pid, _)) = c.people.iter().find(|(_, p)| {
                p.node == node && p.left_at_ms.is_none() && p.name.eq_ignore_ascii_case(&name)
            }) {
                return Err(InputError(format!(
                    "{name} from this organisation is already in the community as {pid}; change their level with `copnet community person {pid}`"
                ))
                .into());
            }
            let now = now_ms();
            c.people.insert(
                pid,
                Person {
                    name,
                    node,
                    level,
                    expertise,
                    steward: input.steward,
                    joined_at_ms: now,
                    left_at_ms: None,
                    groups,
                    level_history: vec![LevelChange { level, at_ms: now }],
                },
            );
            c.updated_at_ms = now;
            Ok(())
        })?;
        Ok((entry, person))
    }

    /// Changes a person's level, expertise or steward role, or records that they left.
    pub fn edit_person(&self, id: &str, person: &str, edit: PersonEdit) -> Result<DocEntry> {
        let id = parse_id(id, DocKind::Community)?;
        let level: Option<Level> = edit
            .level
            .as_deref()
            .map(|l| l.trim().parse().map_err(InputError))
            .transpose()?;
        let expertise = edit
            .expertise
            .as_deref()
            .map(validate::topics)
            .transpose()?;
        let groups = edit
            .groups
            .as_deref()
            .map(|g| lines("stakeholder group", g))
            .transpose()?;
        if level.is_none()
            && expertise.is_none()
            && groups.is_none()
            && edit.steward.is_none()
            && edit.left.is_none()
        {
            return Err(nothing_to_change());
        }
        self.require(&id)?;
        let person = person.trim().to_owned();
        self.edit(id, |c: &mut Community| {
            let p = c
                .people
                .get_mut(&person)
                .ok_or_else(|| ReplicaError::NotFound {
                    kind: "person",
                    id: person.clone(),
                })?;
            if p.node != self.node_id {
                return Err(ReplicaError::Forbidden(format!(
                    "{person} was added by another organisation; only their own node changes their participation"
                )));
            }
            let mut changed = false;
            let now = now_ms();
            if let Some(level) = level
                && level != p.level
            {
                if p.level_history.is_empty() {
                    // A person recorded before levels had a history: their first level counts
                    // from when they joined.
                    p.level_history.push(LevelChange {
                        level: p.level,
                        at_ms: p.joined_at_ms,
                    });
                }
                p.level_history.push(LevelChange { level, at_ms: now });
                p.level = level;
                changed = true;
            }
            set(&mut p.expertise, expertise, &mut changed);
            set(&mut p.groups, groups, &mut changed);
            set(&mut p.steward, edit.steward, &mut changed);
            match edit.left {
                Some(true) if p.left_at_ms.is_none() => {
                    p.left_at_ms = Some(now);
                    p.steward = false;
                    changed = true;
                }
                Some(false) if p.left_at_ms.is_some() => {
                    // Back again; `joined_at` stays the first joining, so past participation
                    // keeps counting.
                    p.left_at_ms = None;
                    changed = true;
                }
                _ => {}
            }
            if changed {
                c.updated_at_ms = now;
            }
            Ok(())
        })
    }

    /// Resolves who, of this organisation's current people in `community`, a post is from: a
    /// person id or a name (any case). `None` leaves the post attributed to the organisation.
    pub(crate) fn own_person(&self, c: &Community, who: Option<&str>) -> Result<Option<String>> {
        let Some(who) = who.map(str::trim).filter(|w| !w.is_empty()) else {
            return Ok(None);
        };
        let community = c.header.id;
        let ours = |p: &Person| p.node == self.node_id && p.left_at_ms.is_none();
        if let Some(p) = c.people.get(who) {
            return if ours(p) {
                Ok(Some(who.to_owned()))
            } else {
                Err(InputError(format!(
                    "{who} is not a current member of this community from this organisation; a post can only be attributed to your own people"
                ))
                .into())
            };
        }
        let matches: Vec<&String> = c
            .people
            .iter()
            .filter(|(_, p)| ours(p) && p.name.eq_ignore_ascii_case(who))
            .map(|(id, _)| id)
            .collect();
        match matches.as_slice() {
            [one] => Ok(Some((*one).clone())),
            [] => Err(InputError(format!(
                "no one called {who:?} from this organisation is in the community; add them with `copnet community join {community} --name {who:?}` or give a person id"
            ))
            .into()),
            _ => Err(InputError(format!(
                "more than one person from this organisation is called {who:?}; give a person id instead"
            ))
            .into()),
        }
    }

    /// A community as its typed value. Most writes read the community they belong to (to find
    /// who is writing), so hydrated communities are cached, keyed by a digest of the stored
    /// document: a cached value is only ever served for exactly the bytes it was read from.
    pub(crate) fn community(&self, id: &DocId) -> Result<Arc<Community>> {
        let bytes = self.stored_bytes(id)?;
        let digest: [u8; 32] = Sha256::digest(&bytes).into();
        let cached = {
            let cache = self.communities.lock().unwrap_or_else(|e| e.into_inner());
            cache
                .get(id)
                .filter(|(d, _)| *d == digest)
                .map(|(_, c)| c.clone())
        };
        if let Some(c) = cached {
            return Ok(c);
        }
        let community: Arc<Community> = Arc::new(self.hydrate_bytes(id, &bytes)?);
        let mut cache = self.communities.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_CACHED_COMMUNITIES {
            cache.clear();
        }
        cache.insert(*id, (digest, community.clone()));
        Ok(community)
    }

    // ---- resources -----------------------------------------------------------------------

    pub fn add_resource(&self, input: NewResource) -> Result<DocEntry> {
        let title = validate::title("title", &input.title)?;
        let kind: ResourceKind = input.kind.trim().parse().map_err(InputError)?;
        let long =
            |f: &str, s: &Option<String>, max| validate::text(f, s.as_deref().unwrap_or(""), max);
        let summary = long("summary", &input.summary, MAX_LONG_TEXT)?;
        let url = input.url.as_deref().map(validate::link).transpose()?;
        let topics = validate::topics(&input.topics)?;
        let audience = audience(input.audience.as_deref(), Audience::Federation)?;
        let intended_for = long("intended audience", &input.intended_for, MAX_SHORT_TEXT)?;
        let jurisdiction = long("jurisdiction", &input.jurisdiction, MAX_SHORT_TEXT)?;
        let evidence = validate::evidence(input.evidence.as_deref().unwrap_or("not-rated"))?;
        let review_by = clearable(input.review_by.as_deref(), |d| {
            date_string("review-by date", d)
        })?
        .flatten();
        let licence = long("licence", &input.licence, MAX_SHORT_TEXT)?;
        let adapted_from = long("adapted from", &input.adapted_from, MAX_SHORT_TEXT)?;
        let fed = self.writable()?;
        let community = self.require_community(&input.community)?;
        let added_by = self.own_person(
            self.community(&community)?.as_ref(),
            input.person.as_deref(),
        )?;
        let id = DocId::random(DocKind::Resource);
        let header = self.header(id, fed, community, audience);
        let now = header.created_at_ms;
        self.create(
            id,
            &Resource {
                header,
                title,
                kind,
                summary,
                url,
                topics,
                intended_for,
                jurisdiction,
                evidence,
                review_by,
                licence,
                adapted_from,
                attachment: None,
                added_by,
                updated_at_ms: now,
            },
        )
    }

    pub fn edit_resource(&self, id: &str, edit: ResourceEdit) -> Result<DocEntry> {
        let id = parse_id(id, DocKind::Resource)?;
        let title = edit
            .title
            .as_deref()
            .map(|t| validate::title("title", t))
            .transpose()?;
        let kind: Option<ResourceKind> = edit
            .kind
            .as_deref()
            .map(|k| k.trim().parse().map_err(InputError))
            .transpose()?;
        let summary = opt_text("summary", edit.summary.as_deref(), MAX_LONG_TEXT)?;
        let url = clearable(edit.url.as_deref(), validate::link)?;
        let topics = edit.topics.as_deref().map(validate::topics).transpose()?;
        let intended_for = opt_text(
            "intended audience",
            edit.intended_for.as_deref(),
            MAX_SHORT_TEXT,
        )?;
        let jurisdiction = opt_text("jurisdiction", edit.jurisdiction.as_deref(), MAX_SHORT_TEXT)?;
        let evidence = edit
            .evidence
            .as_deref()
            .map(validate::evidence)
            .transpose()?;
        let review_by = clearable(edit.review_by.as_deref(), |d| {
            date_string("review-by date", d)
        })?;
        let licence = opt_text("licence", edit.licence.as_deref(), MAX_SHORT_TEXT)?;
        let adapted_from = opt_text("adapted from", edit.adapted_from.as_deref(), MAX_SHORT_TEXT)?;
        if title.is_none()
            && kind.is_none()
            && summary.is_none()
            && url.is_none()
            && topics.is_none()
            && intended_for.is_none()
            && jurisdiction.is_none()
            && evidence.is_none()
            && review_by.is_none()
            && licence.is_none()
            && adapted_from.is_none()
        {
            return Err(nothing_to_change());
        }
        self.require(&id)?;
        self.edit(id, |r: &mut Resource| {
            let mut changed = false;
            set(&mut r.title, title, &mut changed);
            set(&mut r.kind, kind, &mut changed);
            set(&mut r.summary, summary, &mut changed);
            set(&mut r.url, url, &mut changed);
            set(&mut r.topics, topics, &mut changed);
            set(&mut r.intended_for, intended_for, &mut changed);
            set(&mut r.jurisdiction, jurisdiction, &mut changed);
            set(&mut r.evidence, evidence, &mut changed);
            set(&mut r.review_by, review_by, &mut changed);
            set(&mut r.licence, licence, &mut changed);
            set(&mut r.adapted_from, adapted_from, &mut changed);
            if changed {
                r.updated_at_ms = now_ms();
            }
            Ok(())
        })
    }

    /// Attaches a file to a resource, replacing any earlier one. The bytes go into the resource's
    /// own document under their SHA-256, written in chunks of one change each, then the
    /// resource's `attachment` names them — so a peer either has the whole file, verified, or
    /// does not list it yet.
    pub fn attach(
        &self,
        id: &str,
        name: &str,
        media_type: &str,
        bytes: Vec<u8>,
    ) -> Result<DocEntry> {
        let id = parse_id(id, DocKind::Resource)?;
        let name = validate::title("file name", name)?;
        if name.contains(['/', '\\']) {
            return Err(InputError("file name must not contain a path separator".into()).into());
        }
        let media_type = validate::media_type(media_type)?;
        if bytes.is_empty() {
            return Err(InputError("the file is empty".into()).into());
        }
        if bytes.len() > MAX_ATTACHMENT_BYTES {
            return Err(InputError(format!(
                "the file is {} bytes; attachments are limited to {} MiB — link to larger files with --url",
                bytes.len(),
                MAX_ATTACHMENT_BYTES / (1024 * 1024)
            ))
            .into());
        }
        let sha = hex::encode(Sha256::digest(&bytes));
        self.require(&id)?;
        let (entry, ticket) = {
            let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            let fed = self.writable()?;
            let mut doc = self.load(&id)?;
            let before =
                copnet_protocol::docs::read_header(&doc).map_err(|e| ReplicaError::Damaged {
                    id,
                    why: e.to_string(),
                })?;
            let mut value: Resource =
                autosurgeon::hydrate(&doc).map_err(|e| ReplicaError::Damaged {
                    id,
                    why: e.to_string(),
                })?;
            let history = file_history_bytes(&mut doc);
            // Present only if complete and intact: a half-written earlier upload is rewritten.
            let already = read_file(&doc, &sha).is_some_and(|b| b == bytes);
            if !already && history + bytes.len() > MAX_FILE_HISTORY_BYTES {
                return Err(InputError(format!(
                    "this resource has carried {history} bytes of files already; its file history is limited to {} MiB. Add the new file to a new resource",
                    MAX_FILE_HISTORY_BYTES / (1024 * 1024)
                ))
                .into());
            }
            // Every chunk is its own change, far below the change size limit; all of them and the
            // final change naming the file go to disk in one atomic batch.
            let mut sealed = Vec::new();
            let rendered = Rendered::of(&value);
            if !already {
                let list = doc
                    .put_object(automerge::ROOT, file_key(&sha), ObjType::List)
                    .map_err(damaged(id))?;
                for (i, chunk) in bytes.chunks(ATTACHMENT_CHUNK_BYTES).enumerate() {
                    doc.insert(&list, i, automerge::ScalarValue::Bytes(chunk.to_vec()))
                        .map_err(damaged(id))?;
                    sealed.extend(self.seal(id, fed, &mut doc, before.as_ref(), &rendered)?);
                }
            }
            let previous = value.attachment.replace(Attachment {
                name,
                media_type,
                size: bytes.len() as u64,
                sha256: sha.clone(),
            });
            if let Some(prev) = previous.filter(|p| p.sha256 != sha) {
                // The old bytes stay in history (bounded above) but leave the current state.
                doc.delete(automerge::ROOT, file_key(&prev.sha256))
                    .map_err(damaged(id))?;
            }
            value.updated_at_ms = now_ms();
            autosurgeon::reconcile(&mut doc, &value).map_err(damaged(id))?;
            let rendered = Rendered::of(&value);
            sealed.extend(self.seal(id, fed, &mut doc, before.as_ref(), &rendered)?);
            self.store_local(id, &mut doc, sealed, rendered)?
        };
        self.store.wait_durable(ticket)?;
        self.emit(ReplicaEvent::DocChanged(entry.id, entry.audience));
        Ok(entry)
    }

    /// A resource's attached file: its description and bytes, checked against its hash.
    pub fn attachment(&self, id: &str) -> Result<(Attachment, Vec<u8>)> {
        let id = parse_id(id, DocKind::Resource)?;
        let doc = self.load(&id)?;
        let value: Resource = autosurgeon::hydrate(&doc).map_err(damaged(id))?;
        let att = value.attachment.ok_or_else(|| ReplicaError::NotFound {
            kind: "attachment",
            id: format!("on {id}"),
        })?;
        let bytes = read_file(&doc, &att.sha256).ok_or_else(|| ReplicaError::Damaged {
            id,
            why: "the attached file's bytes are missing".into(),
        })?;
        if hex::encode(Sha256::digest(&bytes)) != att.sha256 || bytes.len() as u64 != att.size {
            return Err(ReplicaError::Damaged {
                id,
                why: "the attached file does not match its recorded hash".into(),
            });
        }
        Ok((att, bytes))
    }

    /// Who changed what, change by change, oldest first. Derived from the signed changes
    /// themselves, so every node shows the same history.
    pub fn history(&self, id: &DocId) -> Result<Vec<HistoryEntry>> {
        self.require(id)?;
        let mut doc = self.load(id)?;
        let doc = doc.document();
        let mut out = Vec::new();
        let changes = doc.get_changes(&[]);
        // Each step is a diff over the document: keep the cost bounded on long histories.
        let skip = changes.len().saturating_sub(MAX_HISTORY);
        for change in changes.into_iter().skip(skip) {
            let Some(actor) = copnet_protocol::ActorId::from_automerge(change.actor_id()) else {
                continue;
            };
            let patches = doc.diff(change.deps(), &[change.hash()]);
            let mut fields: Vec<String> = Vec::new();
            for p in patches {
                let field = match p.path.first() {
                    Some((_, automerge::Prop::Map(k))) => k.clone(),
                    _ => match &p.action {
                        automerge::PatchAction::PutMap { key, .. }
                        | automerge::PatchAction::DeleteMap { key } => key.clone(),
                        _ => continue,
                    },
                };
                let field = if field.starts_with(FILES_KEY) {
                    "attachment".to_owned()
                } else {
                    field
                };
                if field != "updated_at_ms" && !fields.contains(&field) {
                    fields.push(field);
                }
            }
            if fields.is_empty() {
                // Chunks of a file land in `files`, which the diff reports under that key; a
                // change that altered nothing visible is not worth a line.
                continue;
            }
            out.push(HistoryEntry {
                at: crate::views::rfc3339(change.timestamp() * 1000),
                author: actor.node(),
                change: change.hash().to_string(),
                fields,
            });
        }
        // Merge consecutive chunk changes of one upload into one line.
        out.dedup_by(|b, a| {
            a.author == b.author && a.fields == b.fields && a.fields == ["attachment"]
        });
        Ok(out)
    }

    // ---- case consults -------------------------------------------------------------------

    /// Runs the gate over `parts` (field, text) with the community's own terms. Passes with no
    /// attestation needed, passes with the author's attestation recorded, or refuses with the
    /// precise report.
    pub(crate) fn screen(
        &self,
        c: &Community,
        parts: &[(&str, &str)],
        attest: Option<&str>,
    ) -> Result<Option<Attestation>> {
        let terms = deid::Terms {
            names: self.private_names(),
            places: c.small_places.values().cloned().collect(),
            terms: c.privacy_terms.values().cloned().collect(),
        };
        let mut findings = Vec::new();
        for (field, text) in parts {
            for finding in gate().check(text, &terms).findings {
                findings.push(FieldFinding {
                    field: (*field).to_owned(),
                    finding,
                });
            }
        }
        if findings.is_empty() {
            return Ok(None);
        }
        let statement = attest.map(str::trim).unwrap_or("");
        if statement.is_empty() {
            return Err(ReplicaError::Identifying(GateRefusal { findings }));
        }
        let statement = validate::text("attestation", statement, MAX_SHORT_TEXT)?;
        if statement.chars().count() < MIN_ATTESTATION {
            return Err(InputError(format!(
                "the attestation must say what you checked, e.g. \"de-identified; the family could not recognise this\" (at least {MIN_ATTESTATION} characters)"
            ))
            .into());
        }
        let mut flagged: Vec<String> = findings
            .iter()
            .map(|f| f.finding.kind.as_str().to_owned())
            .collect();
        flagged.sort();
        flagged.dedup();
        Ok(Some(Attestation {
            statement,
            by: self.node_id,
            flagged,
            at_ms: now_ms(),
        }))
    }

    pub fn open_consult(&self, input: NewConsult) -> Result<DocEntry> {
        let title = validate::title("title", &input.title)?;
        let question = validate::required_text("question", &input.question, MAX_SHORT_TEXT)?;
        let situation = validate::required_text("situation", &input.situation, MAX_LONG_TEXT)?;
        let long = |f: &str, s: &Option<String>| {
            validate::text(f, s.as_deref().unwrap_or(""), MAX_LONG_TEXT)
        };
        let background = long("background", &input.background)?;
        let assessment = long("assessment", &input.assessment)?;
        let request = long("request", &input.request)?;
        let audience = audience(input.audience.as_deref(), Audience::Members)?;
        let follow_up_on = match input.follow_up_on.as_deref() {
            Some(d) => date_string("follow-up date", d)?,
            None => (crate::replica::now_utc().date_naive() + chrono::Days::new(30))
                .format("%Y-%m-%d")
                .to_string(),
        };
        let fed = self.writable()?;
        let community = self.require_community(&input.community)?;
        let c = self.community(&community)?;
        let attestation = self.screen(
            &c,
            &[
                ("title", &title),
                ("question", &question),
                ("situation", &situation),
                ("background", &background),
                ("assessment", &assessment),
                ("request", &request),
            ],
            input.attest.as_deref(),
        )?;
        let presenter = self.own_person(&c, input.person.as_deref())?;
        let id = DocId::random(DocKind::Consult);
        let header = self.header(id, fed, community, audience);
        let now = header.created_at_ms;
        self.create(
            id,
            &Consult {
                header,
                title,
                question,
                situation,
                background,
                assessment,
                request,
                status: ConsultStatus::Open,
                presenter,
                replies: vec![],
                presenter_summary: String::new(),
                follow_up_on: Some(follow_up_on),
                outcome: None,
                answered_at_ms: None,
                closed_at_ms: None,
                attestations: attestation
                    .into_iter()
                    .map(|a| ("case".to_owned(), a))
                    .collect(),
                updated_at_ms: now,
            },
        )
    }

    fn consult_community(&self, id: &DocId) -> Result<DocId> {
        Ok(self.get(id)?.community)
    }

    pub fn reply_consult(&self, id: &str, input: NewReply) -> Result<DocEntry> {
        let id = parse_id(id, DocKind::Consult)?;
        let text = validate::required_text("reply", &input.text, MAX_LONG_TEXT)?;
        let kind: ReplyKind = match input.kind.as_deref() {
            None => ReplyKind::Idea,
            Some(k) => k.trim().parse().map_err(InputError)?,
        };
        let community = self.consult_community(&id)?;
        let c = self.community(&community)?;
        let attestation = self.screen(&c, &[("reply", &text)], input.attest.as_deref())?;
        let person = self.own_person(&c, input.person.as_deref())?;
        let author = self.node_id;
        self.edit(id, |c: &mut Consult| {
            if c.status == ConsultStatus::Closed {
                return Err(
                    InputError("this consult is closed; it takes no more replies".into()).into(),
                );
            }
            let now = now_ms();
            let reply_id = hex::encode(rand::random::<[u8; 8]>());
            if let Some(a) = attestation {
                c.attestations.insert(format!("reply:{reply_id}"), a);
            }
            c.replies.push(Reply {
                id: reply_id,
                author,
                person,
                kind,
                text,
                created_at_ms: now,
            });
            c.updated_at_ms = now;
            Ok(())
        })
    }

    /// Only the presenter moves their consult through its lifecycle.
    fn presenter_only(&self, c: &Consult, what: &str) -> Result<()> {
        if c.header.creator != self.node_id {
            return Err(ReplicaError::Forbidden(format!(
                "only the presenting organisation can {what} this consult"
            )));
        }
        Ok(())
    }

    /// The presenter's summary of what helped; the consult becomes `answered`.
    pub fn answer_consult(&self, id: &str, input: ConsultAnswer) -> Result<DocEntry> {
        let id = parse_id(id, DocKind::Consult)?;
        let summary = validate::required_text("summary", &input.summary, MAX_LONG_TEXT)?;
        let follow_up = input
            .follow_up_on
            .as_deref()
            .map(|d| date_string("follow-up date", d))
            .transpose()?;
        let community = self.consult_community(&id)?;
        let attestation = self.screen(
            self.community(&community)?.as_ref(),
            &[("summary", &summary)],
            input.attest.as_deref(),
        )?;
        self.edit(id, |c: &mut Consult| {
            self.presenter_only(c, "summarise")?;
            if c.status == ConsultStatus::Closed {
                return Err(InputError("this consult is closed".into()).into());
            }
            let now = now_ms();
            c.presenter_summary = summary;
            if c.status == ConsultStatus::Open {
                c.status = ConsultStatus::Answered;
                c.answered_at_ms = Some(now);
            }
            if let Some(f) = follow_up {
                c.follow_up_on = Some(f);
            }
            if let Some(a) = attestation {
                c.attestations.insert("summary".into(), a);
            }
            c.updated_at_ms = now;
            Ok(())
        })
    }

    pub fn set_follow_up(&self, id: &str, input: ConsultFollowUp) -> Result<DocEntry> {
        let id = parse_id(id, DocKind::Consult)?;
        let on = date_string("follow-up date", &input.on)?;
        self.require(&id)?;
        self.edit(id, |c: &mut Consult| {
            self.presenter_only(c, "reschedule the follow-up of")?;
            if c.status == ConsultStatus::Closed {
                return Err(InputError("this consult is closed".into()).into());
            }
            if c.follow_up_on.as_deref() != Some(on.as_str()) {
                c.follow_up_on = Some(on);
                c.updated_at_ms = now_ms();
            }
            Ok(())
        })
    }

    /// What happened: the answer to the follow-up's question. Closes the consult.
    pub fn record_outcome(&self, id: &str, input: ConsultOutcome) -> Result<DocEntry> {
        let id = parse_id(id, DocKind::Consult)?;
        let outcome = validate::required_text("outcome", &input.outcome, MAX_LONG_TEXT)?;
        let community = self.consult_community(&id)?;
        let attestation = self.screen(
            self.community(&community)?.as_ref(),
            &[("outcome", &outcome)],
            input.attest.as_deref(),
        )?;
        self.edit(id, |c: &mut Consult| {
            self.presenter_only(c, "record the outcome of")?;
            if c.status == ConsultStatus::Open {
                return Err(InputError(
                    "summarise what helped first (`copnet consult answer ID --summary ...`), then record the outcome"
                        .into(),
                )
                .into());
            }
            let now = now_ms();
            c.outcome = Some(outcome);
            if c.status != ConsultStatus::Closed {
                c.status = ConsultStatus::Closed;
                c.closed_at_ms = Some(now);
            }
            if let Some(a) = attestation {
                c.attestations.insert("outcome".into(), a);
            }
            c.updated_at_ms = now;
            Ok(())
        })
    }

    /// Closes a consult without an outcome (the presenter has nothing to follow up).
    pub fn close_consult(&self, id: &str) -> Result<DocEntry> {
        let id = parse_id(id, DocKind::Consult)?;
        self.require(&id)?;
        self.edit(id, |c: &mut Consult| {
            self.presenter_only(c, "close")?;
            if c.status != ConsultStatus::Closed {
                let now = now_ms();
                c.status = ConsultStatus::Closed;
                c.closed_at_ms = Some(now);
                c.updated_at_ms = now;
            }
            Ok(())
        })
    }

    // ---- events --------------------------------------------------------------------------

    pub fn schedule_event(&self, input: NewEvent) -> Result<DocEntry> {
        let title = validate::title("title", &input.title)?;
        let kind: EventKind = match input.kind.as_deref() {
            None => EventKind::Meeting,
            Some(k) => k.trim().parse().map_err(InputError)?,
        };
        let tz = validate::time_zone(&input.tz)?;
        let (local, start_utc_ms) = validate::start(&input.start, tz)?;
        let duration_minutes = validate::duration_minutes(&input.duration)?;
        let rrule = input
            .rrule
            .as_deref()
            .map(|r| validate::rrule(r, local, tz))
            .transpose()?;
        let location = clearable(input.location.as_deref(), |l| {
            validate::title("location", l)
        })?
        .flatten();
        let link = clearable(input.link.as_deref(), validate::link)?.flatten();
        let agenda = validate::text(
            "agenda",
            input.agenda.as_deref().unwrap_or(""),
            MAX_LONG_TEXT,
        )?;
        let fed = self.writable()?;
        let community = self.require_community(&input.community)?;
        let id = DocId::random(DocKind::Event);
        let header = self.header(id, fed, community, Audience::Federation);
        let now = header.created_at_ms;
        self.create(
            id,
            &Event {
                header,
                title,
                kind,
                start_local: validate::occurrence_name(local),
                tz: tz.name().to_owned(),
                start_utc_ms,
                duration_minutes,
                rrule,
                location,
                link,
                agenda,
                cancelled: false,
                cancelled_occurrences: Default::default(),
                rsvps: Default::default(),
                attendance: Default::default(),
                notes: Default::default(),
                minutes: Default::default(),
                updated_at_ms: now,
            },
        )
    }

    pub fn edit_event(&self, id: &str, edit: EventEdit) -> Result<DocEntry> {
        let id = parse_id(id, DocKind::Event)?;
        let title = edit
            .title
            .as_deref()
            .map(|t| validate::title("title", t))
            .transpose()?;
        let kind: Option<EventKind> = edit
            .kind
            .as_deref()
            .map(|k| k.trim().parse().map_err(InputError))
            .transpose()?;
        let duration = edit
            .duration
            .as_deref()
            .map(validate::duration_minutes)
            .transpose()?;
        let location = clearable(edit.location.as_deref(), |l| validate::title("location", l))?;
        let link = clearable(edit.link.as_deref(), validate::link)?;
        let agenda = opt_text("agenda", edit.agenda.as_deref(), MAX_LONG_TEXT)?;
        let timing_changed = edit.start.is_some() || edit.tz.is_some() || edit.rrule.is_some();
        if title.is_none()
            && kind.is_none()
            && duration.is_none()
            && location.is_none()
            && link.is_none()
            && agenda.is_none()
            && !timing_changed
        {
            return Err(nothing_to_change());
        }
        self.require(&id)?;
        self.edit(id, |e: &mut Event| {
            let mut changed = false;
            let has_records = !(e.rsvps.is_empty()
                && e.attendance.is_empty()
                && e.cancelled_occurrences.is_empty()
                && e.notes.is_empty()
                && e.minutes.is_empty());
            if timing_changed && has_records {
                return Err(InputError(
                    "this event already has RSVPs, cancellations or records for its occurrences, which are tied to its times: cancel it and schedule a new one instead of moving it"
                        .into(),
                )
                .into());
            }
            if timing_changed {
                let tz = validate::time_zone(edit.tz.as_deref().unwrap_or(&e.tz))?;
                let (local, utc) =
                    validate::start(edit.start.as_deref().unwrap_or(&e.start_local), tz)?;
                let rrule = match edit.rrule.as_deref().map(str::trim) {
                    None => e
                        .rrule
                        .clone()
                        .map(|r| validate::rrule(&r, local, tz))
                        .transpose()?,
                    Some("") => None,
                    Some(r) => Some(validate::rrule(r, local, tz)?),
                };
                set(
                    &mut e.start_local,
                    Some(validate::occurrence_name(local)),
                    &mut changed,
                );
                set(&mut e.tz, Some(tz.name().to_owned()), &mut changed);
                set(&mut e.start_utc_ms, Some(utc), &mut changed);
                set(&mut e.rrule, Some(rrule), &mut changed);
            }
            set(&mut e.title, title, &mut changed);
            set(&mut e.kind, kind, &mut changed);
            set(&mut e.duration_minutes, duration, &mut changed);
            set(&mut e.location, location, &mut changed);
            set(&mut e.link, link, &mut changed);
            set(&mut e.agenda, agenda, &mut changed);
            if changed {
                e.updated_at_ms = now_ms();
            }
            Ok(())
        })
    }

    fn timing(e: &Event) -> Result<Timing> {
        Ok(Timing::of(e)?)
    }

    /// The occurrence a person names (`YYYY-MM-DD[THH:MM]`), or the next (else the last) one.
    pub(super) fn occurrence(e: &Event, given: Option<&str>) -> Result<Occurrence> {
        let t = Self::timing(e)?;
        Ok(match given {
            Some(g) => t.find(g)?,
            None => t.next_or_last(now_ms()),
        })
    }

    /// Checks that each of `people` is a current member of the event's community, and — for
    /// `own_only` (RSVPs) — one of this organisation's people: a node answers for its own staff.
    fn people_in(
        &self,
        community: &DocId,
        people: &[String],
        own_only: bool,
    ) -> Result<Vec<String>> {
        let c = self.community(community)?;
        people
            .iter()
            .map(|person| {
                let person = person.trim();
                match c.people.get(person) {
                    Some(p) if p.left_at_ms.is_some() => Err(InputError(format!(
                        "{} ({person}) has left the community",
                        p.name
                    ))
                    .into()),
                    Some(p) if own_only && p.node != self.node_id => {
                        Err(ReplicaError::Forbidden(format!(
                            "{} ({person}) is from another organisation; their own node answers for them",
                            p.name
                        )))
                    }
                    Some(_) => Ok(person.to_owned()),
                    None => Err(InputError(format!(
                        "{person:?} is not a person in this event's community; see `copnet community show {community}` for people's ids, or add someone with `copnet community join`"
                    ))
                    .into()),
                }
            })
            .collect()
    }

    pub fn rsvp(&self, id: &str, input: NewRsvp) -> Result<(DocEntry, String)> {
        let id = parse_id(id, DocKind::Event)?;
        let status: RsvpStatus = input.status.trim().parse().map_err(InputError)?;
        let community = self.get(&id)?.community;
        let person = self
            .people_in(&community, std::slice::from_ref(&input.person), true)?
            .remove(0);
        let node = self.node_id;
        let mut chosen = String::new();
        let entry = self.edit(id, |e: &mut Event| {
            let occ = Self::occurrence(e, input.occurrence.as_deref())?;
            if e.cancelled || e.cancelled_occurrences.contains_key(&occ.name) {
                return Err(InputError(format!("the occurrence {} is cancelled", occ.name)).into());
            }
            let now = now_ms();
            let key = occurrence_key(&occ.name, &person);
            if !e.rsvps.contains_key(&key) && e.rsvps.len() >= MAX_EVENT_RECORDS {
                return Err(InputError("this event holds no more RSVPs".into()).into());
            }
            let unchanged = e.rsvps.get(&key).is_some_and(|r| r.status == status);
            if !unchanged {
                e.rsvps.insert(
                    key,
                    Rsvp {
                        occurrence: occ.name.clone(),
                        person,
                        status,
                        node,
                        at_ms: now,
                    },
                );
                e.updated_at_ms = now;
            }
            chosen = occ.name;
            Ok(())
        })?;
        Ok((entry, chosen))
    }

    pub fn cancel_event(&self, id: &str, input: EventCancel) -> Result<DocEntry> {
        let id = parse_id(id, DocKind::Event)?;
        self.require(&id)?;
        self.edit(id, |e: &mut Event| {
            let now = now_ms();
            match input.occurrence.as_deref() {
                None => {
                    if !e.cancelled {
                        e.cancelled = true;
                        e.updated_at_ms = now;
                    }
                }
                Some(given) => {
                    let occ = Self::timing(e)?.find(given)?;
                    if e.cancelled_occurrences.insert(occ.name, true).is_none() {
                        e.updated_at_ms = now;
                    }
                }
            }
            Ok(())
        })
    }

    /// Notes, minutes and attendance for one occurrence.
    pub fn record_occurrence(&self, id: &str, input: OccurrenceRecord) -> Result<DocEntry> {
        let id = parse_id(id, DocKind::Event)?;
        let notes = opt_text("notes", input.notes.as_deref(), MAX_LONG_TEXT)?;
        let minutes = opt_text("minutes", input.minutes.as_deref(), MAX_LONG_TEXT)?;
        if notes.is_none() && minutes.is_none() && input.attended.is_empty() {
            return Err(InputError(
                "nothing to record: give notes, minutes or who attended".into(),
            )
            .into());
        }
        let community = self.get(&id)?.community;
        if input.attended.len() > MAX_PEOPLE {
            return Err(InputError(format!("at most {MAX_PEOPLE} people per record")).into());
        }
        let attended = self.people_in(&community, &input.attended, false)?;
        let node = self.node_id;
        self.edit(id, |e: &mut Event| {
            let occ = Self::timing(e)?.find(&input.occurrence)?;
            if e.attendance.len() + attended.len() > MAX_EVENT_RECORDS {
                return Err(
                    InputError("this event holds no more attendance records".into()).into(),
                );
            }
            let now = now_ms();
            let mut changed = false;
            if let Some(n) = notes {
                changed |= e.notes.insert(occ.name.clone(), n.clone()).as_ref() != Some(&n);
            }
            if let Some(m) = minutes {
                changed |= e.minutes.insert(occ.name.clone(), m.clone()).as_ref() != Some(&m);
            }
            for person in attended {
                let key = occurrence_key(&occ.name, &person);
                if let std::collections::btree_map::Entry::Vacant(slot) = e.attendance.entry(key) {
                    slot.insert(Attendance {
                        occurrence: occ.name.clone(),
                        person,
                        node,
                        at_ms: now,
                    });
                    changed = true;
                }
            }
            if changed {
                e.updated_at_ms = now;
            }
            Ok(())
        })
    }

    /// The event as typed data, for calendar export.
    pub fn event(&self, id: &DocId) -> Result<(Event, u32)> {
        let mut doc = self.load(id)?;
        let e: Event = autosurgeon::hydrate(&doc).map_err(damaged(*id))?;
        // SEQUENCE: one more with every change to the document. Derived from the change count, it
        // grows with every edit on any node and is the same on every node that has the same
        // changes, however they merged.
        let sequence = doc.document().get_changes(&[]).len().saturating_sub(1) as u32;
        Ok((e, sequence))
    }
}

fn damaged<E: std::fmt::Display>(id: DocId) -> impl Fn(E) -> ReplicaError {
    move |e| ReplicaError::Damaged {
        id,
        why: e.to_string(),
    }
}

/// The root key of a file's bytes: one key per file, directly under the root, so that two nodes
/// attaching files at once never create the same parent object.
fn file_key(sha: &str) -> String {
    format!("{FILES_KEY}{sha}")
}

/// The bytes of the file stored under `sha` in a resource document, if all of it is there.
fn read_file<D: ReadDoc>(doc: &D, sha: &str) -> Option<Vec<u8>> {
    let (_, list) = doc.get(automerge::ROOT, file_key(sha)).ok()??;
    let mut out = Vec::new();
    for i in 0..doc.length(&list) {
        match doc.get(&list, i).ok()?? {
            (automerge::Value::Scalar(s), _) => match s.as_ref() {
                automerge::ScalarValue::Bytes(b) => out.extend_from_slice(b),
                _ => return None,
            },
            _ => return None,
        }
    }
    Some(out)
}

/// The size of a resource document's whole history: every file it has held, deleted versions
/// included, plus its (small) edits.
fn file_history_bytes(doc: &mut automerge::AutoCommit) -> usize {
    doc.document()
        .get_changes(&[])
        .iter()
        .map(|c| c.raw_bytes().len())
        .sum()
}
