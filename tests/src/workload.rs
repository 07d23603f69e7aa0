//! The generated workload (`copnet_node::workload`), played against a node's API by the tests and
//! the benchmark.

use anyhow::{Context, anyhow};
use serde_json::{Value, json};

pub use copnet_node::workload::{Step, Workload};

use crate::Api;

/// Plays a [`Workload`] through a node's API.
pub trait Apply {
    /// Plays the steps against `api`; returns the ids of the documents created, in order.
    fn apply(&self, api: &Api) -> anyhow::Result<Vec<String>>;

    /// Like [`Apply::apply`] with `writers` concurrent clients: communities and their people
    /// first, then each community's documents, replies and RSVPs in order, communities spread
    /// over the writers. The documents are the same; only the order of writes across
    /// communities differs.
    fn apply_parallel(&self, api: &Api, writers: usize) -> anyhow::Result<Vec<String>>;
}

impl Apply for Workload {
    fn apply(&self, api: &Api) -> anyhow::Result<Vec<String>> {
        self.apply_parallel(api, 1)
    }

    fn apply_parallel(&self, api: &Api, writers: usize) -> anyhow::Result<Vec<String>> {
        let id = |v: &Value| -> anyhow::Result<String> {
            v["id"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("no id in {v}"))
        };
        let (mut communities, mut people) = (Vec::new(), Vec::new());
        let mut created: Vec<(usize, String)> = Vec::with_capacity(self.docs);
        // Which community each consult and event (by index) belongs to.
        let (mut consult_of, mut event_of) = (Vec::new(), Vec::new());
        // (community, step number, consult or event number if it creates one, step)
        let mut later: Vec<(usize, usize, usize, &Step)> = Vec::new();
        for (n, step) in self.steps.iter().enumerate() {
            match step {
                Step::Community { name, rhythm } => {
                    let v =
                        api.create("/communities", &json!({ "name": name, "rhythm": rhythm }))?;
                    communities.push(id(&v)?);
                    created.push((n, id(&v)?));
                }
                Step::Person {
                    community,
                    name,
                    level,
                } => {
                    let v = api.create(
                        &format!("/communities/{}/people", communities[*community]),
                        &json!({ "name": name, "level": level }),
                    )?;
                    let person = v["person"]
                        .as_str()
                        .ok_or_else(|| anyhow!("no person id in {v}"))?;
                    people.push(person.to_owned());
                }
                Step::Resource { community, .. } => later.push((*community, n, 0, step)),
                Step::Consult { community, .. } => {
                    later.push((*community, n, consult_of.len(), step));
                    consult_of.push(*community);
                }
                Step::Event { community, .. } => {
                    later.push((*community, n, event_of.len(), step));
                    event_of.push(*community);
                }
                Step::Reply { consult, .. } => later.push((consult_of[*consult], n, 0, step)),
                Step::Rsvp { event, .. } => later.push((event_of[*event], n, 0, step)),
            }
        }
        let writers = writers.max(1);
        let results: Vec<anyhow::Result<Vec<(usize, String)>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..writers)
                .map(|w| {
                    let mine: Vec<&(usize, usize, usize, &Step)> =
                        later.iter().filter(|(c, ..)| c % writers == w).collect();
                    let (communities, people) = (&communities, &people);
                    scope.spawn(move || -> anyhow::Result<Vec<(usize, String)>> {
                        let mut consults = std::collections::HashMap::new();
                        let mut events = std::collections::HashMap::new();
                        let mut out = Vec::new();
                        let with = |mut body: Value, community: usize| {
                            body["community"] = json!(communities[community]);
                            body
                        };
                        for (_, n, own, step) in mine {
                            let created = match step {
                                Step::Resource { community, body } => {
                                    Some(api.create("/resources", &with(body.clone(), *community))?)
                                }
                                Step::Consult { community, body } => {
                                    let v =
                                        api.create("/consults", &with(body.clone(), *community))?;
                                    consults.insert(*own, id(&v)?);
                                    Some(v)
                                }
                                Step::Reply { consult, text } => {
                                    api.create(
                                        &format!("/consults/{}/replies", consults[consult]),
                                        &json!({ "text": text }),
                                    )?;
                                    None
                                }
                                Step::Event { community, body } => {
                                    let v =
                                        api.create("/events", &with(body.clone(), *community))?;
                                    events.insert(*own, id(&v)?);
                                    Some(v)
                                }
                                Step::Rsvp {
                                    event,
                                    person,
                                    status,
                                } => {
                                    api.create(
                                        &format!("/events/{}/rsvps", events[event]),
                                        &json!({ "person": people[*person], "status": status }),
                                    )?;
                                    None
                                }
                                Step::Community { .. } | Step::Person { .. } => None,
                            };
                            if let Some(v) = created {
                                out.push((*n, id(&v).with_context(|| format!("step {n}"))?));
                            }
                        }
                        Ok(out)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(anyhow!("a writer panicked")))
                })
                .collect()
        });
        for r in results {
            created.extend(r?);
        }
        created.sort_by_key(|(n, _)| *n);
        Ok(created.into_iter().map(|(_, id)| id).collect())
    }
}
