use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::{Map, Value, json};

use crate::client::{Client, list_path, query_value, segment};
use crate::output;

/// Descriptive fields shared by `add` and `edit`.
#[derive(clap::Args)]
pub struct Details {
    #[arg(long)]
    summary: Option<String>,
    /// A link to the resource; on edit, an empty string removes it
    #[arg(long)]
    url: Option<String>,
    /// Who it is for, e.g. "practitioners", "young people", "carers"
    #[arg(long)]
    intended_for: Option<String>,
    /// Where it applies, e.g. "NSW", "England and Wales"
    #[arg(long)]
    jurisdiction: Option<String>,
    /// Strength of evidence: 1 (weak) to 5 (strong), or not-rated
    #[arg(long)]
    evidence: Option<String>,
    /// When to review it, YYYY-MM-DD; on edit, an empty string removes it
    #[arg(long)]
    review_by: Option<String>,
    #[arg(long)]
    licence: Option<String>,
    /// What it was adapted from: a link, a citation or another resource's id
    #[arg(long)]
    adapted_from: Option<String>,
}

impl Details {
    fn fields(self, m: &mut Map<String, Value>) {
        super::put_given(
            m,
            [
                ("summary", self.summary),
                ("url", self.url),
                ("intended_for", self.intended_for),
                ("jurisdiction", self.jurisdiction),
                ("evidence", self.evidence),
                ("review_by", self.review_by),
                ("licence", self.licence),
                ("adapted_from", self.adapted_from),
            ],
        );
    }
}

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
        #[command(flatten)]
        details: Details,
        /// A topic tag (repeatable)
        #[arg(long = "topic")]
        topics: Vec<String>,
        /// federation (default) or members
        #[arg(long)]
        audience: Option<String>,
        /// Attach this file (up to 4 MiB)
        #[arg(long)]
        file: Option<PathBuf>,
        /// Who of your organisation adds it (person id or name), so it counts in participation
        #[arg(long = "as", value_name = "PERSON")]
        person: Option<String>,
    },
    /// List resources
    List {
        #[arg(long)]
        community: Option<String>,
        /// Only those whose review-by date has passed
        #[arg(long)]
        overdue: bool,
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
        #[command(flatten)]
        details: Details,
        /// Replace the topics (repeatable)
        #[arg(long = "topic")]
        topics: Vec<String>,
        /// Remove every topic
        #[arg(long, conflicts_with = "topics")]
        clear_topics: bool,
    },
    /// Attach a file to a resource (replacing any earlier one)
    Attach {
        id: String,
        file: PathBuf,
        /// The name to show, if not the file's own
        #[arg(long)]
        name: Option<String>,
    },
    /// Save a resource's attached file
    Download {
        id: String,
        /// Where to write it [default: the attachment's name, in the current directory]
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Who changed what, when
    History {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

const SHOW: &[(&str, &str)] = &[
    ("id", "id"),
    ("title", "title"),
    ("kind", "kind"),
    ("community", "community"),
    ("summary", "summary"),
    ("url", "link"),
    ("attachment_text", "file"),
    ("topics", "topics"),
    ("intended_for", "for"),
    ("jurisdiction", "jurisdiction"),
    ("evidence", "evidence"),
    ("review_by", "review by"),
    ("licence", "licence"),
    ("adapted_from", "adapted from"),
    ("audience", "audience"),
    ("creator_org", "added by"),
    ("created_at", "created"),
    ("updated_at", "updated"),
];

fn show(mut v: Value) {
    if let Some(a) = v.get("attachment").filter(|a| a.is_object()) {
        v["attachment_text"] = json!(format!(
            "{} ({}, {} bytes, sha256 {})",
            output::field(a, "name"),
            output::field(a, "media_type"),
            output::field(a, "size"),
            output::field(a, "sha256")
        ));
    }
    output::block(&v, SHOW);
}

/// The node's limit on attached files, checked here first so a large file is not read in vain.
const MAX_FILE_BYTES: u64 = copnet_protocol::docs::MAX_ATTACHMENT_BYTES as u64;

/// A media type from a file name, for the common document kinds.
fn media_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt" => "application/vnd.oasis.opendocument.text",
        "txt" => "text/plain",
        "md" => "text/markdown",
        "csv" => "text/csv",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        _ => "application/octet-stream",
    }
}

async fn attach(
    client: &Client,
    id: &str,
    file: &Path,
    name: Option<String>,
) -> anyhow::Result<Value> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    if size > MAX_FILE_BYTES {
        bail!(
            "{} is {size} bytes; attachments are limited to {} MiB: link to larger files with --url",
            file.display(),
            MAX_FILE_BYTES / (1024 * 1024)
        );
    }
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = match name {
        Some(n) => n,
        None => file
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_owned)
            .context("the file has no usable name; give one with --name")?,
    };
    client
        .put_bytes(
            &format!(
                "/resources/{}/attachment?name={}",
                segment(id),
                query_value(&name)
            ),
            media_type(file),
            bytes,
        )
        .await
}

pub async fn run(data: &Path, c: Command) -> anyhow::Result<()> {
    let client = Client::connect(data)?;
    match c {
        Command::Add {
            community,
            title,
            kind,
            details,
            topics,
            audience,
            file,
            person,
        } => {
            if let Some(f) = &file
                && !f.is_file()
            {
                bail!("{} is not a file", f.display());
            }
            let mut m = Map::new();
            m.insert("community".into(), json!(community));
            m.insert("title".into(), json!(title));
            m.insert("kind".into(), json!(kind));
            m.insert("topics".into(), json!(topics));
            super::put_given(&mut m, [("audience", audience), ("person", person)]);
            details.fields(&mut m);
            let v = client.post("/resources", &Value::Object(m)).await?;
            if let Some(f) = file {
                let id = output::field(&v, "id");
                attach(&client, &id, &f, None).await.with_context(|| {
                    format!("resource {id} was added, but its file was not attached")
                })?;
            }
            super::print_id(&v)
        }
        Command::List {
            community,
            overdue,
            json,
        } => {
            let mut path = list_path("/resources", community.as_deref());
            if overdue {
                path.push(if path.contains('?') { '&' } else { '?' });
                path.push_str("overdue=true");
            }
            super::list(
                &client,
                &path,
                json,
                &[
                    ("id", "ID"),
                    ("kind", "KIND"),
                    ("title", "TITLE"),
                    ("review_by", "REVIEW BY"),
                    ("topics", "TOPICS"),
                ],
            )
            .await
        }
        Command::Show { id, json } => {
            let v = client.get(&format!("/resources/{}", segment(&id))).await?;
            if json {
                output::json(&v);
            } else {
                show(v);
            }
            Ok(())
        }
        Command::Edit {
            id,
            title,
            kind,
            details,
            topics,
            clear_topics,
        } => {
            let mut edit = Map::new();
            if let Some(t) = title {
                edit.insert("title".into(), json!(t));
            }
            if let Some(k) = kind {
                edit.insert("kind".into(), json!(k));
            }
            details.fields(&mut edit);
            if clear_topics || !topics.is_empty() {
                edit.insert("topics".into(), json!(topics));
            }
            let v = client
                .patch(
                    &format!("/resources/{}", segment(&id)),
                    &Value::Object(edit),
                )
                .await?;
            show(v);
            Ok(())
        }
        Command::Attach { id, file, name } => {
            let v = attach(&client, &id, &file, name).await?;
            let a = &v["attachment"];
            println!(
                "attached {} ({} bytes, sha256 {})",
                output::field(a, "name"),
                output::field(a, "size"),
                output::field(a, "sha256")
            );
            Ok(())
        }
        Command::Download { id, out } => {
            let v = client.get(&format!("/resources/{}", segment(&id))).await?;
            let name = v
                .pointer("/attachment/name")
                .and_then(Value::as_str)
                .context("this resource has no attached file")?;
            // The name was chosen on another node: keep only plain characters, so it can never
            // pick a directory, hide itself or name a device.
            let safe: String = name
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || " -_.()".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let safe = safe.trim_start_matches(['.', ' ']).trim_end().to_owned();
            let out = out.unwrap_or_else(|| {
                PathBuf::from(if safe.is_empty() {
                    "attachment".into()
                } else {
                    safe
                })
            });
            let bytes = client
                .get_bytes(&format!("/resources/{}/attachment", segment(&id)))
                .await?;
            // Never overwrite: a download must not replace a file the user has.
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&out)
                .with_context(|| {
                    format!(
                        "cannot create {} (does it exist already? choose another name with --out)",
                        out.display()
                    )
                })?;
            std::io::Write::write_all(&mut f, &bytes)
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!("wrote {} ({} bytes)", out.display(), bytes.len());
            Ok(())
        }
        Command::History { id, json } => {
            super::history(
                &client,
                &format!("/resources/{}/history", segment(&id)),
                json,
            )
            .await
        }
    }
}
