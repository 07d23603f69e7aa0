use std::path::Path;

use serde_json::json;

use crate::client::Client;
use crate::output;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Found a new federation with this node as its first member; prints the federation id
    Create {
        /// The federation's name
        name: String,
        /// What the federation is for
        #[arg(long)]
        charter: Option<String>,
    },
    /// List the member organisations
    Members {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(data: &Path, c: Command) -> anyhow::Result<()> {
    let client = Client::connect(data)?;
    match c {
        Command::Create { name, charter } => {
            let v = client
                .post("/federation", &json!({ "name": name, "charter": charter }))
                .await?;
            super::print_id(&v)
        }
        Command::Members { json } => {
            let v = client.get("/federation").await?;
            let members = v.get("members").cloned().unwrap_or_default();
            if json {
                output::json(&members);
            } else {
                output::table(
                    &members,
                    &[
                        ("node_id", "NODE"),
                        ("org", "ORGANISATION"),
                        ("role", "ROLE"),
                        ("status", "STATUS"),
                    ],
                );
            }
            Ok(())
        }
    }
}
