//! Runs the de-identification gate over the labelled corpus and measures line-level precision
//! and recall per finding kind. Run with `-- --nocapture` to see the table.
//!
//! Each corpus line is `{"id", "text", "expect": [kinds], "terms": {names, places, terms}?}`.
//! For every line and kind: expected and reported = TP, reported only = FP, expected only = FN.

use std::collections::BTreeSet;

use serde::Deserialize;

// The gate under test. In the project this is `copnet_node::deid`.
use copnet_node::deid::{FindingKind, Gate, Terms};

/// Corpus path, relative to the crate's manifest directory.
const CORPUS_PATH: &str = "corpus/deid-corpus.jsonl";

#[derive(Deserialize)]
struct Line {
    id: String,
    text: String,
    expect: Vec<String>,
    #[serde(default)]
    terms: Terms,
}

#[derive(Default, Clone, Copy)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Counts {
    fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        }
    }
    fn recall(&self) -> f64 {
        if self.tp + self.fn_ == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fn_) as f64
        }
    }
    fn add(&mut self, o: Counts) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
    }
}

fn load() -> Vec<Line> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(CORPUS_PATH);
    let data = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    data.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("{CORPUS_PATH}:{}: {e}", i + 1))
        })
        .collect()
}

#[test]
fn corpus_precision_recall() {
    let lines = load();
    let gate = Gate::new();
    let mut per_kind: Vec<Counts> = vec![Counts::default(); FindingKind::ALL.len()];
    let mut clean_lines = 0;
    let mut clean_passed = 0;
    let mut problems: Vec<String> = Vec::new();
    let mut ids = BTreeSet::new();

    for line in &lines {
        assert!(ids.insert(line.id.clone()), "duplicate id {}", line.id);
        let expected: BTreeSet<FindingKind> = line
            .expect
            .iter()
            .map(|k| {
                FindingKind::parse(k).unwrap_or_else(|| panic!("{}: unknown kind {k}", line.id))
            })
            .collect();
        let report = gate.check(&line.text, &line.terms);
        let reported: BTreeSet<FindingKind> = report.kinds().into_iter().collect();
        if expected.is_empty() {
            clean_lines += 1;
            if reported.is_empty() {
                clean_passed += 1;
            }
        }
        for (i, kind) in FindingKind::ALL.iter().enumerate() {
            match (expected.contains(kind), reported.contains(kind)) {
                (true, true) => per_kind[i].tp += 1,
                (false, true) => per_kind[i].fp += 1,
                (true, false) => per_kind[i].fn_ += 1,
                (false, false) => {}
            }
        }
        let missing: Vec<&str> = expected.difference(&reported).map(|k| k.as_str()).collect();
        let extra: Vec<&str> = reported.difference(&expected).map(|k| k.as_str()).collect();
        if !missing.is_empty() || !extra.is_empty() {
            problems.push(format!(
                "{}: missing {:?} extra {:?}\n  text: {}\n{}",
                line.id,
                missing,
                extra,
                line.text.replace('\n', " / "),
                report
                    .render()
                    .lines()
                    .map(|l| format!("  {l}\n"))
                    .collect::<String>()
            ));
        }
    }

    let mut overall = Counts::default();
    let mut direct = Counts::default();
    println!(
        "\nde-identification gate, corpus {CORPUS_PATH}: {} lines, {} clean",
        lines.len(),
        clean_lines
    );
    println!(
        "{:<20} {:>4} {:>4} {:>4} {:>10} {:>8}",
        "kind", "TP", "FP", "FN", "precision", "recall"
    );
    for (i, kind) in FindingKind::ALL.iter().enumerate() {
        let c = per_kind[i];
        overall.add(c);
        if kind.is_direct() {
            direct.add(c);
        }
        println!(
            "{:<20} {:>4} {:>4} {:>4} {:>10.3} {:>8.3}",
            kind.as_str(),
            c.tp,
            c.fp,
            c.fn_,
            c.precision(),
            c.recall()
        );
    }
    println!(
        "{:<20} {:>4} {:>4} {:>4} {:>10.3} {:>8.3}",
        "overall",
        overall.tp,
        overall.fp,
        overall.fn_,
        overall.precision(),
        overall.recall()
    );
    println!(
        "{:<20} {:>4} {:>4} {:>4} {:>10.3} {:>8.3}",
        "direct identifiers",
        direct.tp,
        direct.fp,
        direct.fn_,
        direct.precision(),
        direct.recall()
    );
    println!("clean lines passed: {clean_passed}/{clean_lines}");
    if !problems.is_empty() {
        println!("\nlines where reported kinds differ from expected:");
        for p in &problems {
            print!("{p}");
        }
    }

    assert!(lines.len() >= 160, "corpus too small");
    assert!(
        clean_lines * 100 >= lines.len() * 45,
        "corpus needs at least 45% clean lines"
    );
    for kind in FindingKind::ALL {
        assert!(
            lines
                .iter()
                .any(|l| l.expect.iter().any(|k| k == kind.as_str())),
            "no positive line for {kind}"
        );
    }
    assert_eq!(
        direct.fn_, 0,
        "direct-identifier recall must be 100% on the corpus"
    );
    assert!(
        overall.precision() >= 0.90,
        "overall precision {:.3} < 0.90",
        overall.precision()
    );
}
