use std::path::Path;

use serde_json::{Map, Value, json};

use crate::client::{Client, list_path, segment};
use crate::output;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Tell what taking part led to; prints the story's id. Checked by the de-identification
    /// gate like a consult
    Tell {
        #[arg(long)]
        community: String,
        #[arg(long)]
        title: String,
        #[arg(long)]
        text: String,
        /// Where it sits on the value cycles: immediate, potential, applied, realised or
        /// transformative
        #[arg(long)]
        cycle: String,
        /// A consult, event or resource the story draws on (repeat)
        #[arg(long = "link")]
        links: Vec<String>,
        /// Whose story it is, of your organisation (person id or name)
        #[arg(long = "as", value_name = "PERSON")]
        person: Option<String>,
        /// members (default) or federation
        #[arg(long)]
        audience: Option<String>,
        #[arg(long)]
        attest: Option<String>,
    },
    /// List stories
    List {
        #[arg(long)]
        community: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show a story
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(data: &Path, c: Command) -> anyhow::Result<()> {
    let client = Client::connect(data)?;
    match c {
        Command::Tell {
            community,
            title,
            text,
            cycle,
            links,
            person,
            audience,
            attest,
        } => {
            let mut m = Map::new();
            m.insert("community".into(), json!(community));
            m.insert("title".into(), json!(title));
            m.insert("text".into(), json!(text));
            m.insert("cycle".into(), json!(cycle));
            m.insert("links".into(), json!(links));
            super::put_given(
                &mut m,
                [
                    ("person", person),
                    ("audience", audience),
                    ("attest", attest),
                ],
            );
            let v = client.post("/stories", &Value::Object(m)).await?;
            super::print_id(&v)
        }
        Command::List { community, json } => {
            super::list(
                &client,
                &list_path("/stories", community.as_deref()),
                json,
                &[
                    ("id", "ID"),
                    ("cycle", "CYCLE"),
                    ("creator_org", "FROM"),
                    ("title", "TITLE"),
                ],
            )
            .await
        }
        Command::Show { id, json } => {
            let v = client.get(&format!("/stories/{}", segment(&id))).await?;
            if json {
                output::json(&v);
            } else {
                output::block(
                    &v,
                    &[
                        ("id", "id"),
                        ("title", "title"),
                        ("cycle", "cycle"),
                        ("creator_org", "from"),
                        ("created_at", "told"),
                        ("links", "links"),
                        ("text", "story"),
                    ],
                );
            }
            Ok(())
        }
    }
}
