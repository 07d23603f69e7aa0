use std::path::Path;

use serde_json::json;

use crate::client::{Client, list_path, segment};

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
    },
    /// List events
    List {
        #[arg(long)]
        community: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one event
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(data: &Path, c: Command) -> anyhow::Result<()> {
    let client = Client::connect(data)?;
    match c {
        Command::Schedule {
            community,
            title,
            start,
            tz,
            duration,
            rrule,
        } => {
            let v = client
                .post(
                    "/events",
                    &json!({
                        "community": community, "title": title, "start": start,
                        "tz": tz, "duration": duration, "rrule": rrule,
                    }),
                )
                .await?;
            super::print_id(&v)
        }
        Command::List { community, json } => {
            super::list(
                &client,
                &list_path("/events", community.as_deref()),
                json,
                &[
                    ("id", "ID"),
                    ("start", "START"),
                    ("tz", "TIME ZONE"),
                    ("title", "TITLE"),
                ],
            )
            .await
        }
        Command::Show { id, json } => {
            super::show(
                &client,
                &format!("/events/{}", segment(&id)),
                json,
                &[
                    ("id", "id"),
                    ("title", "title"),
                    ("community", "community"),
                    ("start", "starts"),
                    ("tz", "time zone"),
                    ("start_utc", "starts (UTC)"),
                    ("duration_minutes", "minutes"),
                    ("rrule", "repeats"),
                    ("creator", "organised by"),
                ],
            )
            .await
        }
    }
}
