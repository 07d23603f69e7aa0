//! De-identification gate for case consults and replies.
//!
//! Before a consult or a reply is signed and published, its text goes through [`Gate::check`].
//! The gate looks for **direct identifiers** (person names, phone numbers, e-mail addresses,
//! social-media handles, street addresses and postcodes, exact dates such as dates of birth,
//! and identifying numbers: case/client/record numbers, health and tax numbers, licence plates),
//! for **community terms** that the caller marks as identifying (small towns, schools, local
//! programs, rare local events), and for **risky combinations** of quasi-identifiers (an exact
//! age or school year together with a small place, a named school or a rare event).
//!
//! ```ignore
//! use crate::deid::{Gate, Terms};
//! let gate = Gate::new();
//! let report = gate.check("S: YP (15) staying with her mother Karen, ph 0412 345 678.", &Terms::default());
//! assert!(!report.passes());
//! print!("{}", report.render());
//! ```
//!
//! How names are found. A capitalised word is a name when:
//! - the caller lists it in [`Terms::names`] (case-insensitive; a name that is also an ordinary
//!   word, such as "Hope", must be capitalised);
//! - it follows a title ("Mr Smith", "Ms. Nguyen", "Aunty Jo", "Koro Hemi") or a relation or role
//!   word ("her mother Karen", "brother Jayden", "youth worker, Sam"), or comes before one
//!   ("Karen (mother)", "Jayden's mum"), or follows "known as", "goes by", "nicknamed", or
//!   "named"/"called" (the last two only for listed names or after "a boy", "a friend"...);
//! - it is in the embedded lists (`data/given_names.txt`, `data/surnames.txt`) and is not also an
//!   ordinary word or place (`data/ambiguous.txt` lists those: they count only in the contexts
//!   above or in a First Last pair);
//! - it forms a First Last pair with a listed name ("Tama Rangihuna", "Will Nguyen").
//!
//! Data files (embedded with `include_str!`, plain text, one word or pattern per line or
//! whitespace-separated, `#` comments): `given_names.txt`, `surnames.txt`, `ambiguous.txt`
//! (names that are also words or places), `not_names.txt` (never names, plus multi-word
//! organisation/brand phrases), `context_words.txt` (titles, relation words, place and
//! organisation words and other rule vocabularies, by section) and `rare_events.txt` (regular
//! expression fragments for newsworthy events).
//!
//! Words in `data/not_names.txt` (roles such as "Mother" or "Worker", months, weekdays, agencies,
//! programs, place types, drugs, diagnoses) are never names; single initials ("J.") and role
//! placeholders ("YP", "Client A") pass. Capitalised words followed by an organisation or place
//! word ("John Hunter Hospital", "Walker Street") are not names either.
//!
//! Findings are sorted by position; overlapping findings are merged, keeping the most specific
//! (an e-mail address over the name inside it, a labelled health number over a phone-shaped
//! number). A risky combination is never merged away: its span runs from the first part to the
//! second, and its explanation quotes both parts.
//!
//! The gate is built once ([`Gate::new`], a few milliseconds) and is `Send + Sync`; `check` is
//! a pure function of the text and the caller's terms.

mod lexicon;
mod names;
mod patterns;
mod quasi;
mod text;

use serde::{Deserialize, Serialize};

use lexicon::Lexicon;
use patterns::Patterns;
use quasi::Quasi;

/// What a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    PersonName,
    Phone,
    Email,
    Handle,
    StreetAddress,
    PostalCode,
    ExactDate,
    IdNumber,
    CommunityTerm,
    RiskyCombination,
}

impl FindingKind {
    /// All kinds, in display order.
    pub const ALL: [FindingKind; 10] = [
        FindingKind::PersonName,
        FindingKind::Phone,
        FindingKind::Email,
        FindingKind::Handle,
        FindingKind::StreetAddress,
        FindingKind::PostalCode,
        FindingKind::ExactDate,
        FindingKind::IdNumber,
        FindingKind::CommunityTerm,
        FindingKind::RiskyCombination,
    ];

    /// Kebab-case name, as in JSON: "person-name", "phone", "street-address"...
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::PersonName => "person-name",
            FindingKind::Phone => "phone",
            FindingKind::Email => "email",
            FindingKind::Handle => "handle",
            FindingKind::StreetAddress => "street-address",
            FindingKind::PostalCode => "postal-code",
            FindingKind::ExactDate => "exact-date",
            FindingKind::IdNumber => "id-number",
            FindingKind::CommunityTerm => "community-term",
            FindingKind::RiskyCombination => "risky-combination",
        }
    }

    /// Parses [`FindingKind::as_str`] output.
    pub fn parse(s: &str) -> Option<FindingKind> {
        FindingKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Direct identifiers: everything except community terms and risky combinations.
    pub fn is_direct(self) -> bool {
        !matches!(
            self,
            FindingKind::CommunityTerm | FindingKind::RiskyCombination
        )
    }

    fn why(self) -> &'static str {
        match self {
            FindingKind::PersonName => {
                "looks like a person's name; replace it with a role such as \"the young person\", \"her mother\" or \"the worker\", or an initial"
            }
            FindingKind::Phone => "looks like a phone number; remove it",
            FindingKind::Email => "looks like an e-mail address; remove it",
            FindingKind::Handle => {
                "looks like a social-media handle or profile link; remove it (say \"on social media\" instead)"
            }
            FindingKind::StreetAddress => {
                "looks like a street address or PO box; describe the place generally, such as \"a share house in a regional town\""
            }
            FindingKind::PostalCode => {
                "looks like a postcode or ZIP code; remove it or name only the region"
            }
            FindingKind::ExactDate => {
                "looks like a date of birth or another exact date; use an age range, a month and year, or a relative time such as \"three weeks ago\""
            }
            FindingKind::IdNumber => {
                "looks like a case, client, health, tax or licence number; remove it (the referring agency keeps the record)"
            }
            FindingKind::CommunityTerm => {
                "is on your community's list of identifying terms (a small place, school, program or event); describe it in general terms"
            }
            FindingKind::RiskyCombination => {
                "an exact age together with a small place or rare event could single out the young person; give an age range and describe the place or event generally"
            }
        }
    }
}

impl std::fmt::Display for FindingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Extra terms supplied by the caller (the author's community settings and the case at hand).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Terms {
    /// Names to flag wherever they appear (case-insensitive, whole words): the young person's
    /// and relatives' names, local workers, nicknames. Each part of a multi-word name counts.
    pub names: Vec<String>,
    /// Small places (towns, suburbs, communities) that identify on their own and make an exact
    /// age risky.
    pub places: Vec<String>,
    /// Other identifying terms: schools, local programs, rare local events.
    pub terms: Vec<String>,
}

/// One thing the gate found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// The exact text matched (`&text[start..end]`).
    pub matched: String,
    /// Byte offsets into the checked text (on char boundaries).
    pub start: usize,
    pub end: usize,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, counted in chars.
    pub column: usize,
    /// One sentence for the practitioner: what it looks like and how to fix it.
    pub why: String,
}

/// The result of a check. No findings means the text passes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
}

impl Report {
    /// True if nothing was found.
    pub fn passes(&self) -> bool {
        self.findings.is_empty()
    }

    /// The distinct kinds found, in [`FindingKind`] order.
    pub fn kinds(&self) -> Vec<FindingKind> {
        let mut k: Vec<FindingKind> = self.findings.iter().map(|f| f.kind).collect();
        k.sort();
        k.dedup();
        k
    }

    /// One line per finding, for a terminal:
    /// `line 2, col 14: phone "0412 345 678" — looks like a phone number; remove it`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let shown = shorten(&f.matched.replace(['\n', '\r', '\t'], " "), 80);
            out.push_str(&format!(
                "line {}, col {}: {} \"{}\" — {}\n",
                f.line, f.column, f.kind, shown, f.why
            ));
        }
        out
    }
}

fn shorten(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let head: String = s.chars().take(max / 2 - 1).collect();
    let tail: String = s.chars().skip(n - (max / 2 - 1)).collect();
    format!("{head} … {tail}")
}

/// A candidate finding before merging. `rank` orders overlapping candidates: the higher the
/// more specific.
#[derive(Clone, Debug)]
pub(crate) struct Hit {
    pub kind: FindingKind,
    pub start: usize,
    pub end: usize,
    pub rank: u8,
    pub why: Option<String>,
}

impl Hit {
    pub fn new(kind: FindingKind, start: usize, end: usize, rank: u8) -> Hit {
        Hit {
            kind,
            start,
            end,
            rank,
            why: None,
        }
    }
}

/// The de-identification gate. Build once with [`Gate::new`] and reuse; it is `Send + Sync`.
pub struct Gate {
    lex: Lexicon,
    patterns: Patterns,
    quasi: Quasi,
}

impl Default for Gate {
    fn default() -> Self {
        Gate::new()
    }
}

impl Gate {
    /// A gate with the embedded name lists and patterns.
    pub fn new() -> Gate {
        Gate {
            lex: Lexicon::load(),
            patterns: Patterns::new(),
            quasi: Quasi::new(),
        }
    }

    /// Checks `text` for identifiers, with the caller's extra names, places and terms.
    pub fn check(&self, text: &str, extra: &Terms) -> Report {
        let toks = text::tokenize(text);
        let mut hits: Vec<Hit> = Vec::new();
        self.patterns.find(text, &mut hits);

        let caller = names::CallerNames::new(&extra.names, &self.lex);
        names::find(text, &toks, &self.lex, &caller, &mut hits);

        // Community terms: exact, case-insensitive, whole-word.
        let community: Vec<Vec<String>> = extra
            .places
            .iter()
            .chain(extra.terms.iter())
            .map(|t| {
                text::tokenize(t)
                    .into_iter()
                    .map(|t| t.folded)
                    .collect::<Vec<_>>()
            })
            .filter(|v| !v.is_empty())
            .collect();
        let mut seconds = self.quasi.second_parts(text, |w| self.lex.is_not_name(w));
        for (s, e) in names::match_sequences(text, &toks, community.iter()) {
            let (start, end) = (toks[s].start, toks[e - 1].end);
            hits.push(Hit::new(FindingKind::CommunityTerm, start, end, 55));
            seconds.push(quasi::Part {
                start,
                end,
                what: "a term your community marked as identifying",
            });
        }
        seconds.sort_by_key(|p| (p.start, p.end));

        let mut combos: Vec<Hit> = Vec::new();
        let firsts = self.quasi.first_parts(text);
        quasi::combine(text, &firsts, &seconds, &mut combos);

        let mut kept = merge(hits);
        kept.extend(combos);
        kept.sort_by_key(|h| (h.start, h.end, h.kind));
        Report {
            findings: to_findings(text, kept),
        }
    }
}

/// Keeps, among overlapping candidates, the most specific (highest rank, then longest); then
/// joins same-kind candidates that touch.
fn merge(mut hits: Vec<Hit>) -> Vec<Hit> {
    hits.retain(|h| h.end > h.start);
    hits.sort_by(|a, b| {
        b.rank
            .cmp(&a.rank)
            .then((b.end - b.start).cmp(&(a.end - a.start)))
            .then(a.start.cmp(&b.start))
    });
    // Accepted intervals, sorted by start, non-overlapping.
    let mut kept: Vec<Hit> = Vec::new();
    for h in hits {
        let idx = kept.partition_point(|k| k.start < h.start);
        let overlaps_prev = idx > 0 && kept[idx - 1].end > h.start;
        let overlaps_next = idx < kept.len() && kept[idx].start < h.end;
        if overlaps_prev || overlaps_next {
            // Same kind: grow the kept one to cover both (e.g. "Mr Smith" and "Smith Jones").
            let j = if overlaps_prev { idx - 1 } else { idx };
            if kept[j].kind == h.kind {
                let (s, e) = (kept[j].start.min(h.start), kept[j].end.max(h.end));
                let fits = (j == 0 || kept[j - 1].end <= s)
                    && (j + 1 >= kept.len() || kept[j + 1].start >= e);
                if fits {
                    kept[j].start = s;
                    kept[j].end = e;
                }
            }
            continue;
        }
        kept.insert(idx, h);
    }
    kept
}

fn to_findings(text: &str, hits: Vec<Hit>) -> Vec<Finding> {
    // Line and column by one sweep over the text (hits are sorted by start).
    let mut line = 1usize;
    let mut col = 1usize;
    let mut pos = 0usize;
    let mut out = Vec::with_capacity(hits.len());
    for h in hits {
        let start = text::floor_boundary(text, h.start);
        let end = text::ceil_boundary(text, h.end.max(start));
        if start < pos {
            // Only combinations can start before the previous finding; recount from the start.
            line = 1;
            col = 1;
            pos = 0;
        }
        for c in text[pos..start].chars() {
            if c == '\n' {
                line += 1;
                col = 1;
            } else {
                col += 1;
            }
        }
        pos = start;
        out.push(Finding {
            kind: h.kind,
            matched: text[start..end].to_string(),
            start,
            end,
            line,
            column: col,
            why: h.why.unwrap_or_else(|| h.kind.why().to_string()),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    fn gate() -> &'static Gate {
        static G: OnceLock<Gate> = OnceLock::new();
        G.get_or_init(Gate::new)
    }

    fn check(text: &str) -> Report {
        gate().check(text, &Terms::default())
    }

    fn kinds(text: &str) -> Vec<&'static str> {
        check(text)
            .kinds()
            .into_iter()
            .map(FindingKind::as_str)
            .collect()
    }

    fn matched(text: &str, kind: FindingKind) -> Vec<String> {
        check(text)
            .findings
            .into_iter()
            .filter(|f| f.kind == kind)
            .map(|f| f.matched)
            .collect()
    }

    /// Every finding's offsets lie on char boundaries, match the text, and its line/column agree
    /// with a direct count.
    fn assert_consistent(text: &str, r: &Report) {
        for f in &r.findings {
            assert!(
                text.is_char_boundary(f.start) && text.is_char_boundary(f.end),
                "{f:?}"
            );
            assert!(f.start < f.end && f.end <= text.len(), "{f:?}");
            assert_eq!(&text[f.start..f.end], f.matched);
            let before = &text[..f.start];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            assert_eq!((f.line, f.column), (line, col), "{f:?}");
            assert!(!f.why.is_empty());
        }
        for w in r.findings.windows(2) {
            assert!(w[0].start <= w[1].start, "findings not sorted");
        }
    }

    #[test]
    fn gate_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Gate>();
        assert_send_sync::<Report>();
    }

    #[test]
    fn clean_text_passes() {
        for text in [
            "S: YP is a 15-year-old young woman in a regional town. B: Mother has a history of AOD use. A: Worker is concerned. R: Ideas?",
            "Client A (16, male) was remanded on the weekend. Client A has ADHD and is on Concerta.",
            "J. has been in crisis accommodation for three weeks. Mother, Father and YP attended on Wednesday.",
            "May was a hard month. In June she started TAFE. Will the Department fund it? Grace period extended.",
            "The YP attends Youth Justice, Functional Family Therapy and a Wraparound program in a small coastal town.",
            "Kids Helpline 1800 55 1800, Lifeline 13 11 14, Childline 0800 1111, US 1-800-786-2929.",
            "The young person lives in Logan and attends John Hunter Hospital appointments. She lives on Walker Street.",
            "Stats from 2019-2020 show those aged 15-17 are over-represented; costs were $150000; 24/7 support; 100% free.",
            "Aunty from the community is an Elder. Nan is unwell. Her mother's partner hit her last Saturday.",
        ] {
            let r = check(text);
            assert!(r.passes(), "{text}\n{}", r.render());
        }
    }

    #[test]
    fn person_names() {
        assert_eq!(
            matched("She lives with her mother Karen.", FindingKind::PersonName),
            ["Karen"]
        );
        assert_eq!(
            matched("Ms. Nguyen from the school rang.", FindingKind::PersonName),
            ["Ms. Nguyen"]
        );
        assert_eq!(
            matched(
                "He stays with Aunty Jo on weekends.",
                FindingKind::PersonName
            ),
            ["Aunty Jo"]
        );
        assert_eq!(
            matched("His brother Jayden is on remand.", FindingKind::PersonName),
            ["Jayden"]
        );
        assert_eq!(
            matched("We support Tayla Whitford.", FindingKind::PersonName),
            ["Tayla Whitford"]
        );
        assert_eq!(
            matched(
                "An older male called Dazza is involved.",
                FindingKind::PersonName
            ),
            ["Dazza"]
        );
        assert_eq!(
            matched(
                "Her partner, Jamie-Lee R. Walker, left.",
                FindingKind::PersonName
            ),
            ["Jamie-Lee R. Walker"]
        );
        assert_eq!(
            matched("Mum (Leanne) asked for updates.", FindingKind::PersonName),
            ["Leanne"]
        );
        assert_eq!(
            matched("Brooklyn's mother is supportive.", FindingKind::PersonName),
            ["Brooklyn"]
        );
        assert_eq!(
            matched(
                "Tyreek disclosed that he is scared.",
                FindingKind::PersonName
            ),
            ["Tyreek"]
        );
        assert_eq!(
            matched("Later Hunter disclosed more.", FindingKind::PersonName),
            ["Hunter"]
        );
        assert_eq!(
            matched(
                "His sister April is placed separately.",
                FindingKind::PersonName
            ),
            ["April"]
        );
        // Role words, initials and placeholders pass.
        assert!(kinds("Mother (Ms B.) and Client A met the worker. YP and J. agreed.").is_empty());
        assert!(kinds("She moved to Logan and later moved to Jordan with family.").is_empty());
    }

    #[test]
    fn caller_names_and_community_terms() {
        let terms = Terms {
            names: vec!["Kaylee-Ann Smith".into(), "Hope".into()],
            places: vec!["Wilcannia".into()],
            terms: vec!["Deadly Dads".into()],
        };
        let r = gate().check(
            "met kaylee-ann; we hope Hope joins deadly dads in Wilcannia, not Wilcannias",
            &terms,
        );
        let got: Vec<(FindingKind, &str)> = r
            .findings
            .iter()
            .map(|f| (f.kind, f.matched.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (FindingKind::PersonName, "kaylee-ann"),
                (FindingKind::PersonName, "Hope"),
                (FindingKind::CommunityTerm, "deadly dads"),
                (FindingKind::CommunityTerm, "Wilcannia"),
            ]
        );
    }

    #[test]
    fn phones() {
        for (text, want) in [
            ("call 0412 345 678 today", "0412 345 678"),
            ("landline (02) 9876 5432.", "(02) 9876 5432"),
            ("mobile +61 423 555 019;", "+61 423 555 019"),
            ("cell 555-123-4567 ok", "555-123-4567"),
            ("UK +44 7700 900123 (mobile)", "+44 7700 900123"),
            ("NZ 021 123 4567 ok", "021 123 4567"),
            ("work (416) 555-0199;", "(416) 555-0199"),
            ("home 9555 1234 (ask)", "9555 1234"),
            ("Ph: 0412345678.", "0412345678"),
            ("carer +61 (0)2 9876 5432", "+61 (0)2 9876 5432"),
        ] {
            assert_eq!(matched(text, FindingKind::Phone), [want], "{text}");
        }
        assert!(
            matched(
                "Kids Helpline 1800 55 1800 and 1300 659 467",
                FindingKind::Phone
            )
            .is_empty()
        );
    }

    #[test]
    fn emails_and_handles() {
        assert_eq!(
            matched("send to karen.w1982@gmail.com please", FindingKind::Email),
            ["karen.w1982@gmail.com"]
        );
        assert_eq!(
            matched("it is jaybird09 at gmail dot com", FindingKind::Email),
            ["jaybird09 at gmail dot com"]
        );
        // The e-mail wins over the name inside it.
        assert_eq!(kinds("mail Jayden.Walker@outlook.com"), ["email"]);
        assert_eq!(
            matched("see instagram.com/lil.kayz_04 now", FindingKind::Handle),
            ["instagram.com/lil.kayz_04"]
        );
        assert_eq!(
            matched("Snapchat is @jaydz_2009.", FindingKind::Handle),
            ["@jaydz_2009"]
        );
        assert_eq!(
            matched("gamertag is xXSlayerXx99 and", FindingKind::Handle),
            ["xXSlayerXx99"]
        );
        assert!(kinds("meet @ 5pm, then @home; she uses Discord and Roblox").is_empty());
    }

    #[test]
    fn addresses_and_postcodes() {
        assert_eq!(
            matched("staying at 12 Smith Street now", FindingKind::StreetAddress),
            ["12 Smith Street"]
        );
        assert_eq!(
            kinds("Unit 4/22 King St, Parramatta NSW 2150."),
            ["street-address", "postal-code"]
        );
        assert_eq!(
            matched("found at 45B Queen Rd.", FindingKind::StreetAddress),
            ["45B Queen Rd"]
        );
        assert_eq!(
            matched("mail to PO Box 1234 please", FindingKind::StreetAddress),
            ["PO Box 1234"]
        );
        assert_eq!(
            matched("Columbus, OH 43215-1234", FindingKind::PostalCode),
            ["43215-1234"]
        );
        assert_eq!(
            matched("Toronto, ON M5V 2T6", FindingKind::PostalCode),
            ["M5V 2T6"]
        );
        assert_eq!(
            matched("London SW1A 1AA", FindingKind::PostalCode),
            ["SW1A 1AA"]
        );
        assert_eq!(
            matched(
                "7 Kauri Road, Ōtara, Auckland 2023",
                FindingKind::PostalCode
            ),
            ["2023"]
        );
        assert!(
            kinds("2 Children's Court hearings; SA 2019; client ID 83702 is fine? no")
                .contains(&"id-number")
        );
        assert!(
            !kinds("2 Children's Court hearings and 3 Family Court dates")
                .contains(&"street-address")
        );
    }

    #[test]
    fn exact_dates() {
        for (text, want) in [
            ("DOB 14/03/2009.", "DOB 14/03/2009"),
            ("on 2024-03-14 at night", "2024-03-14"),
            ("born on 3 June 2008 in", "born on 3 June 2008"),
            ("set for March 14th, 2025 at", "March 14th, 2025"),
            ("admitted Tuesday 12 March after", "Tuesday 12 March"),
            ("born in March 2009, the", "born in March 2009"),
            ("D.O.B: 02/11/2007.", "D.O.B: 02/11/2007"),
        ] {
            assert_eq!(matched(text, FindingKind::ExactDate), [want], "{text}");
        }
        assert!(
            kinds("in March 2024, three weeks ago, last winter, born in 2009, 24/7, Year 9 May")
                .is_empty()
        );
    }

    #[test]
    fn id_numbers() {
        for (text, want) in [
            ("Case no. CP-2023-04417 closed", "Case no. CP-2023-04417"),
            ("Client ID: 4471-B.", "Client ID: 4471-B"),
            (
                "Medicare number is 2953 41825 1 and",
                "Medicare number is 2953 41825 1",
            ),
            ("NHS number 943 476 5919 is", "NHS number 943 476 5919"),
            ("SSN 123-45-6789.", "SSN 123-45-6789"),
            ("SIN 046 454 286 used", "SIN 046 454 286"),
            ("NI number AB 12 34 56 C is", "AB 12 34 56 C"),
            ("rego XYZ-789, which", "rego XYZ-789"),
            ("file YJ/2022/0183 moved", "YJ/2022/0183"),
            ("our file is 20931847.", "20931847"),
            ("NHI ZZZ0016 on file", "NHI ZZZ0016"),
        ] {
            assert_eq!(matched(text, FindingKind::IdNumber), [want], "{text}");
        }
        // A labelled number beats the phone shape.
        assert_eq!(kinds("NHS number 943 476 5919"), ["id-number"]);
        assert!(
            kinds("No case number yet; K10 score 32; PHQ-9; COVID-19; ID documents").is_empty()
        );
    }

    #[test]
    fn risky_combinations() {
        let r = check("A 15-year-old girl whose family lost everything in a house fire.");
        assert_eq!(r.kinds(), [FindingKind::RiskyCombination]);
        let f = &r.findings[0];
        assert_eq!(
            f.matched,
            "15-year-old girl whose family lost everything in a house fire"
        );
        assert!(
            f.why.contains("\"15-year-old\"") && f.why.contains("\"house fire\""),
            "{}",
            f.why
        );
        assert_eq!(
            kinds("YP is in Year 11 at Mount Carmel College."),
            ["risky-combination"]
        );
        assert_eq!(
            kinds("a 16 yo in a town of about 400 people"),
            ["risky-combination"]
        );
        let terms = Terms {
            places: vec!["Tibooburra".into()],
            ..Terms::default()
        };
        let r = gate().check("aged 14, lives in Tibooburra", &terms);
        assert_eq!(
            r.kinds(),
            [FindingKind::CommunityTerm, FindingKind::RiskyCombination]
        );
        // Age ranges and generic places are fine.
        assert!(
            kinds("aged 15-17 in a regional town; mid-teens; a Catholic High School in Year 9")
                .is_empty()
        );
        assert!(kinds("The 15-year-old joined the basketball team.").is_empty());
        // Everyday senses of event words are not events.
        assert!(
            kinds(
                "The 15-year-old loves shooting hoops, has a twin bed and an explosion of anger."
            )
            .is_empty()
        );
        assert!(
            kinds("Started High School in Year 7. Reasons (3) for the 14-year-old's house move.")
                .is_empty()
        );
    }

    #[test]
    fn offsets_lines_and_columns() {
        let text = "Situation: Ōtara whānau 🙂\nMum is on 0412 345 678.\n\tEmail: a.b@c.org";
        let r = check(text);
        assert_consistent(text, &r);
        let phone = r
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::Phone)
            .unwrap();
        assert_eq!(
            (phone.line, phone.column, phone.start),
            (2, 11, text.find("0412").unwrap())
        );
        let email = r
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::Email)
            .unwrap();
        assert_eq!((email.line, email.column), (3, 9));
        let text = "🙂🙂 Kayden's nan";
        let r = check(text);
        assert_consistent(text, &r);
        assert_eq!(
            (r.findings[0].column, r.findings[0].matched.as_str()),
            (4, "Kayden")
        );
    }

    #[test]
    fn report_render_and_json() {
        let r = check("Mum is on 0412 345 678.");
        assert_eq!(
            r.render(),
            "line 1, col 11: phone \"0412 345 678\" — looks like a phone number; remove it\n"
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["findings"][0]["kind"], "phone");
        assert_eq!(json["findings"][0]["start"], 10);
        assert_eq!(
            serde_json::to_value(FindingKind::RiskyCombination).unwrap(),
            "risky-combination"
        );
        for k in FindingKind::ALL {
            assert_eq!(FindingKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        let t: Terms = serde_json::from_str(r#"{"places":["Bourke"]}"#).unwrap();
        assert_eq!(t.places, ["Bourke"]);
        assert!(t.names.is_empty());
        assert!(check("").passes());
        assert_eq!(check("").render(), "");
    }

    /// Odd Unicode never panics and offsets stay on char boundaries.
    #[test]
    fn odd_unicode_does_not_panic() {
        const PIECES: &[&str] = &[
            "🙂",
            "👩‍👩‍👧‍👦",
            "🏳️‍🌈",
            "\u{200d}",
            "\u{200f}",
            "\u{202e}",
            "مرحبا محمد",
            "שלום",
            "e\u{301}",
            "a\u{308}\u{304}",
            "İstanbul",
            "ß",
            "ﬁ",
            "ǅ",
            "Ⅻ",
            "０４１２ ３４５ ６７８",
            "٠٤١٢٣٤٥٦٧٨",
            "²³",
            "\u{feff}",
            "\u{0}",
            "\r\n",
            "\t",
            " ",
            "\u{a0}",
            "Ōtara",
            "Māngere",
            "whānau",
            "Hēmi",
            "José",
            "Zoë",
            "Nguyễn",
            "李",
            "김",
            "ไทย",
            "हिन्दी",
            "Mr ",
            "Ms. ",
            "her mother ",
            "Karen",
            "Jayden's",
            "0412 345 678",
            "+61 4",
            "(02) ",
            "@",
            "@x_1",
            "a@b.co",
            "12 ",
            "Smith ",
            "St",
            "Street",
            "NSW 2000",
            "DOB ",
            "14/03/2009",
            "3 June",
            "aged 15",
            "15-year-old",
            "house fire",
            "Year 9",
            "College",
            "ID: ",
            "4471-B",
            "Medicare ",
            "2953 41825 1",
            ".",
            ",",
            "(",
            ")",
            "'",
            "’",
            "-",
            "\n",
            "named ",
            "called ",
            "known as ",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let terms = Terms {
            names: vec!["Zoë".into(), "İ".into()],
            places: vec!["Ōtara".into()],
            terms: vec!["ไทย".into()],
        };
        for _ in 0..1500 {
            let len = (next() % 40) as usize;
            let text: String = (0..len)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect();
            let r = gate().check(&text, &terms);
            assert_consistent(&text, &r);
            let _ = r.render();
        }
    }

    #[test]
    fn large_input_is_fast_enough() {
        let para = "S: YP is a 15-year-old in a regional town, staying with her mother Karen (0412 345 678) at 12 Smith Street. \
                    B: Known to Child Protection; DOB 14/03/2009; client ID 4471-B. A: Worker is concerned about house fire risk. \
                    R: Ideas from peers on engaging the young person around safe accommodation and school re-engagement.\n";
        let text: String = para.repeat(50_000 / para.len() + 1);
        let r = check(&text);
        assert_consistent(&text, &r);
        let small: String = text.chars().take(5_000).collect();
        let runs = 20;
        let t0 = std::time::Instant::now();
        for _ in 0..runs {
            std::hint::black_box(check(&small));
        }
        let per = t0.elapsed() / runs;
        // The bound is for release builds; debug builds are an order of magnitude slower.
        let bound = if cfg!(debug_assertions) {
            std::time::Duration::from_millis(100)
        } else {
            std::time::Duration::from_millis(5)
        };
        assert!(per < bound, "check on 5,000 chars took {per:?}");
    }
}
