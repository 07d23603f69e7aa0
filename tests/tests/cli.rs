//! The `copnet` binary end to end: the README walkthrough exactly as written, the contract of
//! each command, and one-line errors with a non-zero exit for everything a person can get wrong.

use std::process::Command;

use copnet_tests::*;
use serde_json::Value;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

fn assert_fails_with(out: std::process::Output, needle: &str) {
    assert!(
        !out.status.success(),
        "expected failure, got success: {out:?}"
    );
    let err = stderr(&out);
    assert!(err.starts_with("error: "), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "{err:?} should mention {needle:?}");
}

#[test]
fn the_readme_walkthrough_works_as_written() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("node");
    let _node = NodeProc::start(&data, "Eastside Youth Services")?;
    let script = readme_walkthrough()?;
    let bin_dir = copnet_bin().parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("COPNET_DATA", &data)
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "walkthrough failed:\n{stdout}\n{}",
        stderr(&out)
    );
    for expected in [
        "Harm reduction checklist",
        "Re-engaging after a missed appointment",
        "1 reply",
        "blocked by the gate: nothing was published",
        "The peer worker's short text got a reply within a day.",
        "Monthly practice call",
        "RRULE:FREQ=MONTHLY;BYDAY=1TH",
        "DTSTART;TZID=America/Toronto:20261203T150000",
        "BEGIN:VTIMEZONE",
        "calendar.ics?key=",
        "Ontario Youth Housing Network",
    ] {
        assert!(
            stdout.contains(expected),
            "walkthrough output lacks {expected:?}:\n{stdout}"
        );
    }
    // The gate's report names what matched, where, in which field.
    let err = stderr(&out);
    for expected in [
        "situation line 1",
        "person-name \"Jayden\"",
        "phone \"0412 345 678\"",
    ] {
        assert!(
            err.contains(expected),
            "the gate's report lacks {expected:?}:\n{err}"
        );
    }
    Ok(())
}

#[test]
fn commands_print_ids_and_json_listings_carry_the_fields_given() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("node");
    let _node = NodeProc::start(&data, "Harbour Child and Family")?;
    let fed = copnet_ok(&data, &["federation", "create", "Coastal CoP network"])?;
    assert!(fed.starts_with("fed_") && !fed.contains('\n'), "{fed}");
    let com = copnet_ok(
        &data,
        &[
            "community",
            "create",
            "--name",
            "Family group conferencing",
            "--domain",
            "child welfare",
        ],
    )?;
    assert!(com.starts_with("com_"), "{com}");
    let res = copnet_ok(
        &data,
        &[
            "resource",
            "add",
            "--community",
            &com,
            "--title",
            "Conference prep guide",
            "--kind",
            "program-model",
            "--topic",
            "family",
        ],
    )?;
    assert!(res.starts_with("res_"));
    let cst = copnet_ok(
        &data,
        &[
            "consult",
            "open",
            "--community",
            &com,
            "--title",
            "Kinship placement",
            "--question",
            "How to involve the grandparents?",
            "--situation",
            "A sibling group of three.",
        ],
    )?;
    let evt = copnet_ok(
        &data,
        &[
            "event",
            "schedule",
            "--community",
            &com,
            "--title",
            "Case conference",
            "--start",
            "2026-12-10T09:30",
            "--tz",
            "Europe/London",
            "--duration",
            "1h30m",
        ],
    )?;

    let json = |args: &[&str]| -> Value {
        serde_json::from_str(&copnet_ok(&data, args).unwrap()).unwrap()
    };
    let communities = json(&["community", "list", "--json"]);
    assert_eq!(communities[0]["id"], com.as_str());
    assert_eq!(communities[0]["name"], "Family group conferencing");
    let resources = json(&["resource", "list", "--community", &com, "--json"]);
    assert_eq!(resources[0]["id"], res.as_str());
    assert_eq!(resources[0]["title"], "Conference prep guide");
    assert_eq!(resources[0]["kind"], "program-model");
    assert_eq!(resources[0]["community"], com.as_str());
    let consults = json(&["consult", "list", "--json"]);
    assert_eq!(consults[0]["id"], cst.as_str());
    assert_eq!(consults[0]["title"], "Kinship placement");
    let events = json(&["event", "list", "--json"]);
    assert_eq!(events[0]["id"], evt.as_str());
    assert_eq!(
        events[0]["start_utc"], "2026-12-10T09:30:00Z",
        "London is on GMT in December"
    );
    assert_eq!(events[0]["duration_minutes"], 90);

    let edited = copnet_ok(
        &data,
        &[
            "resource",
            "edit",
            &res,
            "--title",
            "Conference preparation guide",
        ],
    )?;
    assert!(edited.contains("Conference preparation guide"));
    assert_eq!(
        json(&["resource", "show", &res, "--json"])["title"],
        "Conference preparation guide"
    );

    let status = json(&["status", "--json"]);
    for key in [
        "node_id",
        "org",
        "federation",
        "http",
        "listen",
        "peers",
        "docs",
    ] {
        assert!(status.get(key).is_some(), "status lacks {key}: {status}");
    }
    assert_eq!(status["org"], "Harbour Child and Family");
    assert_eq!(status["federation"]["id"], fed.as_str());
    assert_eq!(status["federation"]["role"], "member");
    assert_eq!(status["docs"], 4);
    Ok(())
}

#[test]
fn mistakes_get_one_line_and_a_non_zero_exit() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("node");

    // Nothing initialised yet.
    assert_fails_with(copnet(&data, &["status"]), "not a copnet data directory");

    let node_id = copnet_ok(&data, &["init", "--org", "Riverside Housing"])?;
    assert!(node_id.starts_with("12D3KooW"), "{node_id}");
    assert_fails_with(
        copnet(&data, &["init", "--org", "Again"]),
        "already initialised",
    );
    assert_fails_with(
        copnet(&dir.path().join("other"), &["init", "--org", "  "]),
        "organisation name",
    );

    // Initialised but not running.
    assert_fails_with(copnet(&data, &["status"]), "not running");

    let mut node = NodeProc::start_with(&data, &[])?;
    let status: Value = serde_json::from_str(&copnet_ok(&data, &["status", "--json"])?)?;
    assert_eq!(
        status["org"], "Riverside Housing",
        "the org given to init is kept"
    );

    assert_fails_with(
        copnet(&data, &["community", "create", "--name", "Too early"]),
        "not in a federation",
    );
    copnet_ok(&data, &["federation", "create", "Riverside network"])?;
    let com = copnet_ok(
        &data,
        &[
            "community",
            "create",
            "--name",
            "Youth justice resettlement",
        ],
    )?;

    assert_fails_with(
        copnet(
            &data,
            &[
                "resource",
                "add",
                "--community",
                &com,
                "--title",
                "",
                "--kind",
                "tool",
            ],
        ),
        "title must not be empty",
    );
    assert_fails_with(
        copnet(
            &data,
            &[
                "resource",
                "add",
                "--community",
                &com,
                "--title",
                "T",
                "--kind",
                "poem",
            ],
        ),
        "unknown resource kind",
    );
    assert_fails_with(
        copnet(
            &data,
            &[
                "resource",
                "add",
                "--community",
                "com_nope",
                "--title",
                "T",
                "--kind",
                "tool",
            ],
        ),
        "not valid",
    );
    assert_fails_with(
        copnet(&data, &["resource", "show", "res_2zYhBWw6JdnrVRdCGHDbmD"]),
        "no resource",
    );
    assert_fails_with(
        copnet(&data, &["resource", "show", &com]),
        "resource id was expected",
    );
    assert_fails_with(
        copnet(&data, &["resource", "edit", "res_2zYhBWw6JdnrVRdCGHDbmD"]),
        "nothing to change",
    );
    assert_fails_with(
        copnet(
            &data,
            &[
                "event",
                "schedule",
                "--community",
                &com,
                "--title",
                "Call",
                "--start",
                "tomorrow",
                "--tz",
                "America/Toronto",
                "--duration",
                "1h",
            ],
        ),
        "2026-12-03T15:00",
    );
    assert_fails_with(
        copnet(
            &data,
            &[
                "event",
                "schedule",
                "--community",
                &com,
                "--title",
                "Call",
                "--start",
                "2026-12-03T15:00",
                "--tz",
                "EST5",
                "--duration",
                "1h",
            ],
        ),
        "time zone",
    );
    assert_fails_with(
        copnet(
            &data,
            &[
                "event",
                "schedule",
                "--community",
                &com,
                "--title",
                "Call",
                "--start",
                "2026-03-08T02:30",
                "--tz",
                "America/Toronto",
                "--duration",
                "1h",
            ],
        ),
        "daylight saving",
    );
    assert_fails_with(
        copnet(
            &data,
            &[
                "consult",
                "reply",
                "cst_2zYhBWw6JdnrVRdCGHDbmD",
                "--text",
                "hi",
            ],
        ),
        "no consult",
    );

    // A wrong token.
    let token_path = data.join("api-token");
    let token = std::fs::read_to_string(&token_path)?;
    std::fs::write(&token_path, "f".repeat(64))?;
    assert_fails_with(copnet(&data, &["status"]), "API token");
    std::fs::write(&token_path, token)?;

    let docs: Value = serde_json::from_str(&copnet_ok(&data, &["status", "--json"])?)?;
    assert_eq!(
        docs["docs"], 1,
        "none of the refused commands wrote anything"
    );

    // The node refuses to start with a key file others can read.
    node.terminate()?;
    assert!(
        !data.join("api.addr").exists(),
        "a stopped node removes its address file"
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        data.join("identity.key"),
        std::fs::Permissions::from_mode(0o644),
    )?;
    let up = NodeProc::start_with(&data, &[]);
    let err = format!("{:#}", up.err().expect("start must fail"));
    assert!(err.contains("exited early"), "{err}");
    let log = std::fs::read_to_string(data.with_extension("log"))?;
    assert!(log.contains("chmod 600"), "{log}");
    Ok(())
}

#[test]
fn a_node_on_a_public_address_says_so_loudly() -> anyhow::Result<()> {
    const WARNING: &str = "THE API IS LISTENING BEYOND THIS MACHINE";
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("node");
    let mut node = NodeProc::start_with(&data, &["--org", "Open Door", "--http", "0.0.0.0:0"])?;
    let log = std::fs::read_to_string(data.with_extension("log"))?;
    assert!(log.contains(WARNING), "{log}");
    // Still behind the token.
    let (s, _) = Api::new(
        &std::fs::read_to_string(data.join("api.addr"))?,
        "not-the-token",
    )
    .get("/status")?;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    node.terminate()?;

    // On loopback (the default) it stays quiet; a token file others can read stops it.
    let quiet = NodeProc::start(&dir.path().join("quiet"), "Closed Door")?;
    let log = std::fs::read_to_string(quiet.data.with_extension("log"))?;
    assert!(!log.contains(WARNING), "{log}");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        data.join("api-token"),
        std::fs::Permissions::from_mode(0o644),
    )?;
    let err = format!(
        "{:#}",
        NodeProc::start_with(&data, &[])
            .err()
            .expect("start must fail")
    );
    assert!(err.contains("exited early"), "{err}");
    let log = std::fs::read_to_string(data.with_extension("log"))?;
    assert!(
        log.contains("api-token is readable by other users"),
        "{log}"
    );
    Ok(())
}

#[test]
fn sigterm_stops_the_node_cleanly() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("node");
    let mut node = NodeProc::start(&data, "Lakeside Services")?;
    let status = node.terminate()?;
    assert!(status.success(), "exit status {status}");
    assert!(!data.join("api.addr").exists());
    for f in ["identity.key", "api-token"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join(f))?.permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    Ok(())
}

#[test]
fn an_export_is_plain_automerge_files_and_a_tampered_one_is_refused() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("node");
    let _node = NodeProc::start(&data, "Harbour Child and Family")?;
    copnet_ok(&data, &["federation", "create", "Coastal CoP network"])?;
    let com = copnet_ok(&data, &["community", "create", "--name", "Family support"])?;
    let res = copnet_ok(
        &data,
        &[
            "resource",
            "add",
            "--community",
            &com,
            "--title",
            "Safety plan template",
            "--kind",
            "template",
        ],
    )?;
    let out = dir.path().join("export");
    let said = copnet_ok(
        &data,
        &[
            "export",
            "--community",
            &com,
            "--out",
            out.to_str().unwrap(),
        ],
    )?;
    assert!(said.contains("exported 2 documents"), "{said}");

    // Each document is a standard automerge file, readable without copnet.
    let bytes = std::fs::read(out.join(format!("documents/{res}.automerge")))?;
    let doc = automerge::Automerge::load(&bytes)?;
    let (title, _) = automerge::ReadDoc::get(&doc, automerge::ROOT, "title")?.expect("a title");
    assert_eq!(title.into_string().unwrap(), "Safety plan template");
    let view: Value =
        serde_json::from_slice(&std::fs::read(out.join(format!("documents/{res}.json")))?)?;
    assert_eq!(view["title"], "Safety plan template");

    let again = copnet(
        &data,
        &[
            "export",
            "--community",
            &com,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(
        !again.status.success(),
        "a non-empty directory is not overwritten"
    );

    let said = copnet_ok(&data, &["import", out.to_str().unwrap()])?;
    assert!(said.contains("verified 2 documents: 0 new"), "{said}");

    // Change the title inside the automerge file: the signature no longer covers it.
    let mut tampered_doc = automerge::AutoCommit::load(&bytes)?;
    automerge::transaction::Transactable::put(
        &mut tampered_doc,
        automerge::ROOT,
        "title",
        "Forged",
    )?;
    std::fs::write(
        out.join(format!("documents/{res}.automerge")),
        tampered_doc.save(),
    )?;
    let refused = copnet(&data, &["import", out.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("import refused"),
        "{}",
        stderr(&refused)
    );
    let shown = copnet_ok(&data, &["resource", "show", &res, "--json"])?;
    assert!(shown.contains("Safety plan template") && !shown.contains("Forged"));
    Ok(())
}

#[test]
fn status_asks_what_happened_when_a_follow_up_is_due() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("node");
    let _node = NodeProc::start(&data, "Harbour Child and Family")?;
    copnet_ok(&data, &["federation", "create", "Coastal CoP network"])?;
    let com = copnet_ok(&data, &["community", "create", "--name", "Family support"])?;
    let status = copnet_ok(&data, &["status"])?;
    assert!(!status.contains("to do"), "{status}");
    let cst = copnet_ok(
        &data,
        &[
            "consult",
            "open",
            "--community",
            &com,
            "--title",
            "Kinship care",
            "--question",
            "How to involve the grandparents?",
            "--situation",
            "A sibling group is staying with extended family.",
            "--follow-up",
            "2020-01-31",
        ],
    )?;
    copnet_ok(
        &data,
        &[
            "consult",
            "answer",
            &cst,
            "--summary",
            "Meeting at home helped.",
        ],
    )?;
    let status = copnet_ok(&data, &["status"])?;
    assert!(
        status.contains("1 of your consults is due a follow-up: what happened?"),
        "{status}"
    );
    copnet_ok(
        &data,
        &[
            "consult",
            "outcome",
            &cst,
            "--text",
            "The children stayed with family.",
        ],
    )?;
    let status = copnet_ok(&data, &["status"])?;
    assert!(!status.contains("due a follow-up"), "{status}");
    Ok(())
}

/// Runs the CLI with `input` on standard input.
fn copnet_with_stdin(data: &std::path::Path, args: &[&str], input: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(copnet_bin())
        .arg("--data")
        .arg(data)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run copnet");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("copnet finishes")
}

#[test]
fn accounts_are_added_with_a_password_listed_without_it_and_an_admin_always_remains()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("node");
    let _node = NodeProc::start(&data, "Eastside Youth Services")?;
    let password = "kettle lantern orchard river\n";
    let add = |name: &str, role: &str, input: &str| {
        copnet_with_stdin(
            &data,
            &["account", "add", name, "--role", role, "--password-stdin"],
            input,
        )
    };

    assert_fails_with(add("pat", "practitioner", password), "first one an admin");
    assert_fails_with(add("ada", "admin", "short\n"), "at least 15");
    assert_fails_with(add("ada", "owner", password), "unknown role");
    assert_fails_with(add("ada", "admin", ""), "no password on standard input");
    // Without --password-stdin and without a terminal, the CLI says how to pass one.
    assert_fails_with(
        copnet(&data, &["account", "add", "ada", "--role", "admin"]),
        "--password-stdin",
    );

    let out = add("Ada", "admin", password);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "added Ada (admin)"
    );
    let out = add("pat", "practitioner", password);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_fails_with(add("ADA", "facilitator", password), "already");

    let listed = copnet_ok(&data, &["account", "list", "--json"])?;
    assert!(
        !listed.contains("kettle") && !listed.contains("argon2"),
        "{listed}"
    );
    let accounts: Value = serde_json::from_str(&listed)?;
    let roles: Vec<(&str, &str)> = accounts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["name"].as_str().unwrap(), a["role"].as_str().unwrap()))
        .collect();
    assert_eq!(roles, [("Ada", "admin"), ("pat", "practitioner")]);

    assert_fails_with(copnet(&data, &["account", "remove", "ada"]), "last admin");
    assert_fails_with(
        copnet(&data, &["account", "remove", "nobody"]),
        "no account",
    );
    copnet_ok(&data, &["account", "remove", "pat"])?;
    let table = copnet_ok(&data, &["account", "list"])?;
    assert!(table.contains("Ada") && !table.contains("pat"), "{table}");
    Ok(())
}
