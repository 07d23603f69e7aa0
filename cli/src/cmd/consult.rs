use std::path::Path;

use serde_json::{Value, json};

use crate::client::{Client, list_path, segment};
use crate::output;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Bring a de-identified case to peers; prints the consult's id
    Open {
        #[arg(long)]
        community: String,
        #[arg(long)]
        title: String,
        /// The key question you want help with
        #[arg(long)]
        question: String,
        /// The de-identified case summary
        #[arg(long)]
        summary: String,
        /// members (default) or federation
        #[arg(long)]
        audience: Option<String>,
    },
    /// Reply to a consult
    Reply {
        id: String,
        #[arg(long)]
        text: String,
    },
    /// List consults
    List {
        #[arg(long)]
        community: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show a consult with its replies
    Show {
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
            ("status", "status"),
            ("community", "community"),
            ("question", "question"),
            ("summary", "summary"),
            ("audience", "audience"),
            ("creator", "presenter"),
            ("created_at", "opened"),
        ],
    );
    let replies = v
        .get("replies")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    println!(
        "\n{} repl{}",
        replies.len(),
        if replies.len() == 1 { "y" } else { "ies" }
    );
    for r in replies {
        println!(
            "\n— {} at {}",
            output::field(&r, "author"),
            output::field(&r, "created_at")
        );
        for line in output::field(&r, "text").lines() {
            println!("  {line}");
        }
    }
}

pub async fn run(data: &Path, c: Command) -> anyhow::Result<()> {
    let client = Client::connect(data)?;
    match c {
        Command::Open {
            community,
            title,
            question,
            summary,
            audience,
        } => {
            let v = client
                .post(
                    "/consults",
                    &json!({
                        "community": community, "title": title, "question": question,
                        "summary": summary, "audience": audience,
                    }),
                )
                .await?;
            super::print_id(&v)
        }
        Command::Reply { id, text } => {
            let v = client
                .post(
                    &format!("/consults/{}/replies", segment(&id)),
                    &json!({ "text": text }),
                )
                .await?;
            let n = v.get("reply_count").and_then(Value::as_u64).unwrap_or(0);
            println!(
                "replied to {} ({n} repl{} now)",
                output::field(&v, "id"),
                if n == 1 { "y" } else { "ies" }
            );
            Ok(())
        }
        Command::List { community, json } => {
            super::list(
                &client,
                &list_path("/consults", community.as_deref()),
                json,
                &[
                    ("id", "ID"),
                    ("status", "STATUS"),
                    ("reply_count", "REPLIES"),
                    ("title", "TITLE"),
                ],
            )
            .await
        }
        Command::Show { id, json } => {
            let v = client.get(&format!("/consults/{}", segment(&id))).await?;
            if json {
                output::json(&v);
            } else {
                show(&v);
            }
            Ok(())
        }
    }
}
