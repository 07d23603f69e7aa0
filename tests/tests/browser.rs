//! The web interface in a real browser: Debian's Chromium, headless, driven over WebDriver by
//! chromedriver, against the three nodes of `copnet demo` on loopback.
//!
//! One journey a practitioner and a facilitator would take: sign in; compose a consult that the
//! de-identification gate blocks, fix it and publish it; watch it arrive on a second
//! organisation's node without reloading; RSVP to one occurrence; download the calendar file;
//! open the facilitator report. Every page is checked with axe-core for WCAG 2.1 A and AA, and
//! a screenshot of it is written to `docs/screenshots/` (the README shows them).
//!
//! Needs `chromium` and `chromium-driver` (Debian's packages) and axe-core from
//! `tests/browser/` (`npm ci --prefix tests/browser`); `.ci/run` installs all three. Without
//! them the test fails and says what to install; `COPNET_SKIP_BROWSER_TESTS=1` skips it.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use copnet_tests::copnet_bin;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long any one thing may take to appear.
const WAIT: Duration = Duration::from_secs(30);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One node of the demo, as it printed itself.
struct Site {
    org: String,
    url: String,
    account: String,
}

struct Demo {
    _proc: Proc,
    sites: Vec<Site>,
    password: String,
}

fn start_demo(dir: &Path) -> anyhow::Result<Demo> {
    let log = std::fs::File::create(dir.join("demo.log"))?;
    let mut child = Command::new(copnet_bin())
        .args(["demo", "--dir"])
        .arg(dir.join("nodes"))
        .stdout(Stdio::piped())
        .stderr(log)
        .env("COPNET_LOG", "info")
        .spawn()
        .context("start copnet demo")?;
    let out = child.stdout.take().expect("piped");
    let proc = Proc(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(180);
    let (mut sites, mut password) = (Vec::new(), None);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).map_err(|_| {
            anyhow!(
                "copnet demo did not finish starting; its log: {}",
                std::fs::read_to_string(dir.join("demo.log")).unwrap_or_default()
            )
        })?;
        if let Some((org, rest)) = line.trim().split_once("http://") {
            let (url, account) = rest
                .split_once("account:")
                .ok_or_else(|| anyhow!("unexpected line {line:?}"))?;
            sites.push(Site {
                org: org.trim().to_owned(),
                url: format!("http://{}", url.trim().trim_end_matches('/')),
                account: account.trim().to_owned(),
            });
        } else if let Some(p) = line.split_once("password (all three accounts):") {
            password = Some(p.1.trim().to_owned());
        } else if line.contains("Press Ctrl-C") {
            break;
        }
    }
    if sites.len() != 3 {
        bail!("the demo printed {} addresses, not 3", sites.len());
    }
    Ok(Demo {
        _proc: proc,
        sites,
        password: password.ok_or_else(|| anyhow!("the demo printed no password"))?,
    })
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn start_chromedriver(dir: &Path) -> anyhow::Result<(Proc, String)> {
    let port = free_port()?;
    let log = std::fs::File::create(dir.join("chromedriver.log"))?;
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("start chromedriver")?;
    let proc = Proc(child);
    let deadline = Instant::now() + WAIT;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("chromedriver did not start listening on port {port}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((proc, format!("http://127.0.0.1:{port}")))
}

/// A browser of its own (own profile, own cookies), headless.
async fn browser(driver: &str, profile: &Path, width: u32, height: u32) -> anyhow::Result<Client> {
    let caps = json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                format!("--window-size={width},{height}"),
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let caps = match caps {
        Value::Object(m) => m,
        _ => unreachable!(),
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(driver)
        .await
        .context("open a Chromium session")
}

/// Waits until `probe` finds something.
async fn eventually<T>(
    what: &str,
    mut probe: impl AsyncFnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(Some(v)) = probe().await {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn text_of(c: &Client, css: &str) -> anyhow::Result<String> {
    Ok(c.find(Locator::Css(css)).await?.text().await?)
}

async fn sign_in(c: &Client, site: &Site, password: &str) -> anyhow::Result<()> {
    c.goto(&format!("{}/", site.url)).await?;
    // Not signed in: the home page sends us to sign in.
    eventually("the sign-in page", async || {
        Ok(c.current_url()
            .await?
            .path()
            .starts_with("/signin")
            .then_some(()))
    })
    .await?;
    c.find(Locator::Id("name"))
        .await?
        .send_keys(&site.account)
        .await?;
    c.find(Locator::Id("password"))
        .await?
        .send_keys(password)
        .await?;
    c.find(Locator::Css("form button[type=submit]"))
        .await?
        .click()
        .await?;
    let signed_in = eventually("the home page after signing in", async || {
        let t = text_of(c, "h1").await?;
        Ok(t.starts_with("Welcome").then_some(t))
    })
    .await;
    let h1 = match signed_in {
        Ok(h1) => h1,
        Err(e) => {
            let url = c.current_url().await?;
            let main = text_of(c, "main").await.unwrap_or_default();
            bail!("{e}: at {url}, the page says {main:?}");
        }
    };
    anyhow::ensure!(h1.len() > "Welcome, ".len(), "home greets no one: {h1:?}");
    Ok(())
}

/// Runs axe-core on the page for WCAG 2.1 A and AA; fails with the violations.
async fn accessible(c: &Client, page: &str, axe: &str) -> anyhow::Result<()> {
    c.execute(&format!("{axe}\n;return typeof axe;"), vec![])
        .await?;
    let result = c
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } })
                 .then(r => done(JSON.stringify(r.violations.map(v => ({
                     id: v.id, impact: v.impact, help: v.help,
                     nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ")) })))))
                 .catch(e => done("axe failed: " + e));"#,
            vec![],
        )
        .await?;
    let text = result.as_str().unwrap_or_default();
    let violations: Vec<Value> =
        serde_json::from_str(text).map_err(|_| anyhow!("{page}: {text}"))?;
    if !violations.is_empty() {
        bail!(
            "{page} has accessibility violations (WCAG 2.1 AA):\n{}",
            serde_json::to_string_pretty(&violations)?
        );
    }
    Ok(())
}

async fn screenshot(c: &Client, name: &str) -> anyhow::Result<()> {
    let dir = root().join("docs/screenshots");
    std::fs::create_dir_all(&dir)?;
    let png = c.screenshot().await?;
    std::fs::write(dir.join(format!("{name}.png")), png)?;
    Ok(())
}

/// Checks the page, then photographs it.
async fn page(c: &Client, name: &str, axe: &str) -> anyhow::Result<()> {
    accessible(c, name, axe).await?;
    screenshot(c, name).await
}

fn prerequisites() -> anyhow::Result<Option<String>> {
    if std::env::var_os("COPNET_SKIP_BROWSER_TESTS").is_some_and(|v| v == "1") {
        return Ok(None);
    }
    for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
        if !Path::new(path).exists() {
            bail!(
                "the browser tests need Debian's {package} ({path}): `apt-get install -y chromium chromium-driver` (bash .ci/run does), or set COPNET_SKIP_BROWSER_TESTS=1"
            );
        }
    }
    let axe = root().join("tests/browser/node_modules/axe-core/axe.min.js");
    let axe = std::fs::read_to_string(&axe).map_err(|_| {
        anyhow!(
            "the browser tests need axe-core: `npm ci --prefix tests/browser` (bash .ci/run does), or set COPNET_SKIP_BROWSER_TESTS=1"
        )
    })?;
    Ok(Some(axe))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_practitioner_and_a_facilitator_use_the_web_interface_across_two_nodes()
-> anyhow::Result<()> {
    let Some(axe) = prerequisites()? else {
        eprintln!("COPNET_SKIP_BROWSER_TESTS=1: browser tests skipped");
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let journey = journey(dir.path(), &axe).await;
    if let Err(e) = journey {
        let log = std::fs::read_to_string(dir.path().join("demo.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "{e:#}\n--- the demo's log, last lines:\n{}",
            tail.join("\n")
        );
    }
    Ok(())
}

async fn journey(dir: &Path, axe: &str) -> anyhow::Result<()> {
    let axe = axe.to_owned();
    let demo = start_demo(dir)?;
    let (_driver, driver) = start_chromedriver(dir)?;
    let (north, river) = (&demo.sites[0], &demo.sites[1]);

    // Aroha, at Northside, signs in.
    let a = browser(&driver, &dir.join("profile-a"), 1280, 900).await?;
    sign_in(&a, north, &demo.password).await?;
    page(&a, "home", &axe).await?;
    // From the keyboard: the first Tab reaches "Skip to content", and following it puts the focus
    // on the page's main content.
    a.execute(
        "document.activeElement && document.activeElement.blur();",
        vec![],
    )
    .await?;
    let key = |k: fantoccini::key::Key| char::from(k).to_string();
    a.find(Locator::Css("body"))
        .await?
        .send_keys(&key(fantoccini::key::Key::Tab))
        .await?;
    let first = a.active_element().await?;
    anyhow::ensure!(
        first.text().await? == "Skip to content",
        "the first Tab lands on {:?}",
        first.text().await?
    );
    first.send_keys(&key(fantoccini::key::Key::Enter)).await?;
    let focused = a
        .execute("return document.activeElement.id;", vec![])
        .await?;
    anyhow::ensure!(
        focused == "main",
        "Skip to content moved the focus to {focused}"
    );

    // Bilal, at Riverbend, signs in on his own node and keeps the consult list open.
    let b = browser(&driver, &dir.join("profile-b"), 1280, 900).await?;
    sign_in(&b, river, &demo.password).await?;
    b.goto(&format!("{}/consults", river.url)).await?;
    b.wait()
        .at_most(WAIT)
        .for_element(Locator::Id("consults"))
        .await?;

    // The community page and the library, with a search.
    a.find(Locator::Css("#mine a[href^='/communities/']"))
        .await?
        .click()
        .await?;
    let name = eventually("the community page", async || {
        let t = text_of(&a, "h1").await?;
        Ok((t == "Youth Housing Practice Network").then_some(t))
    })
    .await?;
    let people = text_of(&a, "#people").await?;
    for who in [
        "Aroha Walker",
        "Bilal Haddad",
        "Chen Okafor",
        "Core",
        "Peripheral",
    ] {
        anyhow::ensure!(people.contains(who), "{name}'s people lack {who}: {people}");
    }
    page(&a, "community", &axe).await?;
    a.goto(&format!("{}/library", north.url)).await?;
    a.find(Locator::Css("input[name=q]"))
        .await?
        .send_keys("tenancy")
        .await?;
    a.find(Locator::Css("form[role=search] button"))
        .await?
        .click()
        .await?;
    let results = eventually("search results", async || {
        let t = text_of(&a, "#library").await?;
        Ok(t.contains("Tenancy sustainment check-in guide")
            .then_some(t))
    })
    .await?;
    anyhow::ensure!(
        !results.contains("Landlord engagement letter"),
        "the search for tenancy lists a letter that does not mention it: {results}"
    );
    page(&a, "library", &axe).await?;

    // A consult with identifying details: the gate shows them while composing, and blocks it.
    a.goto(&format!("{}/consults/new", north.url)).await?;
    a.find(Locator::Id("community"))
        .await?
        .select_by_label("Youth Housing Practice Network")
        .await?;
    let title = "School re-engagement after a housing move";
    a.find(Locator::Id("title")).await?.send_keys(title).await?;
    a.find(Locator::Id("question"))
        .await?
        .send_keys(
            "What has helped a young person return to school after moving into supported housing?",
        )
        .await?;
    let identifying = "Jayden Smith, born 14/03/2009, moved to 12 Wattle Street last week and stopped going to school. His phone is 0412 345 678.";
    a.find(Locator::Id("situation"))
        .await?
        .send_keys(identifying)
        .await?;
    let gate = eventually("the gate's findings while composing", async || {
        let t = text_of(&a, "#gate").await?;
        Ok(t.contains("gate found").then_some(t))
    })
    .await?;
    anyhow::ensure!(
        gate.contains("0412 345 678"),
        "the gate missed the phone number: {gate}"
    );
    page(&a, "consult-compose-gate", &axe).await?;
    a.find(Locator::Css("form[data-gate] button[type=submit]"))
        .await?
        .click()
        .await?;
    let refused = eventually("the refusal", async || {
        let t = text_of(&a, "main").await?;
        Ok(t.contains("Not published").then_some(t))
    })
    .await?;
    anyhow::ensure!(refused.contains("gate found"), "{refused}");
    // Fixed: roles and ranges instead of a name, a date and an address.
    let situation = a.find(Locator::Id("situation")).await?;
    situation.clear().await?;
    situation
        .send_keys("A young person aged 15–16 moved into supported housing recently and has stopped attending school. The school is willing to help.")
        .await?;
    eventually("the gate to clear", async || {
        let t = text_of(&a, "#gate").await?;
        Ok(t.contains("nothing found").then_some(()))
    })
    .await?;
    a.find(Locator::Css("form[data-gate] button[type=submit]"))
        .await?
        .click()
        .await?;
    eventually("the published consult", async || {
        let t = text_of(&a, "h1").await?;
        Ok(t.starts_with(title).then_some(()))
    })
    .await?;
    let published = text_of(&a, "main").await?;
    anyhow::ensure!(
        published.contains("Aroha Walker"),
        "not attributed to the signed-in person: {published}"
    );
    page(&a, "consult-thread", &axe).await?;

    // It reaches Riverbend's node, and Bilal's open page shows it without a reload.
    eventually("the consult on the second node's page", async || {
        Ok(text_of(&b, "#consults")
            .await?
            .contains(title)
            .then_some(()))
    })
    .await?;
    b.find(Locator::LinkText(title)).await?.click().await?;
    eventually("the consult's page on the second node", async || {
        Ok(text_of(&b, "h1").await?.starts_with(title).then_some(()))
    })
    .await?;
    screenshot(&b, "consult-on-second-node").await?;

    // Bilal answers the next occurrence of an event, from the month it falls in (which need not
    // be this month).
    b.goto(&format!("{}/", river.url)).await?;
    let next = b
        .find(Locator::Css("#upcoming a[href^='/events?month=']"))
        .await?
        .attr("href")
        .await?
        .ok_or_else(|| anyhow!("no upcoming event on the home page"))?;
    let occurrence_id = next
        .split_once('#')
        .map(|(_, id)| id.to_owned())
        .ok_or_else(|| anyhow!("{next} names no occurrence"))?;
    b.goto(&format!("{}{next}", river.url)).await?;
    let first = b.find(Locator::Id(&occurrence_id)).await?;
    first
        .find(Locator::Css("button[value=declined]"))
        .await?
        .click()
        .await?;
    let notice = eventually("the RSVP to be saved", async || {
        let t = text_of(&b, "main").await?;
        Ok(t.contains("is saved").then_some(t))
    })
    .await?;
    anyhow::ensure!(notice.contains("not going"), "{notice}");
    let chosen = b
        .find(Locator::Css(&format!(
            "#{occurrence_id} button[value=declined]"
        )))
        .await?
        .text()
        .await?;
    anyhow::ensure!(
        chosen.contains("your answer"),
        "the answer is not shown as chosen: {chosen}"
    );
    page(&b, "events", &axe).await?;

    // The calendar file of that event downloads, with the session, as a calendar.
    let href = b
        .find(Locator::Css(&format!("#{occurrence_id} a[download]")))
        .await?
        .attr("href")
        .await?
        .ok_or_else(|| anyhow!("no calendar link"))?;
    let file = b
        .execute_async(
            r#"const [href, done] = arguments;
               fetch(href, { credentials: "same-origin" })
                 .then(r => r.text().then(t => done({ status: r.status, type: r.headers.get("content-type"),
                     disposition: r.headers.get("content-disposition"), body: t })))
                 .catch(e => done({ error: String(e) }));"#,
            vec![json!(href)],
        )
        .await?;
    anyhow::ensure!(file["status"] == 200, "{file}");
    anyhow::ensure!(
        file["type"]
            .as_str()
            .unwrap_or("")
            .starts_with("text/calendar"),
        "{file}"
    );
    anyhow::ensure!(
        file["disposition"]
            .as_str()
            .unwrap_or("")
            .starts_with("attachment"),
        "{file}"
    );
    let body = file["body"].as_str().unwrap_or("");
    anyhow::ensure!(
        body.starts_with("BEGIN:VCALENDAR") && body.contains("SUMMARY:"),
        "{body}"
    );

    // The facilitator report, with its charts.
    a.goto(&format!("{}/report", north.url)).await?;
    a.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("svg.chart"))
        .await?;
    let report = text_of(&a, "main").await?;
    for part in [
        "Activity by month",
        "Participation levels",
        "Who is missing?",
    ] {
        anyhow::ensure!(report.contains(part), "the report lacks {part:?}");
    }
    page(&a, "report", &axe).await?;

    // The federation: three organisations, all online.
    a.goto(&format!("{}/federation", north.url)).await?;
    let members = eventually("every member online", async || {
        let t = text_of(&a, "#members").await?;
        Ok((t.matches("online").count() >= 3).then_some(t))
    })
    .await?;
    for site in &demo.sites {
        anyhow::ensure!(
            members.contains(&site.org),
            "{} is not listed: {members}",
            site.org
        );
    }
    page(&a, "federation", &axe).await?;

    // On a phone: one column, nothing wider than the screen.
    let phone = browser(&driver, &dir.join("profile-phone"), 390, 844).await?;
    sign_in(&phone, north, &demo.password).await?;
    for (path, name) in [("/", "phone-home"), ("/events", "phone-events")] {
        phone.goto(&format!("{}{path}", north.url)).await?;
        let overflow = phone
            .execute(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
                vec![],
            )
            .await?;
        anyhow::ensure!(
            overflow.as_i64() == Some(0),
            "{path} is {overflow}px wider than a phone"
        );
        page(&phone, name, &axe).await?;
    }

    // Signing out ends the session: the pages ask to sign in again.
    a.find(Locator::Css("form.signout button"))
        .await?
        .click()
        .await?;
    a.goto(&format!("{}/consults", north.url)).await?;
    eventually("the sign-in page after signing out", async || {
        Ok(a.current_url()
            .await?
            .path()
            .starts_with("/signin")
            .then_some(()))
    })
    .await?;

    for c in [a, b, phone] {
        c.close().await?;
    }
    Ok(())
}
