use std::path::Path;

use serde_json::{Map, Value, json};

use crate::client::{Client, list_path, segment};
use crate::output;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Bring a de-identified case to peers; prints the consult's id. The text is checked for
    /// details that could identify someone before anything is signed
    Open {
        #[arg(long)]
        community: String,
        #[arg(long)]
        title: String,
        /// The key question you want help with
        #[arg(long)]
        question: String,
        /// Situation: what is happening now
        #[arg(long)]
        situation: String,
        /// Background: what led here
        #[arg(long)]
        background: Option<String>,
        /// Assessment: what you think is going on
        #[arg(long)]
        assessment: Option<String>,
        /// Request: what kind of help you want
        #[arg(long)]
        request: Option<String>,
        /// members (default) or federation
        #[arg(long)]
        audience: Option<String>,
        /// When to ask "what happened?", YYYY-MM-DD [default: in 30 days]
        #[arg(long)]
        follow_up: Option<String>,
        /// Publish text the gate flagged, stating that it is de-identified, e.g.
        /// "de-identified; the family could not recognise this"
        #[arg(long)]
        attest: Option<String>,
        /// Who of your organisation presents (person id or name)
        #[arg(long = "as", value_name = "PERSON")]
        person: Option<String>,
    },
    /// Reply to a consult
    Reply {
        id: String,
        #[arg(long)]
        text: String,
        /// clarifying (a question back) or idea (default)
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        attest: Option<String>,
        /// Who of your organisation replies (person id or name)
        #[arg(long = "as", value_name = "PERSON")]
        person: Option<String>,
    },
    /// As presenter: summarise what helped; the consult becomes answered
    Answer {
        id: String,
        #[arg(long)]
        summary: String,
        /// Move the follow-up date, YYYY-MM-DD
        #[arg(long)]
        follow_up: Option<String>,
        #[arg(long)]
        attest: Option<String>,
    },
    /// As presenter: move the follow-up date
    FollowUp {
        id: String,
        /// YYYY-MM-DD
        #[arg(long)]
        on: String,
    },
    /// As presenter: record what happened; closes the consult
    Outcome {
        id: String,
        #[arg(long)]
        text: String,
        #[arg(long)]
        attest: Option<String>,
    },
    /// As presenter: close the consult without an outcome
    Close { id: String },
    /// List consults
    List {
        #[arg(long)]
        community: Option<String>,
        /// open, answered or closed
        #[arg(long)]
        status: Option<String>,
        /// Only those whose follow-up date has come and that have no outcome yet
        #[arg(long)]
        follow_up_due: bool,
        #[arg(long)]
        json: bool,
    },
    /// Show a consult with its replies
    Show {
        id: String,
        #[arg(long)]
        json: bool,
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
            ("status", "status"),
            ("community", "community"),
            ("question", "key question"),
            ("situation", "situation"),
            ("background", "background"),
            ("assessment", "assessment"),
            ("request", "request"),
            ("audience", "audience"),
            ("creator_org", "presenter"),
            ("created_at", "opened"),
            ("follow_up_on", "follow-up"),
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
            "\n— {} from {} at {}",
            output::field(&r, "kind"),
            output::field(&r, "author"),
            output::field(&r, "created_at")
        );
        for line in output::field(&r, "text").lines() {
            println!("  {line}");
        }
    }
    for (key, label) in [
        ("presenter_summary", "What helped"),
        ("outcome", "What happened"),
    ] {
        let text = output::field(v, key);
        if !text.is_empty() {
            println!("\n{label}:");
            for line in text.lines() {
                println!("  {line}");
            }
        }
    }
    if let Some(a) = v.get("attestations").and_then(Value::as_object)
        && !a.is_empty()
    {
        println!("\nattestations:");
        for (part, att) in a {
            println!(
                "  {part}: \"{}\" (flagged: {})",
                output::field(att, "statement"),
                output::field(att, "flagged")
            );
        }
    }
}

fn with_attest(mut m: Map<String, Value>, attest: Option<String>) -> Value {
    if let Some(a) = attest {
        m.insert("attest".into(), json!(a));
    }
    Value::Object(m)
}

pub async fn run(data: &Path, c: Command) -> anyhow::Result<()> {
    let client = Client::connect(data)?;
    let path = |id: &str, rest: &str| format!("/consults/{}{rest}", segment(id));
    match c {
        Command::Open {
            community,
            title,
            question,
            situation,
            background,
            assessment,
            request,
            audience,
            follow_up,
            attest,
            person,
        } => {
            let mut m = Map::new();
            m.insert("community".into(), json!(community));
            m.insert("title".into(), json!(title));
            m.insert("question".into(), json!(question));
            m.insert("situation".into(), json!(situation));
            super::put_given(
                &mut m,
                [
                    ("background", background),
                    ("assessment", assessment),
                    ("request", request),
                    ("audience", audience),
                    ("follow_up_on", follow_up),
                    ("person", person),
                ],
            );
            let v = client.post("/consults", &with_attest(m, attest)).await?;
            super::print_id(&v)
        }
        Command::Reply {
            id,
            text,
            kind,
            attest,
            person,
        } => {
            let mut m = Map::new();
            m.insert("text".into(), json!(text));
            super::put_given(&mut m, [("kind", kind), ("person", person)]);
            let v = client
                .post(&path(&id, "/replies"), &with_attest(m, attest))
                .await?;
            let n = v.get("reply_count").and_then(Value::as_u64).unwrap_or(0);
            println!(
                "replied to {} ({n} repl{} now)",
                output::field(&v, "id"),
                if n == 1 { "y" } else { "ies" }
            );
            Ok(())
        }
        Command::Answer {
            id,
            summary,
            follow_up,
            attest,
        } => {
            let mut m = Map::new();
            m.insert("summary".into(), json!(summary));
            if let Some(f) = follow_up {
                m.insert("follow_up_on".into(), json!(f));
            }
            let v = client
                .post(&path(&id, "/answer"), &with_attest(m, attest))
                .await?;
            println!(
                "{} is {}; follow-up on {}",
                output::field(&v, "id"),
                output::field(&v, "status"),
                output::field(&v, "follow_up_on")
            );
            Ok(())
        }
        Command::FollowUp { id, on } => {
            let v = client
                .post(&path(&id, "/follow-up"), &json!({ "on": on }))
                .await?;
            println!(
                "follow-up of {} on {}",
                output::field(&v, "id"),
                output::field(&v, "follow_up_on")
            );
            Ok(())
        }
        Command::Outcome { id, text, attest } => {
            let mut m = Map::new();
            m.insert("outcome".into(), json!(text));
            let v = client
                .post(&path(&id, "/outcome"), &with_attest(m, attest))
                .await?;
            println!(
                "{} is {}",
                output::field(&v, "id"),
                output::field(&v, "status")
            );
            Ok(())
        }
        Command::Close { id } => {
            let v = client.post(&path(&id, "/close"), &json!({})).await?;
            println!(
                "{} is {}",
                output::field(&v, "id"),
                output::field(&v, "status")
            );
            Ok(())
        }
        Command::List {
            community,
            status,
            follow_up_due,
            json,
        } => {
            let mut p = list_path("/consults", community.as_deref());
            let mut add = |q: String| {
                p.push(if p.contains('?') { '&' } else { '?' });
                p.push_str(&q);
            };
            if let Some(s) = status {
                add(format!("status={}", crate::client::query_value(&s)));
            }
            if follow_up_due {
                add("follow_up_due=true".into());
            }
            super::list(
                &client,
                &p,
                json,
                &[
                    ("id", "ID"),
                    ("status", "STATUS"),
                    ("reply_count", "REPLIES"),
                    ("follow_up_on", "FOLLOW-UP"),
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
        Command::History { id, json } => {
            super::history(&client, &path(&id, "/history"), json).await
        }
    }
}
