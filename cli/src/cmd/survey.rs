use std::path::Path;

use anyhow::bail;
use serde_json::{Map, Value, json};

use crate::client::{Client, list_path, segment};
use crate::output;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Open a check-in (after an event) or a baseline / follow-up survey (over a period) of 3 to
    /// 5 questions; prints its id
    Open {
        #[arg(long)]
        community: String,
        #[arg(long)]
        title: String,
        #[arg(long)]
        intro: Option<String>,
        /// check-in (default), baseline or follow-up
        #[arg(long)]
        phase: Option<String>,
        /// KIND|TEXT[|OPTION…] (repeat, 3 to 5 times): "scale|How confident do you feel?"
        /// (1–5, optionally |word for 1|word for 5), "choice|Will you use it?|yes|no|not sure",
        /// "text|What would help next time?"
        #[arg(long = "question", required = true)]
        questions: Vec<String>,
        /// For a check-in: the event it follows
        #[arg(long)]
        event: Option<String>,
        /// For a check-in: the occurrence, YYYY-MM-DD[THH:MM] [default: the latest]
        #[arg(long)]
        occurrence: Option<String>,
        /// For a baseline or follow-up: the period, YYYY-MM-DD
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        /// For a follow-up: the baseline survey it is compared with
        #[arg(long)]
        baseline: Option<String>,
        /// Last day for responses, YYYY-MM-DD [default: in 14 days]
        #[arg(long)]
        closes_on: Option<String>,
    },
    /// Record one person's answers. They stay on this node; only the aggregate is published,
    /// once the survey closes
    Respond {
        id: String,
        /// Who of your organisation is answering (person id or name)
        #[arg(long = "as", value_name = "PERSON")]
        person: String,
        /// QUESTION=ANSWER, e.g. q1=4, q2=yes, q3="more time for questions" (repeat)
        #[arg(long = "answer", required = true)]
        answers: Vec<String>,
    },
    /// Close the survey (its author only) and publish this node's aggregate
    Close { id: String },
    /// The survey and its results so far
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// List surveys
    List {
        #[arg(long)]
        community: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

fn question(spec: &str) -> anyhow::Result<Value> {
    let mut parts = spec.split('|').map(str::trim);
    let (Some(kind), Some(text)) = (parts.next(), parts.next()) else {
        bail!(
            "question {spec:?}: write it as KIND|TEXT[|OPTION…], e.g. \"scale|How useful was the call?\""
        );
    };
    Ok(json!({ "kind": kind, "text": text, "options": parts.collect::<Vec<_>>() }))
}

fn show(v: &Value) {
    output::block(
        v,
        &[
            ("id", "id"),
            ("title", "title"),
            ("phase", "phase"),
            ("event", "event"),
            ("occurrence", "occurrence"),
            ("period_from", "from"),
            ("period_to", "to"),
            ("closes_on", "closes on"),
            ("closed_at", "closed"),
            ("intro", "intro"),
        ],
    );
    let r = &v["results"];
    println!(
        "\n{}: {} respondents from {} organisations",
        output::field(r, "status"),
        output::field(r, "respondents"),
        output::field(r, "nodes_reporting")
    );
    for q in r["questions"].as_array().into_iter().flatten() {
        println!(
            "\n{} ({}) {}",
            output::field(q, "id"),
            output::field(q, "kind"),
            output::field(q, "text")
        );
        let counts: Vec<String> = q["counts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                format!(
                    "{}: {}",
                    output::field(c, "answer"),
                    output::field(c, "count")
                )
            })
            .collect();
        if !counts.is_empty() {
            println!("  {}", counts.join("  "));
        }
        if !q["mean"].is_null() {
            println!(
                "  mean {} (of {} answers)",
                output::field(q, "mean"),
                output::field(q, "mean_of")
            );
        }
    }
    for c in r["compared_with_baseline"].as_array().into_iter().flatten() {
        println!(
            "\nsince the baseline: {} {} → {}",
            output::field(c, "question"),
            output::field(c, "baseline_mean"),
            output::field(c, "follow_up_mean")
        );
    }
    let here = &v["this_node"];
    println!(
        "\nhere: {} responses; {}",
        output::field(here, "responses"),
        output::field(here, "notice")
    );
    if let Some(ft) = here["free_text"].as_object() {
        for (q, texts) in ft {
            for t in texts.as_array().into_iter().flatten() {
                println!("  {q}: {}", t.as_str().unwrap_or(""));
            }
        }
    }
}

pub async fn run(data: &Path, c: Command) -> anyhow::Result<()> {
    let client = Client::connect(data)?;
    let path = |id: &str, rest: &str| format!("/surveys/{}{rest}", segment(id));
    match c {
        Command::Open {
            community,
            title,
            intro,
            phase,
            questions,
            event,
            occurrence,
            from,
            to,
            baseline,
            closes_on,
        } => {
            let mut m = Map::new();
            m.insert("community".into(), json!(community));
            m.insert("title".into(), json!(title));
            m.insert(
                "questions".into(),
                Value::Array(
                    questions
                        .iter()
                        .map(|q| question(q))
                        .collect::<Result<_, _>>()?,
                ),
            );
            super::put_given(
                &mut m,
                [
                    ("intro", intro),
                    ("phase", phase),
                    ("event", event),
                    ("occurrence", occurrence),
                    ("period_from", from),
                    ("period_to", to),
                    ("baseline", baseline),
                    ("closes_on", closes_on),
                ],
            );
            let v = client.post("/surveys", &Value::Object(m)).await?;
            super::print_id(&v)
        }
        Command::Respond {
            id,
            person,
            answers,
        } => {
            let mut m = Map::new();
            for a in &answers {
                let Some((q, ans)) = a.split_once('=') else {
                    bail!("answer {a:?}: write it as QUESTION=ANSWER, e.g. q1=4");
                };
                m.insert(q.trim().to_owned(), json!(ans));
            }
            let v = client
                .post(
                    &path(&id, "/responses"),
                    &json!({ "person": person, "answers": m }),
                )
                .await?;
            println!("recorded: {}", output::field(&v, "notice"));
            Ok(())
        }
        Command::Close { id } => {
            let v = client.post(&path(&id, "/close"), &json!({})).await?;
            println!("{} closed", output::field(&v, "id"));
            Ok(())
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
        Command::List { community, json } => {
            super::list(
                &client,
                &list_path("/surveys", community.as_deref()),
                json,
                &[
                    ("id", "ID"),
                    ("phase", "PHASE"),
                    ("closes_on", "CLOSES"),
                    ("nodes_reporting", "REPORTED"),
                    ("title", "TITLE"),
                ],
            )
            .await
        }
    }
}
