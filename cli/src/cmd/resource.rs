use std::path::Path;

use serde_json::{Map, Value, json};

use crate::client::{Client, list_path, segment};
use crate::output;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Add a resource to a community's repertoire; prints its id
    Add {
        #[arg(long)]
        community: String,
        #[arg(long)]
        title: String,
        /// tool, policy, program-model, research, training or template
        #[arg(long)]
        kind: String,
        #[arg(long)]
        summary: Option<String>,
        #[arg(long)]
        url: Option<String>,
        /// A topic tag (repeatable)
        #[arg(long = "topic")]
        topics: Vec<String>,
        /// federation (default) or members
        #[arg(long)]
        audience: Option<String>,
    },
    /// List resources
    List {
        #[arg(long)]
        community: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one resource
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a resource's fields
    Edit {
        id: String,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        summary: Option<String>,
        /// New link; an empty string removes it
        #[arg(long)]
        url: Option<String>,
        /// Replace the topics (repeatable)
        #[arg(long = "topic")]
        topics: Vec<String>,
        /// Remove every topic
        #[arg(long, conflicts_with = "topics")]
        clear_topics: bool,
    },
}

const SHOW: &[(&str, &str)] = &[
    ("id", "id"),
    ("title", "title"),
    ("kind", "kind"),
    ("community", "community"),
    ("summary", "summary"),
    ("url", "link"),
    ("topics", "topics"),
    ("audience", "audience"),
    ("creator", "created by"),
    ("created_at", "created"),
    ("updated_at", "updated"),
];

pub async fn run(data: &Path, c: Command) -> anyhow::Result<()> {
    let client = Client::connect(data)?;
    match c {
        Command::Add {
            community,
            title,
            kind,
            summary,
            url,
            topics,
            audience,
        } => {
            let v = client
                .post(
                    "/resources",
                    &json!({
                        "community": community, "title": title, "kind": kind,
                        "summary": summary, "url": url, "topics": topics, "audience": audience,
                    }),
                )
                .await?;
            super::print_id(&v)
        }
        Command::List { community, json } => {
            super::list(
                &client,
                &list_path("/resources", community.as_deref()),
                json,
                &[
                    ("id", "ID"),
                    ("kind", "KIND"),
                    ("title", "TITLE"),
                    ("topics", "TOPICS"),
                ],
            )
            .await
        }
        Command::Show { id, json } => {
            super::show(&client, &format!("/resources/{}", segment(&id)), json, SHOW).await
        }
        Command::Edit {
            id,
            title,
            kind,
            summary,
            url,
            topics,
            clear_topics,
        } => {
            let mut edit = Map::new();
            let mut put = |k: &str, v: Option<String>| {
                if let Some(v) = v {
                    edit.insert(k.into(), Value::String(v));
                }
            };
            put("title", title);
            put("kind", kind);
            put("summary", summary);
            put("url", url);
            if clear_topics || !topics.is_empty() {
                edit.insert("topics".into(), json!(topics));
            }
            let v = client
                .patch(
                    &format!("/resources/{}", segment(&id)),
                    &Value::Object(edit),
                )
                .await?;
            output::block(&v, SHOW);
            Ok(())
        }
    }
}
