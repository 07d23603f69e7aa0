//! A realistic community spread over three organisations' nodes — people at every level, a
//! monthly call with a missed beat, consults, resources, stories and a check-in — and the
//! facilitator report checked, figure by figure, against numbers worked out by hand below.

use std::time::Duration;

use chrono::{Datelike, Months, NaiveDate, Utc};
use copnet_tests::*;
use serde_json::{Value, json};

const CONVERGE: Duration = Duration::from_secs(120);

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

/// The first of the month `back` months before `today`'s.
fn month_start(today: NaiveDate, back: u32) -> NaiveDate {
    today.with_day(1).unwrap() - Months::new(back)
}

/// POSTs and expects any success.
fn post_ok(n: &NodeProc, path: &str, body: Value) -> Value {
    let (s, v) = n.api.post(path, &body).unwrap();
    assert!(s.is_success(), "POST {path} → {s}: {v}");
    v
}

struct People<'a> {
    node: &'a NodeProc,
    community: &'a str,
}

impl People<'_> {
    fn join(&self, name: &str, level: &str, groups: &[&str], steward: bool) -> String {
        let v = self
            .node
            .api
            .create(
                &format!("/communities/{}/people", self.community),
                &json!({ "name": name, "level": level, "groups": groups, "steward": steward }),
            )
            .unwrap();
        v["person"].as_str().unwrap().to_owned()
    }
}

#[test]
fn the_facilitator_report_matches_numbers_worked_out_by_hand() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let harbour = NodeProc::start(&dir.path().join("a"), "Harbour Youth Services")?;
    let northside = NodeProc::start(&dir.path().join("b"), "Northside Youth Justice")?;
    let families = NodeProc::start(&dir.path().join("c"), "Family Support Network")?;
    copnet_ok(&harbour.data, &["federation", "create", "Resettlement CoP"])?;
    invite_and_join(&harbour, &northside, "member")?;
    invite_and_join(&harbour, &families, "member")?;
    let nodes = [&harbour, &northside, &families];

    let community = id(&harbour.api.create(
        "/communities",
        &json!({
            "name": "Youth resettlement practice",
            "domain": "youth homelessness and resettlement",
            "rhythm": "monthly",
            "stakeholders": ["young people with lived experience", "youth justice",
                             "housing providers", "schools", "families", "health"],
        }),
    )?);
    let com = community.as_str();
    wait_converged(&nodes, CONVERGE)?;

    // People: 5 at Harbour, 4 at Northside, 3 at Family Support.
    let a = People {
        node: &harbour,
        community: com,
    };
    let amira = a.join("Amira", "core", &["housing providers"], true);
    let ben = a.join("Ben", "active", &["housing providers"], false);
    let chloe = a.join(
        "Chloe",
        "active",
        &["young people with lived experience"],
        false,
    );
    let dev = a.join(
        "Dev",
        "peripheral",
        &[
            "housing providers",
            "Aboriginal community controlled organisations",
        ],
        false,
    );
    let eli = a.join("Eli", "peripheral", &["health"], false);
    let b = People {
        node: &northside,
        community: com,
    };
    let farah = b.join("Farah", "core", &["youth justice"], true);
    let gus = b.join("Gus", "active", &["youth justice"], false);
    let _hana = b.join("Hana", "peripheral", &["youth justice"], false);
    let _ivan = b.join("Ivan", "peripheral", &["youth justice"], false);
    let c = People {
        node: &families,
        community: com,
    };
    let jo = c.join("Jo", "active", &["families"], false);
    let kim = c.join("Kim", "peripheral", &["families"], false);
    let lee = c.join("Lee", "peripheral", &["families"], false);
    wait_converged(&nodes, CONVERGE)?;
    // Kim steps up; Lee leaves.
    let person = |n: &NodeProc, p: &str, body: Value| {
        let (s, v) = n
            .api
            .patch(&format!("/communities/{com}/people/{p}"), &body)
            .unwrap();
        assert!(s.is_success(), "{v}");
    };
    person(&families, &kim, json!({ "level": "active" }));
    person(&families, &lee, json!({ "left": true }));

    // The monthly call, on the 1st at 00:30 UTC from four months ago: five occurrences up to
    // this month's, all inside the report's period.
    let today = Utc::now().date_naive();
    let months: Vec<NaiveDate> = (0..=4).rev().map(|back| month_start(today, back)).collect();
    let occ = |d: NaiveDate| format!("{d}T00:30");
    let call = id(&harbour.api.create(
        "/events",
        &json!({ "community": com, "title": "Monthly practice call", "kind": "call",
                 "start": occ(months[0]), "tz": "UTC", "duration": "1h",
                 "rrule": "FREQ=MONTHLY" }),
    )?);
    wait_converged(&nodes, CONVERGE)?;
    let record = |n: &NodeProc, month: usize, who: &[&String]| {
        post_ok(
            n,
            &format!("/events/{call}/record"),
            json!({ "occurrence": occ(months[month]), "attended": who }),
        );
    };
    // Four months ago: 5 came. Three months ago: 3. Two months ago: cancelled (the missed
    // beat). Last month: 6. This month: nothing recorded yet, 6 said they were going.
    record(&harbour, 0, &[&amira, &ben, &farah, &gus, &jo]);
    record(&northside, 1, &[&amira, &farah, &chloe]);
    post_ok(
        &harbour,
        &format!("/events/{call}/cancel"),
        json!({ "occurrence": occ(months[2]) }),
    );
    record(&families, 3, &[&amira, &ben, &farah, &gus, &jo, &kim]);
    for (n, p) in [
        (&harbour, &amira),
        (&harbour, &ben),
        (&harbour, &chloe),
        (&northside, &farah),
        (&northside, &gus),
        (&families, &jo),
    ] {
        post_ok(
            n,
            &format!("/events/{call}/rsvps"),
            json!({ "person": p, "status": "going", "occurrence": occ(months[4]) }),
        );
    }

    // Consults: 3 from Harbour, 2 from Northside, 1 from Family Support; two with a follow-up
    // due today.
    let consult = |n: &NodeProc, who: &str, title: &str, follow_up: Option<String>| {
        let mut body = json!({ "community": com, "title": title, "person": who,
            "question": "What has worked for you?",
            "situation": "A young person leaves custody next week with nowhere confirmed to stay." });
        if let Some(f) = follow_up {
            body["follow_up_on"] = json!(f);
        }
        id(&n.api.create("/consults", &body).unwrap())
    };
    let today_s = today.to_string();
    let c1 = consult(
        &harbour,
        &amira,
        "Release day without housing",
        Some(today_s.clone()),
    );
    let c2 = consult(&harbour, &ben, "Keeping a tenancy after release", None);
    let _c3 = consult(&harbour, &chloe, "Peer support on the first night", None);
    let c4 = consult(
        &northside,
        &farah,
        "Bail address refused",
        Some(today_s.clone()),
    );
    let c5 = consult(&northside, &gus, "School re-entry after custody", None);
    let c6 = consult(&families, &jo, "Family contact before release", None);
    wait_converged(&nodes, CONVERGE)?;
    let reply = |n: &NodeProc, c: &str, who: &str| {
        n.api
            .create(
                &format!("/consults/{c}/replies"),
                &json!({ "text": "We book emergency accommodation before the release date.", "person": who }),
            )
            .unwrap();
    };
    // 9 replies: 8 across organisations (Jo's reply to her own organisation's consult is not).
    reply(&northside, &c1, &farah);
    reply(&families, &c1, &jo);
    reply(&northside, &c1, &gus);
    reply(&northside, &c2, &farah);
    reply(&harbour, &c4, &amira);
    reply(&harbour, &c4, &ben);
    reply(&families, &c5, &kim);
    reply(&harbour, &c6, &amira);
    reply(&families, &c6, &jo);
    wait_converged(&nodes, CONVERGE)?;
    // Answered: c1, c4, c6. The outcome of c1 is recorded; c4's follow-up is still open.
    let answer = |n: &NodeProc, c: &str| {
        post_ok(
            n,
            &format!("/consults/{c}/answer"),
            json!({ "summary": "Booking ahead helped." }),
        );
    };
    answer(&harbour, &c1);
    answer(&northside, &c4);
    answer(&families, &c6);
    post_ok(
        &harbour,
        &format!("/consults/{c1}/outcome"),
        json!({ "outcome": "Housed on the day of release." }),
    );

    // Resources: 4, one of them overdue for review.
    let resource = |n: &NodeProc, who: &str, title: &str, kind: &str, review: &str| {
        id(&n
            .api
            .create(
                "/resources",
                &json!({ "community": com, "title": title, "kind": kind,
            "person": who, "review_by": review }),
            )
            .unwrap())
    };
    let r1 = resource(
        &harbour,
        &ben,
        "Release-day checklist",
        "tool",
        "2099-01-01",
    );
    resource(
        &harbour,
        &dev,
        "Tenancy support policy",
        "policy",
        "2020-06-30",
    );
    resource(
        &northside,
        &gus,
        "Evaluation of bail support",
        "research",
        "2099-01-01",
    );
    resource(
        &families,
        &jo,
        "Family meeting agenda",
        "template",
        "2099-01-01",
    );
    wait_converged(&nodes, CONVERGE)?;

    // Stories on three value cycles.
    let story = |n: &NodeProc, who: &str, title: &str, cycle: &str, links: Vec<&String>| {
        n.api
            .create(
                "/stories",
                &json!({ "community": com, "title": title, "person": who,
            "cycle": cycle, "links": links,
            "text": "We used the checklist from the call and booked accommodation a week ahead." }),
            )
            .unwrap();
    };
    story(
        &harbour,
        &chloe,
        "The checklist changed our release days",
        "applied",
        vec![&c1, &r1],
    );
    story(
        &northside,
        &farah,
        "Fewer nights in custody for want of an address",
        "realised",
        vec![&call],
    );
    story(
        &families,
        &jo,
        "I left the call with three new contacts",
        "immediate",
        vec![],
    );

    // A check-in after last month's call: 5 answers at Harbour, 2 at Northside, 1 at Family
    // Support; each organisation's answers stay with it.
    let survey = id(&harbour.api.create(
        "/surveys",
        &json!({ "community": com, "title": "After the call", "event": call,
                 "occurrence": occ(months[3]),
                 "questions": [
                    { "kind": "scale", "text": "How useful was the call?" },
                    { "kind": "choice", "text": "Will you use the release-day checklist?",
                      "options": ["yes", "no", "not sure"] },
                    { "kind": "text", "text": "What would make the next call better?" } ] }),
    )?);
    wait_converged(&nodes, CONVERGE)?;
    let respond = |n: &NodeProc, who: &str, q1: &str, q2: &str, q3: &str| {
        n.api
            .create(
                &format!("/surveys/{survey}/responses"),
                &json!({ "person": who, "answers": { "q1": q1, "q2": q2, "q3": q3 } }),
            )
            .unwrap();
    };
    respond(&harbour, &amira, "5", "yes", "harbour-private-answer-1");
    respond(&harbour, &ben, "4", "yes", "harbour-private-answer-2");
    respond(&harbour, &chloe, "4", "yes", "harbour-private-answer-3");
    respond(&harbour, &dev, "3", "not sure", "harbour-private-answer-4");
    respond(&harbour, &eli, "4", "yes", "harbour-private-answer-5");
    respond(&northside, &farah, "5", "yes", "northside-private-answer");
    respond(&northside, &gus, "4", "no", "northside-private-answer");
    respond(&families, &jo, "2", "yes", "families-private-answer");
    // The same person cannot answer twice.
    let (s, v) = harbour.api.post(
        &format!("/surveys/{survey}/responses"),
        &json!({ "person": amira, "answers": { "q1": "1" } }),
    )?;
    assert_eq!(s.as_u16(), 422, "{v}");
    // Until the survey closes, nothing of the answers is in the shared document.
    wait_converged(&nodes, CONVERGE)?;
    for n in nodes {
        let v = n.api.ok(&format!("/surveys/{survey}"))?;
        assert_eq!(v["results"]["nodes_reporting"], 0, "{v}");
        assert_eq!(v["results"]["respondents"], "0", "{v}");
    }
    assert_eq!(
        harbour.api.ok(&format!("/surveys/{survey}"))?["this_node"]["responses"],
        5
    );
    assert_eq!(
        northside.api.ok(&format!("/surveys/{survey}"))?["this_node"]["responses"],
        2
    );
    // Closed by its author: every organisation publishes its aggregate.
    post_ok(&harbour, &format!("/surveys/{survey}/close"), json!({}));
    wait_for(CONVERGE, "every organisation's survey aggregate", || {
        nodes
            .iter()
            .all(|n| {
                n.api
                    .ok(&format!("/surveys/{survey}"))
                    .is_ok_and(|v| v["results"]["nodes_reporting"] == 3)
            })
            .then_some(())
    })?;
    wait_converged(&nodes, CONVERGE)?;

    // ---- the report, on every node -------------------------------------------------------
    let since = months[0];
    let path = format!("/communities/{com}/report?since={since}&until={today}");
    let report = harbour.api.ok(&path)?;
    for n in [&northside, &families] {
        assert_eq!(
            n.api.ok(&path)?,
            report,
            "every node computes the same report"
        );
    }
    let r = &report;

    // Members: 11 current (Lee left). Declared: core Amira, Farah (2); active Ben, Chloe, Gus,
    // Jo, Kim (5); peripheral Dev, Eli, Hana, Ivan (4). By organisation 5 / 4 / 2.
    assert_eq!(r["members"]["total"], 11);
    assert_eq!(
        r["members"]["declared"],
        json!({ "core": "<5", "active": 5, "peripheral": "<5" })
    );
    // Observed over the last 90 days, with one held meeting in it (last month's; two months
    // ago was cancelled, this month's is unrecorded): core = 3+ contributions and came to it:
    // Amira (consult, 2 replies), Ben (consult, reply, resource), Farah (consult, 2 replies,
    // story), Gus (consult, reply, resource), Jo (consult, 2 replies, resource, story) = 5;
    // active: Chloe (consult, story), Dev (resource), Kim (reply, came) = 3; peripheral: Eli,
    // Hana, Ivan = 3.
    assert_eq!(
        r["members"]["observed"],
        json!({ "core": 5, "active": "<5", "peripheral": "<5" })
    );
    assert_eq!(
        r["members"]["by_organisation"],
        json!([
            { "organisation": "Family Support Network", "members": "<5" },
            { "organisation": "Harbour Youth Services", "members": 5 },
            { "organisation": "Northside Youth Justice", "members": "<5" },
        ])
    );
    assert_eq!(r["members"]["joined"], 12);
    assert_eq!(r["members"]["left"], "<5");
    assert_eq!(
        r["movement"]["declared"],
        json!([{ "from": "peripheral", "to": "active", "people": "<5" }])
    );

    // Activity by month: attendance 5, 3, 0, 6 in the four past months; this month holds every
    // post: 6 consults, 9 replies, 4 resources, 3 stories, 6 RSVPs.
    let monthly = r["activity"]["monthly"].as_array().unwrap();
    assert_eq!(monthly.len(), 5, "{monthly:?}");
    let attendance: Vec<&Value> = monthly.iter().map(|m| &m["attendance"]).collect();
    assert_eq!(
        attendance,
        [&json!(5), &json!("<5"), &json!(0), &json!(6), &json!(0)]
    );
    assert_eq!(
        monthly[4]["period"],
        format!("{:04}-{:02}", today.year(), today.month())
    );
    assert_eq!(monthly[4]["consults"], 6);
    assert_eq!(monthly[4]["replies"], 9);
    assert_eq!(monthly[4]["resources"], "<5");
    assert_eq!(monthly[4]["stories"], "<5");
    assert_eq!(monthly[4]["rsvps"], 6);
    let weeks = r["activity"]["weekly"].as_array().unwrap();
    let expected_weeks = {
        let mut set = std::collections::BTreeSet::new();
        let mut d = since;
        while d <= today {
            let w = d.iso_week();
            set.insert(format!("{}-W{:02}", w.year(), w.week()));
            d = d.succ_opt().unwrap();
        }
        set
    };
    assert_eq!(
        weeks.len(),
        expected_weeks.len(),
        "a row for every week, quiet ones too"
    );

    // Contributions by organisation: attendance counts for the person's own organisation,
    // whoever recorded it: Harbour 2+2+2 = 6, Northside 2+1+2 = 5, Family Support 1+0+2 = 3.
    let org = |name: &str| {
        r["contributions"]["by_organisation"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["by"] == name)
            .cloned()
            .unwrap()
    };
    let h = org("Harbour Youth Services");
    assert_eq!(
        (&h["consults"], &h["replies"], &h["attendance"]),
        (&json!("<5"), &json!("<5"), &json!(6))
    );
    assert_eq!(org("Northside Youth Justice")["attendance"], 5);
    assert_eq!(org("Family Support Network")["attendance"], "<5");

    // Consults: 6 opened, 5 with replies, 3 answered (50 %), 9 replies, 8 across
    // organisations; follow-ups: 2 due today, 1 done. Every first reply came within the
    // test's own minutes.
    let cs = &r["consults"];
    assert_eq!(cs["opened"], 6);
    assert_eq!(cs["with_replies"], 5);
    assert_eq!(cs["answered"], 3);
    assert_eq!(cs["answered_percent"], 50);
    assert_eq!(cs["replies"], 9);
    assert_eq!(cs["replies_across_organisations"], 8);
    assert_eq!(cs["follow_ups_due"], 2);
    assert_eq!(cs["follow_ups_done"], 1);
    let hours = cs["median_hours_to_first_reply"].as_f64().unwrap();
    assert!((0.0..0.5).contains(&hours), "{hours}");

    // Events: five occurrences, one cancelled; the rhythm kept in 4 of 5 months.
    let occs = r["events"]["occurrences"].as_array().unwrap();
    let rows: Vec<(String, String, Value, Value)> = occs
        .iter()
        .map(|o| {
            (
                o["occurrence"].as_str().unwrap().to_owned(),
                o["status"].as_str().unwrap().to_owned(),
                o["going"].clone(),
                o["attended"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (occ(months[0]), "held".into(), json!(0), json!(5)),
            (occ(months[1]), "held".into(), json!(0), json!("<5")),
            (occ(months[2]), "cancelled".into(), json!(0), json!(0)),
            (occ(months[3]), "held".into(), json!(0), json!(6)),
            (occ(months[4]), "unrecorded".into(), json!(6), json!(0)),
        ]
    );
    let rhythm = &r["events"]["rhythm"];
    assert_eq!(rhythm["rhythm"], "monthly");
    assert_eq!(rhythm["beats"].as_array().unwrap().len(), 5);
    assert_eq!(rhythm["kept"], 4);
    assert_eq!(
        rhythm["missed"],
        json!([format!("{:04}-{:02}", months[2].year(), months[2].month())])
    );

    // Resources: 4 added, 1 overdue.
    let rs = &r["resources"];
    assert_eq!((&rs["total"], &rs["added"]), (&json!(4), &json!(4)));
    assert_eq!(
        rs["added_by_kind"],
        json!({ "policy": 1, "research": 1, "template": 1, "tool": 1 })
    );
    assert_eq!(rs["overdue_for_review"].as_array().unwrap().len(), 1);
    assert_eq!(
        rs["overdue_for_review"][0]["title"],
        "Tenancy support policy"
    );

    // The check-in: Harbour published 5 respondents (exact), the others "<5": 7 to 13 in all.
    // The scale's mean rests on Harbour's 5 answers only: (5+4+4+3+4)/5 = 4.0. "yes": every
    // organisation's count is under 5, so only a bound can be given.
    let s = r["surveys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == survey)
        .unwrap();
    assert_eq!(s["status"], "closed");
    assert_eq!(s["nodes_reporting"], 3);
    assert_eq!(s["respondents"], "7–13");
    assert_eq!(s["questions"][0]["mean"], 4.0);
    assert_eq!(s["questions"][0]["mean_of"], 5);
    assert_eq!(s["questions"][0]["answered"], "7–13");
    let yes = s["questions"][1]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["answer"] == "yes")
        .unwrap();
    assert_eq!(yes["count"], "up to 12");
    let no = s["questions"][1]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["answer"] == "no")
        .unwrap();
    assert_eq!(no["count"], "<5");
    // No free text and no single answer left its node.
    for n in nodes {
        let text = n.api.ok(&format!("/surveys/{survey}"))?.to_string();
        let own = match n.data.file_name().unwrap().to_str().unwrap() {
            "a" => "harbour-private",
            "b" => "northside-private",
            _ => "families-private",
        };
        for other in ["harbour-private", "northside-private", "families-private"] {
            assert_eq!(
                text.contains(other),
                other == own,
                "{other} on {}: {text}",
                own
            );
        }
    }

    // Stories by cycle.
    assert_eq!(
        r["stories"]["by_cycle"],
        json!({ "applied": 1, "immediate": 1, "potential": 0, "realised": 1, "transformative": 0 })
    );
    let applied = &r["stories"]["told"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["cycle"] == "applied")
        .unwrap()
        .clone();
    assert_eq!(applied["links"][0]["title"], "Release day without housing");
    assert_eq!(applied["organisation"], "Harbour Youth Services");

    // Who is missing: schools (no one), health (Eli, who has not taken part).
    let groups: Vec<(String, String)> = r["who_is_missing"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["group"].as_str().unwrap().to_owned(),
                g["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            ("young people with lived experience", "taking part"),
            ("youth justice", "taking part"),
            ("housing providers", "taking part"),
            ("schools", "missing"),
            ("families", "taking part"),
            ("health", "silent"),
        ]
        .map(|(g, s)| (g.to_owned(), s.to_owned()))
    );
    let yj = &r["who_is_missing"]["groups"][1];
    assert_eq!(
        (&yj["members"], &yj["attended"], &yj["contributed"]),
        (&json!("<5"), &json!("<5"), &json!("<5"))
    );
    assert_eq!(r["who_is_missing"]["gaps"].as_array().unwrap().len(), 2);
    assert_eq!(
        r["who_is_missing"]["also_present"],
        json!(["Aboriginal community controlled organisations"])
    );
    assert_eq!(r["who_is_missing"]["quiet_organisations"], json!([]));

    // Nothing in the report is about one person: no person's id or name appears.
    let text = report.to_string();
    for p in [
        &amira, &ben, &chloe, &dev, &eli, &farah, &gus, &jo, &kim, &lee,
    ] {
        assert!(!text.contains(p.as_str()), "{p} in the report");
    }
    for name in ["\"Amira\"", "\"Farah\"", "\"Kim\""] {
        assert!(!text.contains(name), "{name} in the report");
    }

    // The same report as CSV and as text, through the CLI.
    let csv = copnet_ok(
        &northside.data,
        &[
            "report",
            "--community",
            com,
            "--since",
            &since.to_string(),
            "--csv",
        ],
    )?;
    assert!(csv.starts_with("section,item,measure,value"), "{csv}");
    assert!(csv.lines().any(|l| l == "consults,,opened,6"), "{csv}");
    assert!(
        csv.lines().any(|l| l == "members.declared,,core,<5"),
        "{csv}"
    );
    let txt = copnet_ok(
        &families.data,
        &["report", "--community", com, "--since", &since.to_string()],
    )?;
    assert!(
        txt.contains("WHO IS MISSING?") && txt.contains("schools: no one"),
        "{txt}"
    );
    // The README's sample report is this one: `COPNET_SAMPLE_REPORT=FILE` writes it out.
    if let Ok(path) = std::env::var("COPNET_SAMPLE_REPORT") {
        std::fs::write(path, &txt)?;
    }

    // Participation stays local and is per person.
    let p = harbour
        .api
        .ok(&format!("/communities/{com}/participation"))?;
    let kim_row = p["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["person"] == kim.as_str())
        .unwrap();
    assert_eq!(
        (&kim_row["declared"], &kim_row["observed"]),
        (&json!("active"), &json!("active"))
    );
    let eli_row = p["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["person"] == eli.as_str())
        .unwrap();
    assert_eq!(
        (&eli_row["declared"], &eli_row["observed"]),
        (&json!("peripheral"), &json!("peripheral"))
    );
    let jo_row = p["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["person"] == jo.as_str())
        .unwrap();
    assert_eq!(
        (
            &jo_row["contributions"],
            &jo_row["attended"],
            &jo_row["observed"]
        ),
        (&json!(5), &json!(1), &json!("core"))
    );
    Ok(())
}
