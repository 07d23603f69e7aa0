//! PLACEHOLDER — replaced by the real gate.
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    Email,
}
impl FindingKind {
    pub fn as_str(self) -> &'static str {
        "email"
    }
}
#[derive(Default, Clone, Debug)]
pub struct Terms {
    pub names: Vec<String>,
    pub places: Vec<String>,
    pub terms: Vec<String>,
}
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub matched: String,
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub column: usize,
    pub why: String,
}
#[derive(Debug, Clone, Serialize, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
}
impl Report {
    pub fn passes(&self) -> bool {
        self.findings.is_empty()
    }
}
pub struct Gate;
impl Gate {
    pub fn new() -> Self {
        Gate
    }
    pub fn check(&self, text: &str, _t: &Terms) -> Report {
        let mut findings = vec![];
        if let Some(i) = text.find('@') {
            findings.push(Finding {
                kind: FindingKind::Email,
                matched: "@".into(),
                start: i,
                end: i + 1,
                line: 1,
                column: i + 1,
                why: "email".into(),
            });
        }
        Report { findings }
    }
}
