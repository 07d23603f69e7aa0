//! Quasi-identifiers: an exact age or school year level combined with something that narrows
//! the group to a handful of people (a small place, a named school, a rare or newsworthy event).

use regex::Regex;

use std::collections::HashSet;

use super::lexicon::{RARE_EVENTS, context_section};
use super::text::char_at;
use super::{FindingKind, Hit};

/// One half of a risky combination.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    pub start: usize,
    pub end: usize,
    /// What it is, for the explanation: "an exact age", "a rare event".
    pub what: &'static str,
}

pub(crate) struct Quasi {
    ages: Vec<Regex>,
    year_level: Regex,
    grade_ordinal: Regex,
    small_town: Regex,
    population: Regex,
    only_one: Regex,
    named_school: Regex,
    court_case: Regex,
    rare: Regex,
    generic_school_words: HashSet<String>,
}

/// Index of the "(15)" pattern in `Quasi::ages`.
const PAREN_AGE: usize = 5;

const NUM: &str = r"(?:[0-9]{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty(?:[\x20\-](?:one|two|three|four|five))?)";

impl Quasi {
    pub fn new() -> Quasi {
        let re =
            |p: &str| Regex::new(p).unwrap_or_else(|e| panic!("bad built-in pattern {p}: {e}"));
        let rare_alts: Vec<&str> = RARE_EVENTS
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        Quasi {
            ages: vec![
                re(&format!(
                    r"(?i)(?-u:\b){NUM}[\x20\-]*(?:years?|yrs?|y)[\x20\-]*old(?-u:\b)"
                )),
                re(&format!(r"(?i)(?-u:\b)(?:aged|age)[\x20:]+{NUM}(?-u:\b)")),
                re(&format!(
                    r"(?i)(?-u:\b){NUM}\x20?(?:yo|y/o|y\.o\.?|yrs?\x20+of\x20+age|years\x20+of\x20+age)"
                )),
                re(&format!(r"(?i)(?-u:\b)turned\x20+{NUM}(?-u:\b)")),
                re(r"(?i)(?-u:\b)[0-9]{1,2}(?:st|nd|rd|th)\x20+birthday(?-u:\b)"),
                // "Kayden (15)", "YP (16, male)", "(F, 14)"
                re(
                    r"\((?:[MF],\x20*|then\x20+|aged?\x20+|now\x20+)?(?:[1-9]|1[0-9]|2[0-5])(?:\x20*(?:yo|y/o|yrs?))?(?:,\x20*(?:male|female|M|F|boy|girl|non-binary))?\)",
                ),
                // "he is 15", "the young person was 14", "she's 16": a person and a bare number.
                re(&format!(
                    r"(?i)(?-u:\b)(?:he|she|they|who|the\x20+young\x20+person|the\x20+yp|yp|the\x20+child|the\x20+boy|the\x20+girl|the\x20+teen|the\x20+teenager)(?:\x20+(?:is|was|are|were|turns)|'s|’s)\x20+(?:now\x20+|only\x20+|just\x20+)?{NUM}(?-u:\b)"
                )),
            ],
            year_level: re(r"(?-u:\b)(?:Year|Yr|YEAR|Grade)\x20?[0-9]{1,2}(?-u:\b)"),
            grade_ordinal: re(
                r"(?i)(?-u:\b)(?:[0-9]{1,2}(?:st|nd|rd|th)|seventh|eighth|ninth|tenth|eleventh|twelfth)\x20+grade(?-u:\b)",
            ),
            small_town: re(
                r"(?i)(?-u:\b)(?:town|village|community|township|settlement|island|hamlet|locality|suburb|district|school|class|reserve|station)\x20+(?:of|with)\x20+(?:a\x20+population\x20+of\x20+)?(?:about\x20+|around\x20+|approximately\x20+|approx\.?\x20+|roughly\x20+|only\x20+|just\x20+|barely\x20+|some\x20+|fewer\x20+than\x20+|less\x20+than\x20+|under\x20+|maybe\x20+|~\x20*)?([0-9][0-9,]*)(?:\x20+(?:people|residents|inhabitants|persons|souls|students|pupils|kids|families))?",
            ),
            population: re(
                r"(?i)(?-u:\b)population\x20+(?:of\x20+)?(?:about\x20+|around\x20+|approximately\x20+|approx\.?\x20+|roughly\x20+|only\x20+|just\x20+|under\x20+|~\x20*)?([0-9][0-9,]*)",
            ),
            only_one: re(
                r"(?i)(?-u:\b)the\x20+only\x20+(?:[\p{L}\-]+\x20+){0,4}?(?:in|at|on)\x20+(?:the\x20+|her\x20+|his\x20+|their\x20+|that\x20+)?(?:town|community|village|school|class|year\x20+level|district|area|street|region|island|suburb|family)(?-u:\b)",
            ),
            named_school: re(
                r"(?:(?:St\.?|Saint)\x20+)?(?:[\p{Lu}][\p{L}\p{M}'’\-]*\x20+){1,4}(?:High\x20+School|Primary\x20+School|Public\x20+School|State\x20+School|Secondary\x20+College|Secondary\x20+School|Grammar\x20+School|Grammar|College|Academy|Intermediate|Area\x20+School|Middle\x20+School|Elementary\x20+School|Elementary|Junior\x20+High|Senior\x20+High|School|Kura|Wharekura)(?-u:\b)",
            ),
            court_case: re(
                r"(?-u:\b)(?:R|The\x20+Queen|The\x20+King|State|People|Commonwealth|Police|DPP)\x20+v\.?\x20+[\p{Lu}][\p{L}'’\-]+",
            ),
            generic_school_words: context_section("generic_school_words"),
            rare: re(&format!(r"(?i)(?-u:\b)(?:{})(?-u:\b)", rare_alts.join("|"))),
        }
    }

    /// Exact ages and school year levels.
    pub fn first_parts(&self, text: &str) -> Vec<Part> {
        let mut out = Vec::new();
        for (k, r) in self.ages.iter().enumerate() {
            for m in r.find_iter(text) {
                if char_at(text, m.end()).is_some_and(char::is_alphanumeric)
                    || is_range(text, m.start(), m.end())
                {
                    continue;
                }
                if k == PAREN_AGE && !person_word_before(text, m.start()) {
                    continue; // "Reasons (3)" is a count, "Mia (3)" an age
                }
                let after = text[m.end()..].trim_start().to_ascii_lowercase();
                if [
                    "months", "month", "weeks", "week", "days", "mths", "minutes", "minute",
                    "mins", "hours", "hour", "hrs", "per", "%", "km", "kilo", "times",
                ]
                .iter()
                .any(|w| after.starts_with(w))
                {
                    continue;
                }
                out.push(Part {
                    start: m.start(),
                    end: m.end(),
                    what: "an exact age",
                });
            }
        }
        for r in [&self.year_level, &self.grade_ordinal] {
            for m in r.find_iter(text) {
                if is_range(text, m.start(), m.end()) {
                    continue;
                }
                out.push(Part {
                    start: m.start(),
                    end: m.end(),
                    what: "a school year level",
                });
            }
        }
        out.sort_by_key(|p| (p.start, p.end));
        out.dedup_by(|b, a| b.start < a.end);
        out
    }

    /// Small places, named schools, rare events and unique circumstances.
    pub fn second_parts(&self, text: &str, is_common: impl Fn(&str) -> bool) -> Vec<Part> {
        let mut out = Vec::new();
        for r in [&self.small_town, &self.population] {
            for c in r.captures_iter(text) {
                let m = c.get(0).unwrap();
                let n: u64 = c[1].replace(',', "").parse().unwrap_or(u64::MAX);
                if n < 50_000 {
                    out.push(Part {
                        start: m.start(),
                        end: m.end(),
                        what: "a small community",
                    });
                }
            }
        }
        for m in self.only_one.find_iter(text) {
            out.push(Part {
                start: m.start(),
                end: m.end(),
                what: "a unique circumstance",
            });
        }
        for m in self.named_school.find_iter(text) {
            // Keep only schools with a distinguishing word ("Westfield High School", not "a
            // Catholic High School"), and start the match at that word (or the "St" before it).
            let words: Vec<(usize, &str)> = word_offsets(m.as_str());
            let generic = |w: &str| {
                let lw = w.trim_end_matches('.').to_lowercase();
                // Sentence-initial verbs: "Started High School", "Attending College".
                let verbish = lw.ends_with("ed")
                    || lw.ends_with("ing")
                    || matches!(
                        lw.as_str(),
                        "attends" | "starts" | "leaves" | "left" | "joins" | "finishes"
                    );
                self.generic_school_words.contains(lw.as_str())
                    || is_common(&lw)
                    || verbish
                    || lw == "st"
                    || lw == "saint"
            };
            if let Some(k) = words.iter().position(|(_, w)| !generic(w)) {
                let k = if k > 0 && matches!(words[k - 1].1.trim_end_matches('.'), "St" | "Saint") {
                    k - 1
                } else {
                    k
                };
                out.push(Part {
                    start: m.start() + words[k].0,
                    end: m.end(),
                    what: "a named school",
                });
            }
        }
        for m in self.court_case.find_iter(text) {
            out.push(Part {
                start: m.start(),
                end: m.end(),
                what: "a named court case",
            });
        }
        for m in self.rare.find_iter(text) {
            if everyday_sense(m.as_str(), &text[m.end()..]) {
                continue;
            }
            out.push(Part {
                start: m.start(),
                end: m.end(),
                what: "a rare or newsworthy event",
            });
        }
        out.sort_by_key(|p| (p.start, p.end));
        out
    }
}

/// A rare-event word used in its everyday sense: "shooting hoops", "twin bed", "an explosion of
/// anger", "drowning in paperwork", "stabbing pain".
fn everyday_sense(hit: &str, after: &str) -> bool {
    let h = hit.to_lowercase();
    let next: String = after
        .trim_start()
        .chars()
        .take(24)
        .collect::<String>()
        .to_lowercase();
    let next_word = next
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("");
    if h.starts_with("shooting") {
        return matches!(
            next_word,
            "hoops"
                | "baskets"
                | "goals"
                | "pool"
                | "up"
                | "photos"
                | "videos"
                | "film"
                | "star"
                | "stars"
                | "range"
                | "practice"
        );
    }
    if h.starts_with("twin") {
        return matches!(
            next_word,
            "bed" | "beds" | "room" | "rooms" | "share" | "flame" | "cities" | "towns" | "peaks"
        );
    }
    if h == "explosion" || h.starts_with("siege") {
        return next_word == "of";
    }
    if h.starts_with("drown") {
        return next_word == "in" || next_word == "out";
    }
    if h.starts_with("stabb") {
        return matches!(
            next_word,
            "pain" | "pains" | "sensation" | "headache" | "headaches"
        );
    }
    false
}

/// Whether the word before a "(15)" names a person: a capitalised word or a person noun.
fn person_word_before(text: &str, start: usize) -> bool {
    let before = text[..start].trim_end();
    let word: String = before
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '\'' || *c == '-')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let Some(first) = word.chars().next() else {
        return false;
    };
    if first.is_uppercase() {
        return true;
    }
    const NOUNS: &[&str] = &[
        "yp",
        "male",
        "female",
        "boy",
        "girl",
        "son",
        "daughter",
        "brother",
        "sister",
        "mum",
        "mom",
        "dad",
        "mother",
        "father",
        "cousin",
        "partner",
        "boyfriend",
        "girlfriend",
        "child",
        "teen",
        "teenager",
        "sibling",
        "baby",
        "person",
        "youth",
        "mum",
        "man",
        "woman",
        "friend",
        "peer",
        "nephew",
        "niece",
    ];
    NOUNS.contains(&word.to_lowercase().as_str())
}

/// Words of `s` with their byte offsets.
fn word_offsets(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        if c.is_whitespace() {
            if let Some(st) = start.take() {
                out.push((st, &s[st..i]));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(st) = start {
        out.push((st, &s[st..]));
    }
    out
}

/// "15-17 year olds", "aged 15 to 17": a range is not an exact age.
fn is_range(text: &str, s: usize, e: usize) -> bool {
    let before: String = text[..s]
        .chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let before = before.trim_end().to_ascii_lowercase();
    let range_before = before.ends_with('-')
        || before.ends_with('–')
        || before.ends_with(" to")
        || before.ends_with(" or")
        || before.ends_with(" and")
        || before.ends_with("between");
    let range_before = range_before
        && before
            .trim_end_matches(['-', '–'])
            .trim_end_matches(" to")
            .trim_end_matches(" or")
            .trim_end_matches(" and")
            .trim_end()
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_digit() || c.is_alphabetic());
    let after = text[e..].trim_start();
    let range_after = (after.starts_with('-')
        || after.starts_with('–')
        || after.starts_with("to ")
        || after.starts_with("or ")
        || after.starts_with("and "))
        && after
            .trim_start_matches(['-', '–'])
            .trim_start_matches("to ")
            .trim_start_matches("or ")
            .trim_start_matches("and ")
            .trim_start()
            .starts_with(|c: char| c.is_ascii_digit());
    range_before || range_after
}

/// Pairs each second part with the nearest first part; one finding per first part, spanning it
/// and its nearest second part, and quoting every second part paired with it.
pub(crate) fn combine(text: &str, firsts: &[Part], seconds: &[Part], out: &mut Vec<Hit>) {
    if firsts.is_empty() || seconds.is_empty() {
        return;
    }
    let dist = |a: &Part, b: &Part| {
        if a.end <= b.start {
            b.start - a.end
        } else {
            a.start.saturating_sub(b.end)
        }
    };
    // For each first part: the second parts nearest to it.
    let mut groups: Vec<Vec<&Part>> = vec![Vec::new(); firsts.len()];
    for b in seconds {
        let nearest = firsts
            .iter()
            .enumerate()
            .filter(|(_, a)| a.end <= b.start || b.end <= a.start)
            .min_by_key(|(_, a)| dist(a, b));
        if let Some((i, _)) = nearest {
            groups[i].push(b);
        }
    }
    for (a, bs) in firsts.iter().zip(groups) {
        let Some(near) = bs.iter().min_by_key(|b| dist(a, b)) else {
            continue;
        };
        let (s, e) = (a.start.min(near.start), a.end.max(near.end));
        let mut quoted: Vec<String> = Vec::new();
        for b in &bs {
            let q = format!("{} (\"{}\")", b.what, &text[b.start..b.end]);
            if !quoted.contains(&q) {
                quoted.push(q);
            }
        }
        let why = format!(
            "{} (\"{}\") together with {} could single out the young person; give an age range such as \"mid-teens\" and describe the place or event in general terms",
            a.what,
            &text[a.start..a.end],
            join_and(&quoted)
        );
        let mut hit = Hit::new(FindingKind::RiskyCombination, s, e, 10);
        hit.why = Some(why);
        out.push(hit);
    }
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {}", init.join(", "), last),
    }
}
