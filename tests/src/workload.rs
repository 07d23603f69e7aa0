//! The generated workload (`copnet_node::workload`), played against a node's API by the tests and
//! the benchmark.

use std::collections::HashMap;

use anyhow::{Context, anyhow};
use serde_json::Value;

pub use copnet_node::workload::{Ref, Step, Workload};

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
        let (mut communities, mut people): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
        let mut created: Vec<(usize, String)> = Vec::with_capacity(self.docs);
        // Which community each consult and event (by index) belongs to.
        let (mut consult_of, mut event_of) = (Vec::new(), Vec::new());
        // (community, step number, consult or event number if it creates one, step)
        let mut later: Vec<(usize, usize, usize, &Step)> = Vec::new();
        for (n, step) in self.steps.iter().enumerate() {
            match step {
                Step::Community { .. } | Step::Person { .. } => {
                    let (path, body) = step.request(|r| match r {
                        Ref::Community(c) => communities[c].clone(),
                        other => unreachable!("communities and people name only {other:?}"),
                    });
                    let v = api.create(&path, &body)?;
                    if let Step::Community { .. } = step {
                        communities.push(id(&v)?);
                        created.push((n, id(&v)?));
                    } else {
                        let person = v["person"]
                            .as_str()
                            .ok_or_else(|| anyhow!("no person id in {v}"))?;
                        people.push(person.to_owned());
                    }
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
                        let mut consults: HashMap<usize, String> = HashMap::new();
                        let mut events: HashMap<usize, String> = HashMap::new();
                        let mut out = Vec::new();
                        for (_, n, own, step) in mine {
                            let (path, body) = step.request(|r| match r {
                                Ref::Community(c) => communities[c].clone(),
                                Ref::Person(p) => people[p].clone(),
                                Ref::Consult(k) => consults[&k].clone(),
                                Ref::Event(k) => events[&k].clone(),
                            });
                            let v = api.create(&path, &body)?;
                            match step {
                                Step::Consult { .. } => {
                                    consults.insert(*own, id(&v)?);
                                }
                                Step::Event { .. } => {
                                    events.insert(*own, id(&v)?);
                                }
                                _ => {}
                            }
                            if step.creates_document() {
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
