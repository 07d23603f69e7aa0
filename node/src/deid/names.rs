//! Person-name detection: caller names, honorifics, relation words, "named X", First Last pairs
//! and stand-alone names from the embedded lists.

use super::lexicon::{Lexicon, NameClass};
use super::text::{Token, only_space, sentence_start};
use super::{FindingKind, Hit};

/// Caller-provided names as folded token sequences.
pub(crate) struct CallerNames {
    pub seqs: Vec<Vec<String>>,
}

impl CallerNames {
    pub fn new(names: &[String], lex: &Lexicon) -> CallerNames {
        let mut seqs: Vec<Vec<String>> = Vec::new();
        for n in names {
            let toks: Vec<String> = super::text::tokenize(n)
                .into_iter()
                .map(|t| t.folded)
                .collect();
            if toks.is_empty() {
                continue;
            }
            if toks.len() > 1 {
                // Each part of a full name identifies too ("Jayden" of "Jayden Walker").
                for t in &toks {
                    if t.chars().count() >= 2 && !lex.is_not_name(t) {
                        seqs.push(vec![t.clone()]);
                    }
                }
            }
            seqs.push(toks);
        }
        seqs.sort();
        seqs.dedup();
        CallerNames { seqs }
    }
}

fn has_suffix(lex: &Lexicon, word: &str) -> bool {
    lex.ctx
        .word_suffixes
        .iter()
        .any(|s| word.len() > s.len() + 2 && word.ends_with(s.as_str()))
}

pub(crate) fn find(
    text: &str,
    toks: &[Token],
    lex: &Lexicon,
    caller: &CallerNames,
    out: &mut Vec<Hit>,
) {
    let n = toks.len();
    if n == 0 {
        return;
    }
    // Tokens inside organisation/brand phrases ("Ronald McDonald House") are never names.
    let mut masked = vec![false; n];
    for (s, e) in match_sequences(text, toks, lex.phrases.values().flat_map(|v| v.iter())) {
        for m in masked.iter_mut().take(e).skip(s) {
            *m = true;
        }
    }
    let stop = |t: &Token| lex.is_not_name(&t.folded) || lex.is_not_name(&t.base);
    let gap_space = |i: usize, j: usize| only_space(text, toks[i].end, toks[j].start);
    // Tokens that name a place or organisation: a capitalised run followed by an org word, or a
    // word right after "St", "Mount", "Port"...
    let mut placey = vec![false; n];
    {
        let mut i = 0;
        while i < n {
            if !toks[i].cap {
                i += 1;
                continue;
            }
            let mut j = i;
            // A possessive ends the run: "Jayden's Hospital appointment" keeps Jayden a name.
            while j + 1 < n && toks[j + 1].cap && gap_space(j, j + 1) && !toks[j].possessive {
                j += 1;
            }
            // Run is i..=j. Find the first org word after position i within the run.
            if let Some(k) =
                (i + 1..=j).find(|&k| lex.ctx.org_words.contains(toks[k].base.as_str()))
            {
                for p in placey.iter_mut().take(k).skip(i) {
                    *p = true;
                }
            }
            i = j + 1;
        }
        for i in 0..n {
            if i + 1 < n
                && !toks[i].possessive
                && gap_space(i, i + 1)
                && !toks[i + 1].cap
                && lex
                    .ctx
                    .lower_place_words
                    .contains(toks[i + 1].folded.as_str())
            {
                placey[i] = true;
            }
            if toks[i].possessive
                && i + 1 < n
                && gap_space(i, i + 1)
                && lex.ctx.eponym_words.contains(toks[i + 1].base.as_str())
            {
                masked[i] = true;
            }
            if i > 0
                && lex.ctx.language_verbs.contains(toks[i - 1].folded.as_str())
                && gap_space(i - 1, i)
            {
                masked[i] = true;
            }
            if i > 0
                && lex
                    .ctx
                    .place_preceders
                    .contains(toks[i - 1].folded.as_str())
                && toks[i - 1].cap
                && gap_dot_space(text, toks[i - 1].end, toks[i].start)
            {
                placey[i] = true;
            }
        }
    }
    // Whether an unknown capitalised token can be a name in a strong naming context.
    let name_like = |i: usize| -> bool {
        let t = &toks[i];
        if !t.cap || t.chars < 2 || t.has_digit || masked[i] || stop(t) {
            return false;
        }
        // Titles and relation words are never names themselves ("Mother (Ms B.)", "Koro said").
        if lex.ctx.honorifics.contains(t.base.as_str())
            || lex.ctx.relations.contains(t.base.as_str())
        {
            return false;
        }
        if t.all_caps && t.chars <= 3 && lex.class(&t.base).is_none() {
            return false; // acronyms: YP, DCJ, CPS
        }
        lex.class(&t.base).is_some() || !has_suffix(lex, &t.base)
    };

    let mut spans: Vec<(usize, usize, bool)> = Vec::new(); // (start, end, from caller)
    let mark = |spans: &mut Vec<(usize, usize, bool)>, i: usize| {
        spans.push((toks[i].start, toks[i].base_end, false))
    };

    // 1. Caller names (case-insensitive; names that are ordinary words must be capitalised).
    for (s, e) in match_sequences(text, toks, caller.seqs.iter()) {
        let single_word_name = e - s == 1;
        if single_word_name {
            let t = &toks[s];
            let ordinary = matches!(lex.class(&t.base), Some(NameClass::Context))
                || stop(t)
                || t.base.chars().count() <= 2;
            if ordinary && !t.cap {
                continue;
            }
        }
        spans.push((toks[s].start, toks[e - 1].base_end, true));
    }

    for i in 0..n {
        let t = &toks[i];
        // 2. Honorific + capitalised word(s): "Mr Smith", "Ms. Nguyen", "Aunty Jo".
        if t.cap
            && !t.all_caps
            && lex.ctx.honorifics.contains(t.folded.as_str())
            && i + 1 < n
            && gap_dot_space(text, t.end, toks[i + 1].start)
            && name_like(i + 1)
        {
            // Role placeholders after a title ("Father (F)") are excluded by name_like.
            let j = i + 1;
            if !placey[j] || toks[j].possessive {
                let mut end = toks[j].base_end;
                if j + 1 < n
                    && !toks[j].possessive
                    && gap_space(j, j + 1)
                    && name_like(j + 1)
                    && !placey[j + 1]
                {
                    end = toks[j + 1].base_end;
                }
                spans.push((t.start, end, false));
            }
        }
        // 2b/3b. Māori names with "Te": "cousin Te Ariki", "Aunty Te Aroha".
        if (lex.ctx.relations.contains(t.base.as_str())
            || (t.cap && lex.ctx.honorifics.contains(t.folded.as_str())))
            && i + 2 < n
            && toks[i + 1].text_is("Te")
            && relation_gap(text, t.end, toks[i + 1].start)
            && gap_space(i + 1, i + 2)
            && name_like(i + 2)
        {
            spans.push((toks[i + 1].start, toks[i + 2].base_end, false));
        }
        // 3. Relation word + name: "her mother Karen", "brother Jayden", "youth worker, Sam".
        if lex.ctx.relations.contains(t.base.as_str())
            && i + 1 < n
            && relation_gap(text, t.end, toks[i + 1].start)
            && name_like(i + 1)
        {
            let j = i + 1;
            if !placey[j] || toks[j].possessive {
                mark(&mut spans, j);
                if j + 1 < n
                    && !toks[j].possessive
                    && gap_space(j, j + 1)
                    && name_like(j + 1)
                    && !placey[j + 1]
                {
                    mark(&mut spans, j + 1);
                }
            }
        }
        // 4. Name + (relation): "Karen (mother)", "Karen, her mother".
        if name_like(i) && i + 1 < n && !placey[i] {
            let after = &text[t.end..toks[i + 1].start];
            let paren = after.trim() == "(";
            let comma = after.trim() == ",";
            let mut k = i + 1;
            if comma
                && k < n
                && matches!(
                    toks[k].folded.as_str(),
                    "her" | "his" | "their" | "the" | "yp's"
                )
            {
                k += 1;
            }
            if (paren || comma)
                && k < n
                && lex.ctx.relations.contains(toks[k].base.as_str())
                && (k == i + 1 || gap_space(k - 1, k))
                && !(comma
                    && (after_locative(lex, toks, i)
                        || (lex.class(&t.base).is_none() && sentence_start(text, t.start))))
            {
                mark(&mut spans, i);
            }
        }
        // 5. Possessive + relation: "Jayden's mother".
        if t.possessive
            && name_like(i)
            && i + 1 < n
            && gap_space(i, i + 1)
            && lex
                .ctx
                .possessive_relations
                .contains(toks[i + 1].folded.as_str())
        {
            mark(&mut spans, i);
        }
        // 6. "known as X", "goes by X", "named X", "called X".
        if i + 1 < n {
            let strong_cue = match t.folded.as_str() {
                "nicknamed" | "nickname" | "aka" | "alias" => true,
                "as" => i > 0 && toks[i - 1].folded == "known",
                "by" => {
                    i > 0
                        && matches!(
                            toks[i - 1].folded.as_str(),
                            "goes" | "go" | "going" | "went"
                        )
                }
                "herself" | "himself" | "themself" | "themselves" => {
                    i > 0 && toks[i - 1].folded.starts_with("call")
                }
                // "his mates call him Tank", "everyone calls her Bubbles"
                "him" | "her" | "them" => {
                    i > 0
                        && matches!(
                            toks[i - 1].folded.as_str(),
                            "call" | "calls" | "called" | "calling"
                        )
                }
                _ => false,
            };
            let weak_cue = matches!(t.folded.as_str(), "named" | "called");
            let j = i + 1;
            let quoted = text[t.end..toks[j].start]
                .trim()
                .chars()
                .any(|c| matches!(c, '"' | '\'' | '“' | '‘'));
            let gap_ok = text[t.end..toks[j].start]
                .chars()
                .all(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '“' | '‘' | ':'))
                && !text[t.end..toks[j].start].contains('\n');
            if gap_ok
                && strong_cue
                && (name_like(j) || (quoted && !stop(&toks[j]) && !toks[j].has_digit))
            {
                mark(&mut spans, j);
            } else if gap_ok && weak_cue && name_like(j) && !placey[j] {
                let person_before = (1..=3)
                    .any(|d| i >= d && lex.ctx.person_nouns.contains(toks[i - d].base.as_str()));
                if lex.class(&toks[j].base).is_some() || person_before {
                    mark(&mut spans, j);
                }
            }
        }
    }

    // 7. First Last pairs where either part is a known name: "Jayden Walker", "Tama Rangihuna".
    for i in 0..n.saturating_sub(1) {
        let j = i + 1;
        if !gap_space(i, j)
            || toks[i].possessive
            || !name_like(i)
            || !name_like(j)
            || placey[i]
            || placey[j]
        {
            continue;
        }
        let (a, b) = (&toks[i], &toks[j]);
        let ca = lex.class(&a.base);
        let cb = lex.class(&b.base);
        let strong =
            |c: Option<NameClass>| matches!(c, Some(NameClass::Strong | NameClass::Locative));
        let ok = match (ca, cb) {
            (Some(_), Some(_)) => strong(ca) || strong(cb) || !sentence_start(text, a.start),
            (Some(_), None) => strong(ca) && lex.is_given(&a.base) && !b.all_caps,
            (None, Some(_)) => {
                strong(cb)
                    && lex.is_surname(&b.base)
                    && !sentence_start(text, a.start)
                    && !a.all_caps
            }
            (None, None) => false,
        };
        if ok {
            mark(&mut spans, i);
            mark(&mut spans, j);
        }
    }

    // 8. Stand-alone names from the lists.
    for i in 0..n {
        let t = &toks[i];
        if !t.cap
            || t.chars < 2
            || t.has_digit
            || masked[i]
            || stop(t)
            || (placey[i] && !t.possessive)
        {
            continue;
        }
        if t.all_caps && t.chars < 4 {
            continue; // "SAM", "ADA", "TED" are as often acronyms as names
        }
        match lex.class(&t.base) {
            // A bare surname after a place preposition is usually a suburb or town ("lives in
            // Clayton", "at Hughes"); a given name is still a name ("a text from Jayden").
            Some(NameClass::Strong)
                if !lex.is_given(&t.base)
                    && !t.possessive
                    && gap_space(i - usize::from(i > 0), i)
                    && after_locative(lex, toks, i) => {}
            Some(NameClass::Strong) => mark(&mut spans, i),
            Some(NameClass::Locative) => {
                let prev_place = i > 0
                    && gap_space(i - 1, i)
                    && (after_locative(lex, toks, i)
                        || (toks[i - 1].cap && lex.is_not_name(&toks[i - 1].base)));
                if t.possessive || !prev_place {
                    mark(&mut spans, i);
                }
            }
            _ => {}
        }
    }

    // 9. An unknown capitalised word followed by a verb that mostly follows a person:
    //    "Tyreek disclosed...", "Zaylee said...".
    for i in 0..n.saturating_sub(1) {
        let t = &toks[i];
        // Unknown words and word-like names ("Grace said", "Hunter disclosed"); listed names
        // are flagged by the other rules.
        if matches!(
            lex.class(&t.base),
            Some(NameClass::Strong | NameClass::Locative)
        ) || t.possessive
            || t.all_caps
            || placey[i]
            || !name_like(i)
            || t.chars < 3
        {
            continue;
        }
        if !gap_space(i, i + 1) || toks[i + 1].cap {
            continue;
        }
        let verb = toks[i + 1].folded.as_str();
        if !lex.ctx.person_verbs.contains(verb) {
            continue;
        }
        if i > 0 && lex.ctx.determiners.contains(toks[i - 1].folded.as_str()) {
            continue;
        }
        // A capitalised word inside a longer capitalised run is an organisation ("Legal Aid said").
        if i > 0 && toks[i - 1].cap && gap_space(i - 1, i) && !stop(&toks[i - 1]) {
            continue;
        }
        mark(&mut spans, i);
    }

    // Merge spans that touch or are separated by spaces, hyphens or a middle initial.
    spans.sort();
    let mut merged: Vec<(usize, usize, bool)> = Vec::new();
    for (s, e, c) in spans {
        if let Some(last) = merged.last_mut()
            && (s <= last.1 || joinable(&text[last.1.min(s)..s]))
        {
            last.1 = last.1.max(e);
            last.2 |= c;
            continue;
        }
        merged.push((s, e, c));
    }
    for (s, e, c) in merged {
        if e > s {
            out.push(Hit::new(
                FindingKind::PersonName,
                s,
                e,
                if c { 66 } else { 60 },
            ));
        }
    }
}

/// The text between a relation word and a name: spaces, optionally one of `,` `(` `:` `-`.
fn relation_gap(text: &str, a: usize, b: usize) -> bool {
    let g = &text[a..b];
    if g.is_empty() || g.contains('\n') || g.chars().count() > 4 {
        return false;
    }
    let punct: Vec<char> = g.chars().filter(|c| !c.is_whitespace()).collect();
    match punct.as_slice() {
        [] => true,
        [c] => matches!(c, ',' | '(' | ':' | '-' | '–'),
        _ => false,
    }
}

/// Spaces, optionally after a full stop: "Ms. Nguyen", "St. Mary".
fn gap_dot_space(text: &str, a: usize, b: usize) -> bool {
    let g = &text[a..b];
    let g = g.strip_prefix('.').unwrap_or(g);
    !g.is_empty() && g.chars().all(|c| c == ' ' || c == '\u{a0}')
}

/// Whether token `i` follows a place preposition ("in Logan", "moved to Jordan").
fn after_locative(lex: &Lexicon, toks: &[Token], i: usize) -> bool {
    if i == 0 {
        return false;
    }
    let mut k = i - 1;
    // "in the Kimberley", "from the Hokianga"
    if toks[k].folded == "the" && k > 0 {
        k -= 1;
    }
    let p = toks[k].folded.as_str();
    if lex.ctx.locative_preps.contains(p) {
        return true;
    }
    p == "to" && k >= 1 && lex.ctx.movement.contains(toks[k - 1].folded.as_str())
}

/// Text between two name parts that joins them into one name.
fn joinable(g: &str) -> bool {
    if g.chars().count() > 5 || g.contains('\n') {
        return false;
    }
    let trimmed = g.trim_matches(|c: char| c.is_whitespace() || c == '-' || c == '.');
    if trimmed.is_empty() {
        return true;
    }
    // A middle initial: " R. "
    let mut cs = trimmed.chars();
    matches!((cs.next(), cs.next()), (Some(c), None) if c.is_uppercase())
}

/// Finds token sequences (by folded form, possessives allowed) separated only by spaces,
/// hyphens or full stops. Returns token index ranges [start, end).
pub(crate) fn match_sequences<'s>(
    text: &str,
    toks: &[Token],
    seqs: impl Iterator<Item = &'s Vec<String>>,
) -> Vec<(usize, usize)> {
    use std::collections::HashMap;
    let mut by_first: HashMap<&str, Vec<&Vec<String>>> = HashMap::new();
    for s in seqs {
        if let Some(f) = s.first() {
            by_first.entry(f.as_str()).or_default().push(s);
        }
    }
    let mut out = Vec::new();
    if by_first.is_empty() {
        return out;
    }
    for i in 0..toks.len() {
        let mut cands: Vec<&Vec<String>> = Vec::new();
        if let Some(v) = by_first.get(toks[i].folded.as_str()) {
            cands.extend(v.iter().copied());
        }
        if toks[i].possessive
            && let Some(v) = by_first.get(toks[i].base.as_str())
        {
            cands.extend(v.iter().copied());
        }
        let mut best: Option<usize> = None;
        'cand: for seq in cands {
            if i + seq.len() > toks.len() {
                continue;
            }
            for (k, w) in seq.iter().enumerate() {
                let t = &toks[i + k];
                let last = k + 1 == seq.len();
                if !(t.folded == *w || (last && t.base == *w)) {
                    continue 'cand;
                }
                if k > 0 {
                    let g = &text[toks[i + k - 1].end..t.start];
                    if g.is_empty()
                        || g.len() > 4
                        || !g.chars().all(|c| c.is_whitespace() || c == '-' || c == '.')
                        || g.contains('\n')
                    {
                        continue 'cand;
                    }
                }
            }
            best = Some(best.map_or(seq.len(), |b: usize| b.max(seq.len())));
        }
        if let Some(len) = best {
            out.push((i, i + len));
        }
    }
    out
}
