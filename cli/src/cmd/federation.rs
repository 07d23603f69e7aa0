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
    /// Create a one-time invite; prints the token (and nothing else) on stdout
    Invite {
        /// member (reads and writes) or peripheral (receives a read-only replica)
        #[arg(long, default_value = "member")]
        role: String,
        /// How long the invite stays valid, e.g. 72h, 30m, 7d
        #[arg(long, default_value = "72h")]
        expires: String,
    },
    /// List the invites this node issued that nobody has used (open, expired, revoked)
    Invites {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Revoke an unused invite this node issued, by the key `federation invites` lists
    RevokeInvite {
        /// The invite's key (64 hex digits)
        key: String,
    },
    /// Join a federation with an invite token; returns once admitted and first synced
    Join {
        /// The token from `copnet federation invite`
        token: String,
    },
    /// Leave the federation: publish a signed departure, disconnect, stop syncing
    Leave {
        /// Also delete every document this node holds
        #[arg(long)]
        purge: bool,
    },
    /// Propose (or endorse) removing an organisation; it takes effect at a strict majority of
    /// the other members
    Remove {
        /// The node id (12D3KooW…) of the organisation to remove
        node: String,
        /// Why, for the record every member keeps
        #[arg(long)]
        reason: String,
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
                        ("connected", "CONNECTED"),
                    ],
                );
            }
            Ok(())
        }
        Command::Invite { role, expires } => {
            let v = client
                .post(
                    "/federation/invites",
                    &json!({ "role": role, "expires": expires }),
                )
                .await?;
            let token = v
                .get("token")
                .and_then(|t| t.as_str())
                .ok_or_else(|| anyhow::anyhow!("the node's answer has no token"))?;
            println!("{token}");
            Ok(())
        }
        Command::Invites { json } => {
            let v = client.get("/federation/invites").await?;
            if json {
                output::json(&v);
            } else {
                output::table(
                    &v,
                    &[
                        ("key", "KEY"),
                        ("role", "ROLE"),
                        ("state", "STATE"),
                        ("expires_at", "EXPIRES"),
                    ],
                );
            }
            Ok(())
        }
        Command::RevokeInvite { key } => {
            let path = format!("/federation/invites/{}/revoke", key.trim());
            client.post(&path, &json!({})).await?;
            println!("revoked invite {}", key.trim());
            Ok(())
        }
        Command::Join { token } => {
            let v = client
                .post("/federation/join", &json!({ "token": token }))
                .await?;
            println!(
                "joined {} ({}) as {}",
                output::field(&v, "name"),
                output::field(&v, "id"),
                output::field(&v, "role")
            );
            if let Some(err) = v.pointer("/first_sync/error").and_then(|e| e.as_str()) {
                eprintln!("note: first sync incomplete ({err}); it continues in the background");
            }
            Ok(())
        }
        Command::Leave { purge } => {
            let v = client
                .post("/federation/leave", &json!({ "purge": purge }))
                .await?;
            println!(
                "left the federation; {} of {} connected peer(s) confirmed it{}",
                output::field(&v, "delivered_to"),
                output::field(&v, "connected"),
                if purge {
                    "; local documents deleted"
                } else {
                    "; local documents kept"
                }
            );
            Ok(())
        }
        Command::Remove { node, reason } => {
            let v = client
                .post(
                    "/federation/remove",
                    &json!({ "node": node, "reason": reason }),
                )
                .await?;
            let outcome = output::field(&v, "outcome");
            println!(
                "{outcome}: {} of {} other members have endorsed removing {}",
                output::field(&v, "votes"),
                output::field(&v, "electorate"),
                output::field(&v, "target")
            );
            Ok(())
        }
    }
}
