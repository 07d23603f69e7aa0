use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::client::{Client, list_path, segment};
use crate::output;

/// What an event is about and where, shared by `schedule` and `edit`.
#[derive(clap::Args)]
pub struct Details {
    /// call, webinar, meeting (default) or training
    #[arg(long)]
    kind: Option<String>,
    /// Where it happens; on edit, an empty string removes it
    #[arg(long)]
    location: Option<String>,
    /// The meeting link; on edit, an empty string removes it
    #[arg(long)]
    link: Option<String>,
    #[arg(long)]
    agenda: Option<String>,
}

impl Details {
    fn fields(self, m: &mut Map<String, Value>) {
        super::put_given(
            m,
            [
                ("kind", self.kind),
                ("location", self.location),
                ("link", self.link),
                ("agenda", self.agenda),
            ],
        );
    }
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Schedule an event; prints its id
    Schedule {
        #[arg(long)]
        community: String,
        #[arg(long)]
        title: String,
        /// Local start time, e.g. 2026-12-03T15:00
        #[arg(long)]
        start: String,
        /// IANA time zone of the start, e.g. America/Toronto
        #[arg(long)]
        tz: String,
        /// e.g. 60m, 1h30m
        #[arg(long)]
        duration: String,
        /// RFC 5545 recurrence, e.g. FREQ=MONTHLY;BYDAY=1TH
        #[arg(long)]
        rrule: Option<String>,
        #[command(flatten)]
        details: Details,
    },
    /// Change an event (calendars see a new SEQUENCE)
    Edit {
        id: String,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        start: Option<String>,
        #[arg(long)]
        tz: Option<String>,
        #[arg(long)]
        duration: Option<String>,
        /// New recurrence; an empty string makes it a one-off
        #[arg(long)]
        rrule: Option<String>,
        #[command(flatten)]
        details: Details,
    },
    /// List events
    List {
        #[arg(long)]
        community: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one event with its next occurrences
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Say whether someone is coming to an occurrence
    Rsvp {
        id: String,
        /// The person's id in the community (`copnet community show ID` lists them)
        #[arg(long)]
        person: String,
        /// going, maybe or declined
        #[arg(long)]
        status: String,
        /// The occurrence's date, YYYY-MM-DD [default: the next one]
        #[arg(long)]
        occurrence: Option<String>,
    },
    /// Cancel one occurrence, or the whole series
    Cancel {
        id: String,
        /// The occurrence's date, YYYY-MM-DD; without it the whole series is cancelled
        #[arg(long)]
        occurrence: Option<String>,
    },
    /// Afterwards: notes, minutes and who attended an occurrence
    Record {
        id: String,
        /// The occurrence's date, YYYY-MM-DD
        #[arg(long)]
        occurrence: String,
        #[arg(long)]
        notes: Option<String>,
        #[arg(long)]
        minutes: Option<String>,
        /// A person id who attended (repeat)
        #[arg(long = "attended")]
        attended: Vec<String>,
    },
    /// The event as an iCalendar file
    Ics {
        id: String,
        /// Write it to this file instead of standard output
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print the address a calendar app can subscribe to instead
        #[arg(long)]
        url: bool,
    },
    /// Who changed what, when
    History {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

fn show(v: &Value) {
    output::block(
        v,
        &[
            ("id", "id"),
            ("title", "title"),
            ("kind", "kind"),
            ("community", "community"),
            ("start", "starts"),
            ("tz", "time zone"),
            ("start_utc", "starts (UTC)"),
            ("duration_minutes", "minutes"),
            ("rrule", "repeats"),
            ("location", "location"),
            ("link", "link"),
            ("agenda", "agenda"),
            ("cancelled", "cancelled"),
            ("creator_org", "organised by"),
        ],
    );
    if let Some(up) = v.get("upcoming").and_then(Value::as_array) {
        println!("\nnext occurrences");
        let rows: Vec<Value> = up
            .iter()
            .map(|o| {
                let mut o = o.clone();
                if o["cancelled"] == json!(true) {
                    o["state"] = json!("cancelled");
                }
                o
            })
            .collect();
        output::table(
            &Value::Array(rows),
            &[
                ("occurrence", "OCCURRENCE"),
                ("going", "GOING"),
                ("maybe", "MAYBE"),
                ("declined", "DECLINED"),
                ("state", ""),
            ],
        );
    }
}

pub async fn run(data: &Path, c: Command) -> anyhow::Result<()> {
    let client = Client::connect(data)?;
    let path = |id: &str, rest: &str| format!("/events/{}{rest}", segment(id));
    match c {
        Command::Schedule {
            community,
            title,
            start,
            tz,
            duration,
            rrule,
            details,
        } => {
            let mut m = Map::new();
            super::put_given(
                &mut m,
                [
                    ("community", Some(community)),
                    ("title", Some(title)),
                    ("start", Some(start)),
                    ("tz", Some(tz)),
                    ("duration", Some(duration)),
                    ("rrule", rrule),
                ],
            );
            details.fields(&mut m);
            let v = client.post("/events", &Value::Object(m)).await?;
            super::print_id(&v)
        }
        Command::Edit {
            id,
            title,
            start,
            tz,
            duration,
            rrule,
            details,
        } => {
            let mut m = Map::new();
            super::put_given(
                &mut m,
                [
                    ("title", title),
                    ("start", start),
                    ("tz", tz),
                    ("duration", duration),
                    ("rrule", rrule),
                ],
            );
            details.fields(&mut m);
            let v = client.patch(&path(&id, ""), &Value::Object(m)).await?;
            println!("updated {}", output::field(&v, "id"));
            Ok(())
        }
        Command::List { community, json } => {
            super::list(
                &client,
                &list_path("/events", community.as_deref()),
                json,
                &[
                    ("id", "ID"),
                    ("kind", "KIND"),
                    ("start", "START"),
                    ("tz", "TIME ZONE"),
                    ("rrule", "REPEATS"),
                    ("title", "TITLE"),
                ],
            )
            .await
        }
        Command::Show { id, json } => {
            let v = client.get(&path(&id, "")).await?;
            if json {
                output::json(&v);
            } else {
                show(&v);
            }
            Ok(())
        }
        Command::Rsvp {
            id,
            person,
            status,
            occurrence,
        } => {
            let v = client
                .post(
                    &path(&id, "/rsvps"),
                    &json!({ "person": person, "status": status, "occurrence": occurrence }),
                )
                .await?;
            println!(
                "{} is {} on {}",
                person.trim(),
                status.trim(),
                output::field(&v, "occurrence")
            );
            Ok(())
        }
        Command::Cancel { id, occurrence } => {
            let v = client
                .post(&path(&id, "/cancel"), &json!({ "occurrence": occurrence }))
                .await?;
            match occurrence {
                Some(o) => println!(
                    "cancelled the occurrence on {o} of {}",
                    output::field(&v, "id")
                ),
                None => println!("cancelled every occurrence of {}", output::field(&v, "id")),
            }
            Ok(())
        }
        Command::Record {
            id,
            occurrence,
            notes,
            minutes,
            attended,
        } => {
            let v = client
                .post(
                    &path(&id, "/record"),
                    &json!({ "occurrence": occurrence, "notes": notes, "minutes": minutes, "attended": attended }),
                )
                .await?;
            println!("recorded {occurrence} of {}", output::field(&v, "id"));
            Ok(())
        }
        Command::Ics { id, out, url } => {
            let p = path(&id, "/calendar.ics");
            if url {
                let info = client.get("/calendar").await?;
                println!("{}{p}?key={}", client.base(), output::field(&info, "key"));
                return Ok(());
            }
            super::community::write_ics(&client, &p, out).await
        }
        Command::History { id, json } => {
            super::history(&client, &path(&id, "/history"), json).await
        }
    }
}
