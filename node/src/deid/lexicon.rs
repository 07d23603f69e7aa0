//! Word lists embedded from the data files beside this module, and the folding used to compare
//! words (lower case, accents and macrons removed, curly apostrophes made straight).

use std::collections::{HashMap, HashSet};

const GIVEN_NAMES: &str = include_str!("data/given_names.txt");
const SURNAMES: &str = include_str!("data/surnames.txt");
const AMBIGUOUS: &str = include_str!("data/ambiguous.txt");
const NOT_NAMES: &str = include_str!("data/not_names.txt");
const CONTEXT_WORDS: &str = include_str!("data/context_words.txt");
pub(crate) const RARE_EVENTS: &str = include_str!("data/rare_events.txt");

/// The folded words of one `[section]` of `data/context_words.txt`.
pub(crate) fn context_section(name: &str) -> HashSet<String> {
    let header = format!("[{name}]");
    let mut inside = false;
    let mut out = HashSet::new();
    for line in CONTEXT_WORDS.lines() {
        let l = line.split('#').next().unwrap_or("").trim();
        if l.starts_with('[') {
            inside = l == header;
            continue;
        }
        if inside {
            out.extend(l.split_whitespace().map(fold));
        }
    }
    assert!(!out.is_empty(), "context_words.txt has no section [{name}]");
    out
}

/// Context words used by the name rules (see `data/context_words.txt`).
pub(crate) struct Context {
    pub honorifics: HashSet<String>,
    pub relations: HashSet<String>,
    pub possessive_relations: HashSet<String>,
    pub person_nouns: HashSet<String>,
    pub person_verbs: HashSet<String>,
    pub determiners: HashSet<String>,
    pub locative_preps: HashSet<String>,
    pub movement: HashSet<String>,
    pub place_preceders: HashSet<String>,
    pub org_words: HashSet<String>,
    pub eponym_words: HashSet<String>,
    pub language_verbs: HashSet<String>,
    pub lower_place_words: HashSet<String>,
    pub word_suffixes: Vec<String>,
}

impl Context {
    fn load() -> Context {
        let mut word_suffixes: Vec<String> = context_section("word_suffixes").into_iter().collect();
        word_suffixes.sort();
        Context {
            honorifics: context_section("honorifics"),
            relations: context_section("relations"),
            possessive_relations: context_section("possessive_relations"),
            person_nouns: context_section("person_nouns"),
            person_verbs: context_section("person_verbs"),
            determiners: context_section("determiners"),
            locative_preps: context_section("locative_preps"),
            movement: context_section("movement"),
            place_preceders: context_section("place_preceders"),
            org_words: context_section("org_words"),
            eponym_words: context_section("eponym_words"),
            language_verbs: context_section("language_verbs"),
            lower_place_words: context_section("lower_place_words"),
            word_suffixes,
        }
    }
}

/// Lower-cases a word and strips the accents that commonly vary in spelling (Māori macrons,
/// Spanish/French accents), so "Hēmi", "HEMI" and "Hemi" compare equal.
pub(crate) fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        for l in c.to_lowercase() {
            out.push(match l {
                'ā' | 'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
                'ē' | 'é' | 'è' | 'ê' | 'ë' => 'e',
                'ī' | 'í' | 'ì' | 'î' | 'ï' => 'i',
                'ō' | 'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
                'ū' | 'ú' | 'ù' | 'û' | 'ü' => 'u',
                'ñ' => 'n',
                'ç' => 'c',
                '’' | '‘' | '`' => '\'',
                other => other,
            });
        }
    }
    out
}

/// Non-comment words of a data file.
fn words(data: &str) -> impl Iterator<Item = &str> {
    data.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .filter(|l| !l.trim_start().starts_with("phrase:"))
        .flat_map(str::split_whitespace)
}

/// How a capitalised word that is in the name lists should be treated on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NameClass {
    /// A name wherever it appears capitalised.
    Strong,
    /// A name on its own unless it follows a place preposition or precedes a place word.
    Locative,
    /// Only a name in a naming context (honorific, relation word, "named", First Last pair).
    Context,
}

pub(crate) struct Lexicon {
    pub given: HashSet<String>,
    pub surnames: HashSet<String>,
    pub classes: HashMap<String, NameClass>,
    pub not_names: HashSet<String>,
    /// Multi-word phrases (folded tokens) that are never names; indexed by first token.
    pub phrases: HashMap<String, Vec<Vec<String>>>,
    pub ctx: Context,
}

impl Lexicon {
    pub fn load() -> Lexicon {
        let given: HashSet<String> = words(GIVEN_NAMES).map(fold).collect();
        let surnames: HashSet<String> = words(SURNAMES).map(fold).collect();
        let mut classes = HashMap::new();
        for w in words(AMBIGUOUS) {
            if let Some(rest) = w.strip_prefix('@') {
                classes.insert(fold(rest), NameClass::Locative);
            } else {
                classes.insert(fold(w), NameClass::Context);
            }
        }
        let not_names: HashSet<String> = words(NOT_NAMES).map(fold).collect();
        let mut phrases: HashMap<String, Vec<Vec<String>>> = HashMap::new();
        for line in NOT_NAMES.lines() {
            if let Some(p) = line.trim().strip_prefix("phrase:") {
                let toks: Vec<String> = super::text::tokenize(p)
                    .iter()
                    .map(|t| t.folded.clone())
                    .collect();
                if let Some(first) = toks.first() {
                    phrases.entry(first.clone()).or_default().push(toks);
                }
            }
        }
        Lexicon {
            given,
            surnames,
            classes,
            not_names,
            phrases,
            ctx: Context::load(),
        }
    }

    pub fn is_given(&self, w: &str) -> bool {
        self.given.contains(w)
    }

    pub fn is_surname(&self, w: &str) -> bool {
        self.surnames.contains(w)
    }

    pub fn is_known(&self, w: &str) -> bool {
        self.given.contains(w) || self.surnames.contains(w)
    }

    /// Class of a known name; `None` if the word is not in the name lists.
    pub fn class(&self, w: &str) -> Option<NameClass> {
        if !self.is_known(w) {
            return None;
        }
        Some(self.classes.get(w).copied().unwrap_or(NameClass::Strong))
    }

    pub fn is_not_name(&self, w: &str) -> bool {
        self.not_names.contains(w)
    }
}
