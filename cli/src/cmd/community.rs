use std::path::Path;

use serde_json::json;

use crate::client::{Client, segment};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Start a Community of Practice; prints its id
    Create {
        #[arg(long)]
        name: String,
        /// The shared domain of practice, e.g. "youth homelessness"
        #[arg(long)]
        domain: Option<String>,
        /// Why the community exists
        #[arg(long)]
        purpose: Option<String>,
        /// The practice it focuses on
        #[arg(long)]
        practice_focus: Option<String>,
    },
    /// List communities
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one community
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(data: &Path, c: Command) -> anyhow::Result<()> {
    let client = Client::connect(data)?;
    match c {
        Command::Create {
            name,
            domain,
            purpose,
            practice_focus,
        } => {
            let v = client
                .post(
                    "/communities",
                    &json!({ "name": name, "domain": domain, "purpose": purpose, "practice_focus": practice_focus }),
                )
                .await?;
            super::print_id(&v)
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
            super::show(
                &client,
                &format!("/communities/{}", segment(&id)),
                json,
                &[
                    ("id", "id"),
                    ("name", "name"),
                    ("domain", "domain"),
                    ("purpose", "purpose"),
                    ("practice_focus", "practice focus"),
                    ("creator", "created by"),
                    ("created_at", "created"),
                ],
            )
            .await
        }
    }
}
