//! The report as CSV (one row per number, for spreadsheets) and as text (for a terminal or an
//! e-mail to a sponsor).

use std::fmt::Write as _;

use serde_json::Value;

use super::Report;

/// Fields that name an array element rather than measure it, in the order they are preferred.
const LABELS: &[&str] = &[
    "period",
    "by",
    "organisation",
    "group",
    "occurrence",
    "beat",
    "answer",
    "id",
];

fn csv_field(s: &str) -> String {
    // Formula injection: a cell starting with these runs as a formula in spreadsheet software.
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn flatten(v: &Value, section: &str, item: &str, measure: &str, out: &mut Vec<[String; 4]>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if matches!(x, Value::Object(_) | Value::Array(_)) {
                    let s = if section.is_empty() {
                        k.clone()
                    } else {
                        format!("{section}.{k}")
                    };
                    flatten(x, &s, item, "", out);
                } else {
                    flatten(x, section, item, k, out);
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                match x {
                    Value::Object(m) => {
                        let label = LABELS
                            .iter()
                            .find_map(|l| m.get(*l).map(|v| (*l, scalar(v))));
                        let label = match (m.get("from"), m.get("to")) {
                            (Some(f), Some(t)) => {
                                Some(("from", format!("{} → {}", scalar(f), scalar(t))))
                            }
                            _ => label,
                        };
                        let (skip, name) = label.unwrap_or(("", i.to_string()));
                        let name = if item.is_empty() {
                            name
                        } else {
                            format!("{item} / {name}")
                        };
                        for (k, y) in m {
                            if k == skip || (skip == "from" && k == "to") {
                                continue;
                            }
                            if matches!(y, Value::Object(_) | Value::Array(_)) {
                                flatten(y, &format!("{section}.{k}"), &name, "", out);
                            } else {
                                flatten(y, section, &name, k, out);
                            }
                        }
                    }
                    other => flatten(other, section, &i.to_string(), measure, out),
                }
            }
        }
        other => out.push([
            section.to_owned(),
            item.to_owned(),
            measure.to_owned(),
            scalar(other),
        ]),
    }
}

/// The report as CSV: `section,item,measure,value`, one row per figure.
pub fn csv(r: &Report) -> String {
    let v = serde_json::to_value(r).expect("reports serialise");
    let mut rows = Vec::new();
    flatten(&v, "", "", "", &mut rows);
    let mut out = String::from("section,item,measure,value\n");
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| csv_field(c)).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// The report as text.
pub fn text(r: &Report) -> String {
    let mut o = String::new();
    let d = |s: &str| s.get(..10).unwrap_or(s).to_owned();
    let _ = writeln!(
        o,
        "{} — facilitator report, {} to {}",
        r.name,
        d(&r.since),
        d(&r.until)
    );
    let _ = writeln!(o, "({})", r.small_number_rule);
    let m = &r.members;
    let _ = writeln!(
        o,
        "\nMEMBERS  {} people; {} joined, {} left in the period",
        m.total, m.joined, m.left
    );
    let levels = |l: &std::collections::BTreeMap<&str, super::Count>| {
        ["core", "active", "peripheral"]
            .iter()
            .map(|k| format!("{k} {}", l.get(k).copied().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(o, "  declared: {}", levels(&m.declared));
    let _ = writeln!(o, "  observed: {}", levels(&m.observed));
    for org in &m.by_organisation {
        let _ = writeln!(o, "  {:<32} {}", org.organisation, org.members);
    }
    if !r.movement.declared.is_empty() || !r.movement.observed.is_empty() {
        let _ = writeln!(o, "\nMOVEMENT");
        for (what, moves) in [
            ("declared", &r.movement.declared),
            ("observed", &r.movement.observed),
        ] {
            for mv in moves {
                let _ = writeln!(o, "  {what}: {} → {}  {}", mv.from, mv.to, mv.people);
            }
        }
    }
    let _ = writeln!(
        o,
        "\nACTIVITY BY MONTH           consults replies resources stories rsvps attendance"
    );
    for a in &r.activity.monthly {
        let _ = writeln!(
            o,
            "  {:<24} {:>8} {:>7} {:>9} {:>7} {:>5} {:>10}",
            a.period, a.consults, a.replies, a.resources, a.stories, a.rsvps, a.attendance
        );
    }
    let _ = writeln!(
        o,
        "\nCONTRIBUTIONS               consults replies resources stories rsvps attendance"
    );
    for c in r
        .contributions
        .by_organisation
        .iter()
        .chain(&r.contributions.by_level)
    {
        let a = &c.counts;
        let _ = writeln!(
            o,
            "  {:<24} {:>8} {:>7} {:>9} {:>7} {:>5} {:>10}",
            truncate(&c.by, 24),
            a.consults,
            a.replies,
            a.resources,
            a.stories,
            a.rsvps,
            a.attendance
        );
    }
    let c = &r.consults;
    let _ = writeln!(
        o,
        "\nCASE CONSULTS  {} opened, {} with replies, {} answered{}",
        c.opened,
        c.with_replies,
        c.answered,
        c.answered_percent
            .map(|p| format!(" ({p}%)"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        o,
        "  median time to first reply: {}",
        c.median_hours_to_first_reply
            .map(|h| if h < 1.0 {
                "under an hour".to_owned()
            } else {
                format!("{h:.1} hours")
            })
            .unwrap_or_else(|| "no replies yet".into())
    );
    let _ = writeln!(
        o,
        "  replies: {} ({} across organisations)",
        c.replies, c.replies_across_organisations
    );
    let _ = writeln!(
        o,
        "  follow-ups: {} of {} due have an outcome",
        c.follow_ups_done, c.follow_ups_due
    );
    let _ = writeln!(o, "\nEVENTS");
    for e in &r.events.occurrences {
        let _ = writeln!(
            o,
            "  {} {:<28} {:<10} going {:<3} attended {}",
            e.occurrence,
            truncate(&e.title, 28),
            e.status,
            e.going.to_string(),
            e.attended
        );
    }
    let rh = &r.events.rhythm;
    match (&rh.rhythm, &rh.note) {
        (Some(rhythm), _) => {
            let _ = writeln!(
                o,
                "  rhythm ({rhythm}): {} of {} beats kept{}",
                rh.kept,
                rh.beats.len(),
                if rh.missed.is_empty() {
                    String::new()
                } else {
                    format!("; missed {}", rh.missed.join(", "))
                }
            );
        }
        (None, Some(note)) => {
            let _ = writeln!(o, "  rhythm: {note}");
        }
        _ => {}
    }
    let rs = &r.resources;
    let _ = writeln!(
        o,
        "\nRESOURCES  {} in all, {} added, {} updated",
        rs.total, rs.added, rs.updated
    );
    for od in &rs.overdue_for_review {
        let _ = writeln!(
            o,
            "  overdue for review since {}: {}",
            od.review_by, od.title
        );
    }
    for s in &r.surveys {
        let _ = writeln!(
            o,
            "\nSURVEY {} ({}, {}; {} respondents from {} organisations)",
            s.title, s.phase, s.status, s.respondents, s.nodes_reporting
        );
        for q in &s.questions {
            if q.kind == copnet_protocol::docs::QuestionKind::Text {
                let _ = writeln!(
                    o,
                    "  {}  [{} answered in words, kept by each organisation]",
                    q.text, q.answered
                );
                continue;
            }
            let counts: Vec<String> = q
                .counts
                .iter()
                .map(|c| format!("{} {}", c.answer, c.count))
                .collect();
            let _ = writeln!(
                o,
                "  {}  [{}]{}",
                q.text,
                counts.join(" · "),
                q.mean
                    .map(|m| format!("  mean {m} (of {})", q.mean_of))
                    .unwrap_or_default()
            );
        }
        for cmp in &s.compared_with_baseline {
            let _ = writeln!(
                o,
                "  since baseline: {} {} → {} ({:+})",
                cmp.question, cmp.baseline_mean, cmp.follow_up_mean, cmp.change
            );
        }
    }
    let _ = writeln!(o, "\nVALUE-CREATION STORIES");
    let cycles: Vec<String> = copnet_protocol::docs::ValueCycle::ALL
        .iter()
        .map(|c| {
            let n = r.stories.by_cycle.get(c.as_str()).copied().unwrap_or(0);
            format!("{c} {n}")
        })
        .collect();
    let _ = writeln!(o, "  {}", cycles.join(", "));
    for s in &r.stories.told {
        let _ = writeln!(o, "  [{}] {} — {}", s.cycle, s.title, s.organisation);
    }
    let w = &r.who_is_missing;
    let _ = writeln!(o, "\nWHO IS MISSING?");
    for g in &w.groups {
        let _ = writeln!(
            o,
            "  {:<40} members {:<3} attended {:<3} contributed {:<3} {}",
            truncate(&g.group, 40),
            g.members.to_string(),
            g.attended.to_string(),
            g.contributed.to_string(),
            g.status
        );
    }
    for gap in &w.gaps {
        let _ = writeln!(o, "  - {gap}");
    }
    if !w.quiet_organisations.is_empty() {
        let _ = writeln!(
            o,
            "  - not heard from in the period: {}",
            w.quiet_organisations.join(", ")
        );
    }
    if !w.also_present.is_empty() {
        let _ = writeln!(o, "  also at the table: {}", w.also_present.join(", "));
    }
    o
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}
