use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::client::{Client, segment};
use crate::output;

/// The charter, as flags shared by `create` and `edit`.
#[derive(clap::Args, Default)]
pub struct Charter {
    /// The shared domain of practice, e.g. "youth homelessness"
    #[arg(long)]
    domain: Option<String>,
    /// Why the community exists
    #[arg(long)]
    purpose: Option<String>,
    /// The practice it focuses on
    #[arg(long)]
    practice_focus: Option<String>,
    /// Who it is for, e.g. "frontline youth workers and team leaders"
    #[arg(long)]
    audience: Option<String>,
    /// A goal (repeat for several)
    #[arg(long = "goal")]
    goals: Vec<String>,
    /// An outcome the community works towards (repeat)
    #[arg(long = "outcome")]
    outcomes: Vec<String>,
    /// A stakeholder group it wants at the table (repeat)
    #[arg(long = "stakeholder")]
    stakeholders: Vec<String>,
    /// A topic (repeat)
    #[arg(long = "topic")]
    topics: Vec<String>,
    /// How often it means to meet: weekly, fortnightly, monthly or quarterly (the report checks
    /// each beat); on edit, an empty string removes it
    #[arg(long)]
    rhythm: Option<String>,
}

impl Charter {
    fn fields(self, m: &mut Map<String, Value>) {
        super::put_given(
            m,
            [
                ("domain", self.domain),
                ("purpose", self.purpose),
                ("practice_focus", self.practice_focus),
                ("audience", self.audience),
                ("rhythm", self.rhythm),
            ],
        );
        for (k, v) in [
            ("goals", self.goals),
            ("outcomes", self.outcomes),
            ("stakeholders", self.stakeholders),
            ("topics", self.topics),
        ] {
            if !v.is_empty() {
                m.insert(k.into(), json!(v));
            }
        }
    }
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Start a Community of Practice; prints its id
    Create {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        charter: Charter,
    },
    /// Change the charter; a list flag given replaces that whole list
    Edit {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        charter: Charter,
    },
    /// List communities
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one community: its charter and people
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Someone from this organisation joins the community; prints their person id
    Join {
        id: String,
        /// How the person is known in the community, e.g. "Sam R." (practitioners, not clients)
        #[arg(long)]
        name: String,
        /// core, active or peripheral (default)
        #[arg(long)]
        level: Option<String>,
        /// An area of expertise (repeat)
        #[arg(long = "expertise")]
        expertise: Vec<String>,
        /// The person looks after the community (facilitator, coordinator)
        #[arg(long)]
        steward: bool,
        /// A stakeholder group the person speaks for, e.g. "schools" (repeat)
        #[arg(long = "group")]
        groups: Vec<String>,
    },
    /// Change a person's level, expertise or steward role, or record that they left
    Person {
        id: String,
        person: String,
        #[arg(long)]
        level: Option<String>,
        /// Replaces their areas of expertise (repeat)
        #[arg(long = "expertise")]
        expertise: Vec<String>,
        #[arg(long)]
        steward: Option<bool>,
        /// Replaces the stakeholder groups they speak for (repeat)
        #[arg(long = "group")]
        groups: Vec<String>,
        /// Record that the person left the community
        #[arg(long, conflicts_with = "rejoin")]
        leave: bool,
        /// Bring back someone who left
        #[arg(long)]
        rejoin: bool,
    },
    /// The community's own words for the de-identification gate
    Terms {
        id: String,
        /// Flag this term in the community's consults (repeat)
        #[arg(long = "add")]
        add: Vec<String>,
        /// Stop flagging this term (repeat)
        #[arg(long = "remove")]
        remove: Vec<String>,
        /// A small place that identifies a family together with an exact age (repeat)
        #[arg(long = "place")]
        places: Vec<String>,
        /// Stop treating this place as small (repeat)
        #[arg(long = "remove-place")]
        remove_places: Vec<String>,
    },
    /// The community's events as an iCalendar feed
    Ics {
        id: String,
        /// Write the calendar to this file instead of standard output
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print the address a calendar app can subscribe to instead
        #[arg(long)]
        url: bool,
    },
    /// Who changed the charter and people, when
    History {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Each member's declared and observed level, from activity over the last 90 days. For your
    /// facilitators only: never replicated, never in the report
    Participation {
        id: String,
        /// End of the observation window, YYYY-MM-DD [default: now]
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

fn show(v: &Value) {
    output::block(
        v,
        &[
            ("id", "id"),
            ("name", "name"),
            ("domain", "domain"),
            ("practice_focus", "practice focus"),
            ("purpose", "purpose"),
            ("audience_description", "for"),
            ("goals", "goals"),
            ("outcomes", "outcomes"),
            ("stakeholders", "stakeholders"),
            ("topics", "topics"),
            ("rhythm", "rhythm"),
            ("privacy_terms", "privacy terms"),
            ("small_places", "small places"),
            ("creator_org", "created by"),
            ("created_at", "created"),
        ],
    );
    let people: Vec<Value> = v
        .get("people")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    println!("\npeople");
    let rows: Vec<Value> = people
        .into_iter()
        .map(|mut p| {
            let mut role = output::field(&p, "level");
            if p["steward"] == json!(true) {
                role.push_str(", steward");
            }
            if !p["left_at"].is_null() {
                role = format!("left ({role})");
            }
            p["role"] = json!(role);
            p
        })
        .collect();
    output::table(
        &Value::Array(rows),
        &[
            ("id", "ID"),
            ("name", "NAME"),
            ("role", "LEVEL"),
            ("expertise", "EXPERTISE"),
        ],
    );
}

/// Adds and removes items of a list, keeping its order.
fn edit_list(current: &Value, add: &[String], remove: &[String]) -> Vec<String> {
    let mut list: Vec<String> = current
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    list.retain(|t| !remove.iter().any(|r| r.trim().eq_ignore_ascii_case(t)));
    for a in add {
        if !list.iter().any(|t| t.eq_ignore_ascii_case(a.trim())) {
            list.push(a.trim().to_owned());
        }
    }
    list
}

/// Writes a calendar to `out`, or standard output.
pub async fn write_ics(client: &Client, path: &str, out: Option<PathBuf>) -> anyhow::Result<()> {
    let bytes = client.get_bytes(path).await?;
    match out {
        Some(file) => {
            std::fs::write(&file, &bytes)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", file.display()))?;
            println!("wrote {}", file.display());
        }
        None => print!("{}", String::from_utf8_lossy(&bytes)),
    }
    Ok(())
}

pub async fn run(data: &Path, c: Command) -> anyhow::Result<()> {
    let client = Client::connect(data)?;
    match c {
        Command::Create { name, charter } => {
            let mut m = Map::new();
            m.insert("name".into(), json!(name));
            charter.fields(&mut m);
            let v = client.post("/communities", &Value::Object(m)).await?;
            super::print_id(&v)
        }
        Command::Edit { id, name, charter } => {
            let mut m = Map::new();
            if let Some(n) = name {
                m.insert("name".into(), json!(n));
            }
            charter.fields(&mut m);
            let v = client
                .patch(&format!("/communities/{}", segment(&id)), &Value::Object(m))
                .await?;
            println!("updated {}", output::field(&v, "id"));
            Ok(())
        }
        Command::List { json } => {
            super::list(
                &client,
                "/communities",
                json,
                &[("id", "ID"), ("name", "NAME"), ("domain", "DOMAIN")],
            )
            .await
        }
        Command::Show { id, json } => {
            let v = client
                .get(&format!("/communities/{}", segment(&id)))
                .await?;
            if json {
                output::json(&v);
            } else {
                show(&v);
            }
            Ok(())
        }
        Command::Join {
            id,
            name,
            level,
            expertise,
            steward,
            groups,
        } => {
            let v = client
                .post(
                    &format!("/communities/{}/people", segment(&id)),
                    &json!({ "name": name, "level": level, "expertise": expertise, "steward": steward, "groups": groups }),
                )
                .await?;
            println!("{}", output::field(&v, "person"));
            Ok(())
        }
        Command::Person {
            id,
            person,
            level,
            expertise,
            steward,
            groups,
            leave,
            rejoin,
        } => {
            let mut m = Map::new();
            if let Some(l) = level {
                m.insert("level".into(), json!(l));
            }
            if !expertise.is_empty() {
                m.insert("expertise".into(), json!(expertise));
            }
            if let Some(s) = steward {
                m.insert("steward".into(), json!(s));
            }
            if !groups.is_empty() {
                m.insert("groups".into(), json!(groups));
            }
            if leave || rejoin {
                m.insert("left".into(), json!(leave));
            }
            client
                .patch(
                    &format!("/communities/{}/people/{}", segment(&id), segment(&person)),
                    &Value::Object(m),
                )
                .await?;
            println!("updated {}", person.trim());
            Ok(())
        }
        Command::Terms {
            id,
            add,
            remove,
            places,
            remove_places,
        } => {
            let path = format!("/communities/{}", segment(&id));
            let current = client.get(&path).await?;
            if add.is_empty() && remove.is_empty() && places.is_empty() && remove_places.is_empty()
            {
                output::block(
                    &current,
                    &[
                        ("privacy_terms", "privacy terms"),
                        ("small_places", "small places"),
                    ],
                );
                return Ok(());
            }
            let terms = edit_list(&current["privacy_terms"], &add, &remove);
            let small = edit_list(&current["small_places"], &places, &remove_places);
            let v = client
                .patch(
                    &path,
                    &json!({ "privacy_terms": terms, "small_places": small }),
                )
                .await?;
            output::block(
                &v,
                &[
                    ("privacy_terms", "privacy terms"),
                    ("small_places", "small places"),
                ],
            );
            Ok(())
        }
        Command::Ics { id, out, url } => {
            let path = format!("/communities/{}/calendar.ics", segment(&id));
            if url {
                let info = client.get("/calendar").await?;
                println!(
                    "{}{path}?key={}",
                    client.base(),
                    output::field(&info, "key")
                );
                return Ok(());
            }
            write_ics(&client, &path, out).await
        }
        Command::History { id, json } => {
            super::history(
                &client,
                &format!("/communities/{}/history", segment(&id)),
                json,
            )
            .await
        }
        Command::Participation { id, at, json } => {
            let mut p = format!("/communities/{}/participation", segment(&id));
            if let Some(at) = at {
                p.push_str(&format!("?at={}", crate::client::query_value(&at)));
            }
            let v = client.get(&p).await?;
            if json {
                output::json(&v);
                return Ok(());
            }
            println!(
                "{} to {}; {} meetings held. {}",
                output::field(&v, "window_from"),
                output::field(&v, "window_to"),
                output::field(&v, "meetings_held"),
                output::field(&v, "notice")
            );
            let rows: Vec<Value> = v["people"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|mut p| {
                    let moved = match (p["observed_before"].as_str(), p["observed"].as_str()) {
                        (Some(b), Some(n)) if b != n => format!("{b} → {n}"),
                        (None, _) => "new".into(),
                        _ => String::new(),
                    };
                    p["moved"] = json!(moved);
                    p
                })
                .collect();
            output::table(
                &Value::Array(rows),
                &[
                    ("name", "NAME"),
                    ("organisation", "ORGANISATION"),
                    ("declared", "DECLARED"),
                    ("observed", "OBSERVED"),
                    ("moved", "MOVED"),
                    ("contributions", "CONTRIBUTED"),
                    ("attended", "ATTENDED"),
                    ("rsvps", "RSVPS"),
                ],
            );
            println!("\n{}", output::field(&v, "rule"));
            Ok(())
        }
    }
}
