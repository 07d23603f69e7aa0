//! A deterministic workload: a realistic federation's repertoire — communities with their people,
//! resources, consult threads with replies, recurring events with RSVPs — at any size, from a
//! seed. The same seed and size give the same steps, byte for byte, on every machine, so
//! benchmark runs (and copnet against the automerge-repo baseline) work on the same documents.
//!
//! A [`Workload`] is plain data. The benchmark and the tests play it against a node's API
//! (`copnet_tests::workload::Apply`); `copnet demo --docs N` plays it too, to show a federation at
//! scale.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

/// One write. Indices refer to earlier steps' results (communities, people, consults, events).
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Community {
        name: String,
        rhythm: &'static str,
    },
    Person {
        community: usize,
        name: String,
        level: &'static str,
    },
    Resource {
        community: usize,
        body: Value,
    },
    Consult {
        community: usize,
        body: Value,
    },
    Reply {
        consult: usize,
        text: String,
    },
    Event {
        community: usize,
        body: Value,
    },
    Rsvp {
        event: usize,
        person: usize,
        status: &'static str,
    },
}

impl Step {
    /// Whether the step creates a document.
    pub fn creates_document(&self) -> bool {
        matches!(
            self,
            Step::Community { .. }
                | Step::Resource { .. }
                | Step::Consult { .. }
                | Step::Event { .. }
        )
    }

    /// The API request that performs the step: a path under `/api/v1` and its JSON body. `id`
    /// resolves what the step names by index to the id an earlier step created.
    pub fn request(&self, id: impl Fn(Ref) -> String) -> (String, Value) {
        let in_community = |body: &Value, community: usize| {
            let mut body = body.clone();
            body["community"] = json!(id(Ref::Community(community)));
            body
        };
        match self {
            Step::Community { name, rhythm } => (
                "/communities".into(),
                json!({ "name": name, "rhythm": rhythm }),
            ),
            Step::Person {
                community,
                name,
                level,
            } => (
                format!("/communities/{}/people", id(Ref::Community(*community))),
                json!({ "name": name, "level": level }),
            ),
            Step::Resource { community, body } => {
                ("/resources".into(), in_community(body, *community))
            }
            Step::Consult { community, body } => {
                ("/consults".into(), in_community(body, *community))
            }
            Step::Event { community, body } => ("/events".into(), in_community(body, *community)),
            Step::Reply { consult, text } => (
                format!("/consults/{}/replies", id(Ref::Consult(*consult))),
                json!({ "text": text }),
            ),
            Step::Rsvp {
                event,
                person,
                status,
            } => (
                format!("/events/{}/rsvps", id(Ref::Event(*event))),
                json!({ "person": id(Ref::Person(*person)), "status": status }),
            ),
        }
    }
}

/// What a step names by index: the n-th community, consult, event or person of the workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ref {
    Community(usize),
    Consult(usize),
    Event(usize),
    Person(usize),
}

/// The steps that build a federation's repertoire of `docs` documents.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    pub seed: u64,
    pub docs: usize,
    pub steps: Vec<Step>,
}

const TOPICS: &[&str] = &[
    "housing",
    "family violence",
    "resettlement",
    "school engagement",
    "mental health",
    "substance use",
    "trauma-informed practice",
    "kinship care",
    "employment",
    "legal aid",
];
const RESOURCE_KINDS: &[&str] = &["tool", "policy", "program-model", "research", "training"];
const RHYTHMS: &[&str] = &["weekly", "fortnightly", "monthly", "quarterly"];
const LEVELS: &[&str] = &["core", "active", "peripheral", "peripheral"];
const GIVEN: &[&str] = &[
    "Aroha", "Bilal", "Chen", "Dana", "Emeka", "Fatima", "Grace", "Hamish", "Ines", "Jae",
];
const FAMILY: &[&str] = &[
    "Walker", "Nguyen", "Okafor", "Singh", "Brown", "Haddad", "Lopez", "Kim", "Taylor", "Ali",
];

fn pick<'a>(rng: &mut StdRng, from: &[&'a str]) -> &'a str {
    from[rng.random_range(0..from.len())]
}

impl Workload {
    /// About 1% communities (each with a few people), 50% resources, 25% consults (0–5 replies
    /// each), 24% recurring events (0–6 RSVPs each).
    pub fn generate(seed: u64, docs: usize) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let communities = (docs / 100).max(1).min(docs);
        let mut steps = Vec::new();
        let mut people: Vec<Vec<usize>> = Vec::new();
        let mut person_count = 0;
        for c in 0..communities {
            let topic = pick(&mut rng, TOPICS);
            steps.push(Step::Community {
                name: format!("{} practice network {c}", capitalise(topic)),
                rhythm: pick(&mut rng, RHYTHMS),
            });
            let mut here = Vec::new();
            let mut names = std::collections::HashSet::new();
            for _ in 0..rng.random_range(3..8) {
                // A community lists each person once.
                let name = loop {
                    let name = format!("{} {}", pick(&mut rng, GIVEN), pick(&mut rng, FAMILY));
                    if names.insert(name.clone()) {
                        break name;
                    }
                };
                steps.push(Step::Person {
                    community: c,
                    name,
                    level: pick(&mut rng, LEVELS),
                });
                here.push(person_count);
                person_count += 1;
            }
            people.push(here);
        }
        let (mut consults, mut events) = (0usize, 0usize);
        for i in communities..docs {
            let community = rng.random_range(0..communities);
            let topic = pick(&mut rng, TOPICS);
            let roll = rng.random_range(0..100);
            if roll < 50 {
                steps.push(Step::Resource {
                    community,
                    body: json!({
                        "title": format!("{} guide {i}", capitalise(topic)),
                        "kind": pick(&mut rng, RESOURCE_KINDS),
                        "summary": format!("How our teams approach {topic}: steps, contacts and what to record. Revision {}.", rng.random_range(1..9)),
                        "topics": [topic],
                    }),
                });
            } else if roll < 75 {
                steps.push(Step::Consult {
                    community,
                    body: json!({
                        "title": format!("Consult {i} on {topic}"),
                        "question": format!("What has worked for you when {topic} gets in the way of a young person's plan?"),
                        "situation": "A young person in our program is at risk of losing their placement; the team has tried two approaches without success.",
                    }),
                });
                for r in 0..rng.random_range(0..6) {
                    steps.push(Step::Reply {
                        consult: consults,
                        text: format!("In our service we tried a shared plan with the school and a weekly check-in; reply {r}."),
                    });
                }
                consults += 1;
            } else {
                let day = rng.random_range(1..28);
                let hour = rng.random_range(9..17);
                steps.push(Step::Event {
                    community,
                    body: json!({
                        "title": format!("{} practice call {i}", capitalise(topic)),
                        "start": format!("2027-03-{day:02}T{hour:02}:00"),
                        "tz": "Australia/Melbourne",
                        "duration": "1h",
                        "rrule": "FREQ=MONTHLY;COUNT=12",
                    }),
                });
                let here = &people[community];
                for _ in 0..rng.random_range(0..=here.len().min(6)) {
                    steps.push(Step::Rsvp {
                        event: events,
                        person: here[rng.random_range(0..here.len())],
                        status: if rng.random_bool(0.8) {
                            "going"
                        } else {
                            "maybe"
                        },
                    });
                }
                events += 1;
            }
        }
        Self { seed, docs, steps }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_workload_and_sizes_are_met() {
        for docs in [1, 100, 1000] {
            let a = Workload::generate(7, docs);
            assert_eq!(a, Workload::generate(7, docs));
            assert_eq!(
                a.steps.iter().filter(|s| s.creates_document()).count(),
                docs
            );
        }
        assert_ne!(
            Workload::generate(7, 1000).steps,
            Workload::generate(8, 1000).steps
        );
        // Every kind of document and thread is there at realistic scale.
        let w = Workload::generate(1, 10_000);
        let count = |f: fn(&Step) -> bool| w.steps.iter().filter(|s| f(s)).count();
        assert_eq!(count(|s| matches!(s, Step::Community { .. })), 100);
        assert!(count(|s| matches!(s, Step::Resource { .. })) > 4_500);
        assert!(count(|s| matches!(s, Step::Consult { .. })) > 2_000);
        assert!(count(|s| matches!(s, Step::Reply { .. })) > 4_000);
        assert!(count(|s| matches!(s, Step::Event { .. })) > 2_000);
        assert!(count(|s| matches!(s, Step::Rsvp { .. })) > 2_000);
    }
}
