//! `copnet demo`: three organisations' nodes in one process, federated over loopback, with a
//! seeded Community of Practice, and a sign-in account on each. The quickest way to see copnet
//! work: open the three addresses it prints side by side and post on one.
//!
//! The seed is written through each node's own API, as the organisations themselves would: the
//! founder creates the federation and invites the others, who join with the invite; each then
//! posts its own resources, consults, replies and RSVPs, and sync carries them across.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{Datelike, Duration as Days};
use copnet_node::{Node, NodeOptions};
use serde_json::{Value, json};
use tracing_subscriber::EnvFilter;

use crate::client::Client;

#[derive(clap::Args)]
pub struct Args {
    /// Keep the three nodes' data here (it must not exist yet) instead of a temporary directory
    /// deleted when the demo stops
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Also write this many generated documents (the benchmark's workload: communities with
    /// their people, resources, consult threads, recurring events with RSVPs), to see copnet at
    /// the scale of a large federation
    #[arg(long, default_value_t = 0, value_name = "N")]
    docs: usize,
}

/// The three organisations, and the person who signs in at each.
const ORGS: [(&str, &str, &str, &str); 3] = [
    (
        "Northside Youth Housing",
        "youth homelessness",
        "aroha",
        "Aroha Walker",
    ),
    (
        "Riverbend Family Services",
        "child and family support",
        "bilal",
        "Bilal Haddad",
    ),
    (
        "Coastal Youth Justice Resettlement",
        "youth justice",
        "chen",
        "Chen Okafor",
    ),
];

pub async fn run(a: Args) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("COPNET_LOG").unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let (root, _temp) = match a.dir {
        Some(d) => {
            if d.exists() {
                bail!(
                    "{} already exists: give `copnet demo --dir` a new directory, or leave --dir out for a temporary one",
                    d.display()
                );
            }
            std::fs::create_dir_all(&d)
                .with_context(|| format!("cannot create {}", d.display()))?;
            (d, None)
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("copnet-demo-")
                .tempdir()
                .context("cannot create a temporary directory")?;
            (t.path().to_owned(), Some(t))
        }
    };
    eprintln!("starting three nodes…");
    let mut nodes = Vec::new();
    for (i, (org, sector, ..)) in ORGS.iter().enumerate() {
        let node = Node::start(NodeOptions {
            data: root.join(format!("node-{}", i + 1)),
            org: Some((*org).into()),
            sector: Some((*sector).into()),
            http: Some(([127, 0, 0, 1], 0).into()),
            listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
            mdns: false,
        })
        .await
        .with_context(|| format!("cannot start the node of {org}"))?;
        nodes.push(node);
    }
    let password = demo_password();
    let seeded = async {
        seed(&nodes, &password).await?;
        if a.docs > 0 {
            eprintln!("writing {} generated documents…", a.docs);
            generated(&nodes, a.docs).await?;
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    if let Err(e) = seeded {
        for n in nodes {
            n.shutdown().await;
        }
        return Err(e.context("seeding the demo federation failed"));
    }
    println!();
    println!("copnet demo: three organisations in one federation, with a seeded community.");
    println!("Open each address in its own browser window and sign in:");
    println!();
    for (node, (org, _, account, _)) in nodes.iter().zip(ORGS) {
        println!(
            "  {org:<36} http://{}/   account: {account}",
            node.http_addr()
        );
    }
    println!();
    println!("  password (all three accounts): {password}");
    println!();
    match &_temp {
        Some(_) => println!("Data: {} (deleted when the demo stops)", root.display()),
        None => println!("Data: {} (kept)", root.display()),
    }
    println!("Press Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("stopping…");
    for n in nodes {
        n.shutdown().await;
    }
    Ok(())
}

/// Plays the benchmark's generated workload, spread over the three organisations, and waits
/// until every node holds all of it.
async fn generated(nodes: &[Node], docs: usize) -> anyhow::Result<()> {
    use copnet_node::workload::{Ref, Step, Workload};
    let c: Vec<Client> = nodes
        .iter()
        .map(|n| Client::connect(n.data_dir()))
        .collect::<anyhow::Result<_>>()?;
    let workload = Workload::generate(1, docs);
    // Each community belongs to one organisation, which writes everything in it.
    let (mut communities, mut people) = (Vec::<(usize, String)>::new(), Vec::<String>::new());
    let (mut consults, mut events) = (Vec::<(usize, String)>::new(), Vec::<(usize, String)>::new());
    for step in &workload.steps {
        let owner = match step {
            Step::Community { .. } => communities.len() % c.len(),
            Step::Person { community, .. }
            | Step::Resource { community, .. }
            | Step::Consult { community, .. }
            | Step::Event { community, .. } => communities[*community].0,
            Step::Reply { consult, .. } => consults[*consult].0,
            Step::Rsvp { event, .. } => events[*event].0,
        };
        let (path, body) = step.request(|r| match r {
            Ref::Community(i) => communities[i].1.clone(),
            Ref::Consult(i) => consults[i].1.clone(),
            Ref::Event(i) => events[i].1.clone(),
            Ref::Person(i) => people[i].clone(),
        });
        let v = c[owner].post(&path, &body).await?;
        match step {
            Step::Community { .. } => communities.push((owner, id(&v)?)),
            Step::Person { .. } => {
                people.push(v["person"].as_str().context("no person id")?.to_owned())
            }
            Step::Consult { .. } => consults.push((owner, id(&v)?)),
            Step::Event { .. } => events.push((owner, id(&v)?)),
            Step::Resource { .. } | Step::Reply { .. } | Step::Rsvp { .. } => {}
        }
    }
    let mut most = 0;
    for client in &c {
        most = most.max(held(client).await?);
    }
    for client in &c {
        until("every node to hold the generated documents", async || {
            Ok(held(client).await? >= most)
        })
        .await?;
    }
    Ok(())
}

/// How many documents a node holds.
async fn held(client: &Client) -> anyhow::Result<u64> {
    Ok(client.get("/status").await?["docs"].as_u64().unwrap_or(0))
}

/// A password for the demo's accounts: random, and long enough for the account rules.
fn demo_password() -> String {
    const WORDS: &[&str] = &[
        "harbour", "kettle", "meadow", "lantern", "orchard", "pebble", "river", "saddle",
        "thistle", "willow", "cobalt", "juniper", "marble", "quill", "tundra", "velvet",
    ];
    (0..4)
        .map(|_| WORDS[rand::random_range(0..WORDS.len())])
        .collect::<Vec<_>>()
        .join("-")
}

/// Waits until `check` holds on a node, for what sync has to bring.
async fn until(
    what: &str,
    mut check: impl AsyncFnMut() -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    loop {
        if check().await.unwrap_or(false) {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn id(v: &Value) -> anyhow::Result<String> {
    v["id"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no id in {v}"))
}

/// A local date and time a number of days from today, at `hour`, for event starts.
fn days_ahead(days: i64, hour: u32) -> String {
    let d = chrono::Local::now().date_naive() + Days::days(days);
    format!("{}-{:02}-{:02}T{hour:02}:00", d.year(), d.month(), d.day())
}

async fn seed(nodes: &[Node], password: &str) -> anyhow::Result<()> {
    let c: Vec<Client> = nodes
        .iter()
        .map(|n| Client::connect(n.data_dir()))
        .collect::<anyhow::Result<_>>()?;
    for (client, (_, _, account, name)) in c.iter().zip(ORGS) {
        client
            .post(
                "/accounts",
                &json!({ "name": account, "display_name": name, "role": "admin", "password": password }),
            )
            .await?;
    }

    // The federation: Northside founds it and invites the other two.
    c[0].post(
        "/federation",
        &json!({
            "name": "Youth Practice Federation",
            "charter": "Agencies working with young people who are homeless, leaving care or leaving custody share what works, bring hard cases to peers, and meet monthly."
        }),
    )
    .await?;
    for joiner in &c[1..] {
        let invite = c[0]
            .post(
                "/federation/invites",
                &json!({ "role": "member", "expires": "1h" }),
            )
            .await?;
        let token = invite["token"].as_str().context("no invite token")?;
        joiner
            .post("/federation/join", &json!({ "token": token }))
            .await?;
    }

    // The community, founded by Northside.
    let community = id(&c[0]
        .post(
            "/communities",
            &json!({
                "name": "Youth Housing Practice Network",
                "domain": "youth homelessness and housing stability",
                "purpose": "Front-line workers and team leaders from housing, family and justice services learn together how to help young people find and keep a home.\n\nWe bring de-identified cases, share tools that work, and meet monthly.",
                "practice_focus": "housing first for young people; exits from care and custody into stable housing",
                "audience": "case workers, youth workers and team leaders",
                "goals": ["Fewer young people exit care or custody into homelessness", "Shared tools for tenancy sustainment"],
                "outcomes": ["Practitioners use each other's tools", "Cases get practical answers within a week"],
                "stakeholders": ["young people with lived experience", "housing providers", "Aboriginal community-controlled organisations"],
                "topics": ["housing", "leaving care", "youth justice"],
                "rhythm": "monthly"
            }),
        )
        .await?)?;
    for client in &c[1..] {
        let path = format!("/communities/{community}");
        until("the community to reach every node", async || {
            Ok(client.get(&path).await.is_ok())
        })
        .await?;
    }

    // People: each organisation's own, at every level of participation.
    let people: [&[(&str, &str, bool)]; 3] = [
        &[
            ("Aroha Walker", "core", true),
            ("Dana Singh", "active", false),
            ("Grace Brown", "peripheral", false),
        ],
        &[
            ("Bilal Haddad", "core", false),
            ("Emeka Lopez", "active", false),
            ("Fatima Kim", "peripheral", false),
        ],
        &[
            ("Chen Okafor", "active", false),
            ("Hamish Taylor", "peripheral", false),
            ("Ines Ali", "peripheral", false),
        ],
    ];
    let mut person_ids: Vec<Vec<String>> = Vec::new();
    for (client, list) in c.iter().zip(people) {
        let mut ids = Vec::new();
        for (name, level, steward) in list {
            let v = client
                .post(
                    &format!("/communities/{community}/people"),
                    &json!({ "name": name, "level": level, "steward": steward }),
                )
                .await?;
            ids.push(v["person"].as_str().context("no person id")?.to_owned());
        }
        person_ids.push(ids);
    }

    // The shared repertoire.
    let resources: [(usize, &str, &str, &str, &[&str]); 7] = [
        (
            0,
            "Tenancy sustainment check-in guide",
            "tool",
            "A fortnightly check-in for the first six months of a young person's tenancy: rent, neighbours, income, and who to call before things go wrong.",
            &["housing", "tenancy"],
        ),
        (
            0,
            "Housing First for Youth: program model summary",
            "program-model",
            "The five core principles of Housing First for Youth and what each looks like in a small agency, with a self-assessment.",
            &["housing", "program models"],
        ),
        (
            1,
            "Family reconnection conversation template",
            "template",
            "A structured conversation for exploring whether and how a young person wants to reconnect with family, written with young people.",
            &["family", "leaving care"],
        ),
        (
            1,
            "Safe exit planning policy",
            "policy",
            "Our procedure for planning exits from out-of-home care from age 16, including the housing checklist we use with every young person.",
            &["leaving care", "housing"],
        ),
        (
            2,
            "Post-release housing: what the research says",
            "research",
            "A two-page summary of recent evidence on housing young people leaving custody, with the studies it draws on.",
            &["youth justice", "housing"],
        ),
        (
            2,
            "Trauma-informed tenancy conversations (recorded training)",
            "training",
            "A 45-minute recorded training for workers supporting young tenants, with slides and a practice guide.",
            &["trauma-informed practice", "tenancy"],
        ),
        (
            0,
            "Landlord engagement letter",
            "template",
            "A letter template introducing our support model to private landlords, with the commitments we make.",
            &["housing", "landlords"],
        ),
    ];
    for (who, title, kind, summary, topics) in resources {
        c[who]
            .post(
                "/resources",
                &json!({
                    "community": community, "title": title, "kind": kind, "summary": summary,
                    "topics": topics, "person": person_ids[who][0],
                }),
            )
            .await?;
    }

    // Case consults, de-identified, with peers' replies.
    let consult = |person: &str, title: &str, question: &str, situation: &str, request: &str| {
        json!({
            "community": community, "person": person, "title": title, "question": question,
            "situation": situation, "request": request,
        })
    };
    let first = id(&c[1]
        .post(
            "/consults",
            &consult(
                    &person_ids[1][0],
                    "Keeping a first tenancy after leaving care",
                    "What has helped you keep a young person housed in the first three months after leaving care?",
                    "A young person aged 17–18 is leaving residential care next month into a private rental with a support package. Previous placements broke down after conflict with neighbours. The young person wants to live alone.",
                    "Practical routines or agreements other services have used in the first weeks.",
                ),
        )
        .await?)?;
    let second = id(&c[2]
        .post(
            "/consults",
            &consult(
                    &person_ids[2][0],
                    "Housing on release with no fixed address",
                    "How do you secure any housing before release when the young person has no address to return to?",
                    "A young person in custody is due for release in six weeks. Family accommodation is not an option and youth refuges in the region are full. The parole plan requires an address.",
                    "Options you have used, and who you contacted first.",
                ),
        )
        .await?)?;
    c[0].post(
            "/consults",
            &consult(
                    &person_ids[0][1],
                    "Rent arrears and a young parent",
                    "What would you try first when a young parent falls into rent arrears after a benefit change?",
                    "A young parent with a toddler is two months behind on rent after a change to their benefits. The landlord has been patient but is asking for a plan.",
                    "Ideas for a repayment plan the landlord will accept.",
                ),
        )
        .await?;
    for (consult, replies) in [
        (
            &first,
            vec![
                (
                    0usize,
                    "idea",
                    "We agree a weekly visit for the first month and a neighbour introduction on move-in day; it gave the young person a way to raise problems early.",
                ),
                (
                    2,
                    "clarifying",
                    "Does the support package include after-hours contact? That made the difference for us.",
                ),
            ],
        ),
        (
            &second,
            vec![
                (
                    0,
                    "idea",
                    "We hold two transitional units for exactly this; ask the housing provider's intake team about head-leasing before the release date is set.",
                ),
                (
                    1,
                    "idea",
                    "Start the housing application at the six-week mark with a support letter from the case manager; we have had approvals in four weeks.",
                ),
            ],
        ),
    ] {
        for (who, kind, text) in replies {
            let path = format!("/consults/{consult}");
            until("a consult to reach every node", async || {
                Ok(c[who].get(&path).await.is_ok())
            })
            .await?;
            c[who]
                .post(
                    &format!("/consults/{consult}/replies"),
                    &json!({ "text": text, "kind": kind, "person": person_ids[who][0] }),
                )
                .await?;
        }
    }

    // Events: the monthly practice call, a quarterly meeting in person, and a webinar.
    let monthly = id(&c[0]
        .post(
            "/events",
            &json!({
                "community": community, "title": "Monthly practice call", "kind": "call",
                "start": days_ahead(3, 14), "tz": "Australia/Melbourne", "duration": "1h",
                "rrule": "FREQ=MONTHLY;COUNT=12", "link": "https://meet.example.org/youth-housing",
                "agenda": "Case consult round, then one tool in practice."
            }),
        )
        .await?)?;
    c[1].post(
        "/events",
        &json!({
            "community": community, "title": "Quarterly practice day", "kind": "meeting",
            "start": days_ahead(17, 10), "tz": "Australia/Melbourne", "duration": "5h",
            "rrule": "FREQ=MONTHLY;INTERVAL=3;COUNT=4", "location": "Riverbend community hall",
        }),
    )
    .await?;
    c[2].post(
        "/events",
        &json!({
            "community": community, "title": "Webinar: housing on release", "kind": "webinar",
            "start": days_ahead(9, 12), "tz": "Australia/Melbourne", "duration": "90m",
        }),
    )
    .await?;
    for (who, ids) in person_ids.iter().enumerate() {
        let path = format!("/events/{monthly}");
        until("the call to reach every node", async || {
            Ok(c[who].get(&path).await.is_ok())
        })
        .await?;
        for (n, person) in ids.iter().enumerate().take(2) {
            c[who]
                .post(
                    &format!("/events/{monthly}/rsvps"),
                    &json!({ "person": person, "status": if n == 0 { "going" } else { "maybe" } }),
                )
                .await?;
        }
    }
    // Everything written has reached every node before the addresses are printed.
    let expected = held(&c[0]).await?;
    for client in &c[1..] {
        until("every node to hold the whole repertoire", async || {
            Ok(held(client).await? >= expected)
        })
        .await?;
    }
    Ok(())
}
