//! `copnet account`: the web interface's sign-in accounts on this node.

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use anyhow::{Context, bail};
use serde_json::json;

use crate::client::{Client, segment};
use crate::output;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Add an account; asks for its password twice (the first account must be an admin)
    Add {
        /// The name to sign in with: letters, digits and . _ - @
        name: String,
        /// admin, facilitator or practitioner
        #[arg(long)]
        role: String,
        /// The name shown on what they post, e.g. "Aroha Walker" [default: the account name]
        #[arg(long, value_name = "NAME")]
        display_name: Option<String>,
        /// Read the password from the first line of standard input instead of asking
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the accounts (names and roles; never passwords)
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove an account (the last admin cannot be removed)
    Remove { name: String },
}

pub async fn run(data: &Path, c: Command) -> anyhow::Result<()> {
    let client = Client::connect(data)?;
    match c {
        Command::Add {
            name,
            role,
            display_name,
            password_stdin,
        } => {
            let password = if password_stdin {
                read_stdin_line()?
            } else {
                ask_password(&name)?
            };
            let v = client
                .post(
                    "/accounts",
                    &json!({ "name": name, "role": role, "password": password, "display_name": display_name }),
                )
                .await?;
            println!(
                "added {} ({})",
                v["name"].as_str().unwrap_or(&name),
                v["role"].as_str().unwrap_or(&role)
            );
            Ok(())
        }
        Command::List { json } => {
            let v = client.get("/accounts").await?;
            if json {
                output::json(&v);
            } else {
                output::table(&v, &[("name", "NAME"), ("role", "ROLE")]);
            }
            Ok(())
        }
        Command::Remove { name } => {
            client
                .delete(&format!("/accounts/{}", segment(&name)))
                .await?;
            println!("removed {name}");
            Ok(())
        }
    }
}

fn read_stdin_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!(
            "no password on standard input: pipe it in, e.g. `copnet account add sam --role admin --password-stdin < file`"
        );
    }
    Ok(password)
}

fn ask_password(name: &str) -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "standard input is not a terminal, so the password cannot be asked for: add --password-stdin and pipe it in"
        );
    }
    let first =
        rpassword::prompt_password(format!("Password for {name} (15 characters or more): "))
            .context("reading the password")?;
    let again =
        rpassword::prompt_password("The same password again: ").context("reading the password")?;
    if first != again {
        bail!("the two passwords differ; nothing was changed, run the command again");
    }
    Ok(first)
}
