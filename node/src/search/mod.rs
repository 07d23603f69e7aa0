//! Full-text search over the node's repertoire (communities, resources, case
//! consults, events), backed by an in-RAM [tantivy] index.
//!
//! # Model
//! The node's documents are the truth; this index is a cache. It lives in RAM
//! only: build it at start with [`SearchIndex::new`] followed by one
//! [`SearchIndex::upsert`] per document, then keep it up to date with
//! `upsert`/`remove` after each local write or sync.
//!
//! # Consistency and cost
//! * `upsert`/`remove` only queue an operation (a delete-by-id and an add,
//!   applied atomically and in order) and bump a write counter. They do **not**
//!   commit. Queued operations reach tantivy's indexing thread in batches of
//!   [`BATCH_OPS`], or all at once before a commit, so that a burst of writes
//!   wakes that thread once per batch rather than once per write.
//! * `search`/`len` first make every write that *completed before the call*
//!   visible: if the write counter is ahead of what the reader shows, they
//!   commit and reload the reader (under the writer lock, so concurrent
//!   searches wait for a single commit instead of committing twice). A burst
//!   of 1,000 upserts therefore costs one commit, paid by the next search.
//!   When nothing was written since the last search, searching takes no lock.
//! * Concurrent upserts of the same id are safe: operations reach the writer
//!   one at a time, the last one wins, and there is never more than one live
//!   version of an id.
//!
//! # Query text
//! Free text typed by a person; never an error, whatever it contains.
//! * Words are analysed like the documents: split on non-alphanumerics,
//!   lowercased, accents folded to ASCII, English stop words dropped
//!   (`the`, `of`, `for`, `and`, …, the Lucene list), English
//!   (Snowball) stemming — `houses`, `housing` and `house` all become
//!   `hous`, so each finds the others.
//! * **All words must match** (in any of title, body, topics), because that is
//!   what people expect from a search box: adding a word narrows the results.
//!   If no document matches all the words, the search is retried with *any*
//!   word matching (ranked by relevance, so documents with more of the words
//!   come first) rather than showing nothing.
//! * Supported syntax: `"quoted phrase"`, `-word` / `-"phrase"` to exclude,
//!   `+word` (must), and upper-case `OR` / `AND` / `NOT` between words.
//!   Every other query-language character (`: ( ) [ ] { } ^ ~ * ! \ / < > =` and `'`)
//!   is treated as a space, an unbalanced final `"` is dropped, and text beyond
//!   [`MAX_QUERY_CHARS`] characters is ignored. Field syntax (`title:x`) is
//!   therefore *not* available: filters are the structured [`Query`] fields.
//! * Ranking: BM25, with title matches boosted ×3 and topic/subkind matches
//!   ×1.5 over body matches. Filters do not change scores.
//! * Empty (or whitespace-only) text lists the documents that pass the filters,
//!   newest `date_ms` first, with `score` 0. Text with no searchable word in it
//!   (only punctuation or emoji, or only stop words such as `the`) finds nothing.
//!
//! # Snippets
//! [`Hit::snippet`] is plain text (for a terminal and for JSON): the best
//! fragment of the body (about [`SNIPPET_CHARS`] characters) with each matched
//! word wrapped in [`MARK_OPEN`] `«` and [`MARK_CLOSE`] `»`, e.g.
//! `…a «Housing» First programme for…`. A leading/trailing `…` shows that the
//! fragment was cut from a longer text; whitespace runs are collapsed to one
//! space. If no word matched in the body, the title is used when it matched,
//! else the start of the body (unmarked). Text is not HTML-escaped.
//!
//! # Filters
//! `kinds`: any of (empty = all). `community`: exact match. `topic`: exact
//! match after trim + lowercase (topics are stored trimmed + lowercased).
//! `from_ms` inclusive, `to_ms` exclusive, on `date_ms`. Blank strings in
//! filters mean "no filter". `limit` is clamped to `1..=100`.
//!
//! # Build requirement (tantivy 0.27.0)
//! tantivy 0.27.0 has a wrong `debug_assert!` in `PhraseScorer::seek_danger`
//! (upstream issue quickwit-oss/tantivy#2811) that fires for an excluded phrase
//! such as `housing -"housing first"`. Release builds give the right answer.
//! The root `Cargo.toml` of the node should turn tantivy's debug assertions
//! off for dev/test builds:
//! ```toml
//! [profile.dev.package.tantivy]
//! debug-assertions = false
//! [profile.test.package.tantivy]
//! debug-assertions = false
//! ```
//! Without that, such a query in a debug build is caught by `search` (which
//! turns any panic inside tantivy into [`SearchError::Internal`]) instead of
//! returning hits.

use std::collections::HashSet;
use std::ops::{Bound, Range};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::indexer::{IndexWriterOptions, UserOperation};
use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, Occur, Query as TantivyQuery, QueryParser, RangeQuery,
    TermQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::snippet::{Snippet, SnippetGenerator};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer,
};
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term,
};

/// Opening marker around a matched word in [`Hit::snippet`].
pub const MARK_OPEN: &str = "«";
/// Closing marker around a matched word in [`Hit::snippet`].
pub const MARK_CLOSE: &str = "»";
/// Largest number of hits one search returns (`Query::limit` is clamped to `1..=MAX_LIMIT`).
pub const MAX_LIMIT: usize = 100;
/// Query text beyond this many characters is ignored (the caller caps at 500).
pub const MAX_QUERY_CHARS: usize = 1_000;
/// Target length of a snippet fragment, in characters (before markers).
pub const SNIPPET_CHARS: usize = 160;

/// Name under which the English analyser is registered in the index.
const TOKENIZER: &str = "copnet_en";
/// Indexing memory budget (tantivy flushes a segment when it is reached).
const WRITER_MEMORY_BYTES: usize = 32_000_000;
/// Queued operations handed to tantivy's indexing thread at once.
const BATCH_OPS: usize = 64;
const TITLE_BOOST: f32 = 3.0;
const TAGS_BOOST: f32 = 1.5;

/// One document as the search index sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchDoc {
    /// Stable id, e.g. `"res_8Jz..."`; an upsert replaces the document with the same id.
    pub id: String,
    /// `community` | `resource` | `consult` | `event` (stored trimmed + lowercased).
    pub kind: String,
    /// Community id or slug; filtered by exact match.
    pub community: String,
    /// Topics; filtered by exact match after trim + lowercase, and searchable as text.
    #[serde(default)]
    pub topics: Vec<String>,
    pub title: String,
    /// All other text of the document, joined.
    #[serde(default)]
    pub body: String,
    /// Creation time, or start of an event, in ms since the Unix epoch.
    pub date_ms: i64,
    /// Resource kind (`policy`, `tool`…) or event kind (`webinar`…); searchable as text.
    #[serde(default)]
    pub subkind: Option<String>,
}

/// A search request. See the module docs for the meaning of each field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Query {
    pub text: String,
    /// Any of these kinds; empty = every kind.
    pub kinds: Vec<String>,
    pub community: Option<String>,
    pub topic: Option<String>,
    /// Inclusive lower bound on `date_ms`.
    pub from_ms: Option<i64>,
    /// Exclusive upper bound on `date_ms`.
    pub to_ms: Option<i64>,
    /// Clamped to `1..=MAX_LIMIT`.
    pub limit: usize,
}

impl Default for Query {
    fn default() -> Self {
        Query {
            text: String::new(),
            kinds: Vec::new(),
            community: None,
            topic: None,
            from_ms: None,
            to_ms: None,
            limit: 20,
        }
    }
}

/// One search result, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    pub id: String,
    pub kind: String,
    pub title: String,
    /// BM25 relevance (higher is better); 0 when listing by date (empty text).
    pub score: f32,
    /// Plain text; matched words wrapped in `«` `»` (see module docs).
    pub snippet: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("invalid search document: {0}")]
    InvalidDoc(&'static str),
    /// tantivy panicked while searching (a bug, caught so it cannot take the
    /// request thread down); the index stays usable.
    #[error("search failed internally: {0}")]
    Internal(String),
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    kind: Field,
    community: Field,
    topic: Field,
    title: Field,
    body: Field,
    tags: Field,
    date: Field,
}

const DATE_FIELD: &str = "date_ms";

/// The in-RAM search index. `Send + Sync`: share it behind an `Arc`.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    /// Held by every upsert, remove and commit. tantivy's add and delete take `&self`, but two
    /// threads running `delete id; add` at once can have their deletes queued in the opposite
    /// order to their opstamps, and a segment then keeps two live versions of the id: one
    /// operation at a time keeps opstamps and queues in the same order. Handing an operation
    /// over is cheap (the indexing happens on tantivy's threads), so this costs little.
    writer: Mutex<Writer>,
    /// Number of write operations queued so far.
    written: AtomicU64,
    /// Value of `written` that the current reader is known to include.
    visible: AtomicU64,
    f: Fields,
    all_words: QueryParser,
    any_word: QueryParser,
}

/// tantivy's writer, and the operations queued for it.
struct Writer {
    tantivy: IndexWriter<TantivyDocument>,
    queued: Vec<UserOperation<TantivyDocument>>,
}

impl Writer {
    fn queue(
        &mut self,
        ops: impl IntoIterator<Item = UserOperation<TantivyDocument>>,
    ) -> tantivy::Result<()> {
        self.queued.extend(ops);
        if self.queued.len() >= BATCH_OPS {
            self.hand_over()?;
        }
        Ok(())
    }

    /// Hands every queued operation to the indexing thread, in order.
    fn hand_over(&mut self) -> tantivy::Result<()> {
        if !self.queued.is_empty() {
            self.tantivy.run(std::mem::take(&mut self.queued))?;
        }
        Ok(())
    }
}

fn english_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(StopWordFilter::new(Language::English).expect("English stop words are built in"))
        .filter(Stemmer::new(Language::English))
        .build()
}

impl SearchIndex {
    pub fn new() -> Result<Self, SearchError> {
        let mut sb = Schema::builder();
        let text = |stored: bool| {
            let opts = TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(TOKENIZER)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            );
            if stored { opts.set_stored() } else { opts }
        };
        let f = Fields {
            id: sb.add_text_field("id", STRING | STORED),
            kind: sb.add_text_field("kind", STRING | STORED),
            community: sb.add_text_field("community", STRING),
            topic: sb.add_text_field("topic", STRING),
            title: sb.add_text_field("title", text(true)),
            body: sb.add_text_field("body", text(true)),
            tags: sb.add_text_field("tags", text(false)),
            date: sb.add_i64_field(
                DATE_FIELD,
                NumericOptions::default().set_indexed().set_fast(),
            ),
        };
        let index = Index::create_in_ram(sb.build());
        index.tokenizers().register(TOKENIZER, english_analyzer());

        let writer = index.writer_with_options(
            IndexWriterOptions::builder()
                .num_worker_threads(1)
                .num_merge_threads(1)
                .memory_budget_per_thread(WRITER_MEMORY_BYTES)
                .build(),
        )?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;

        let parser = |conjunction: bool| {
            let mut p = QueryParser::for_index(&index, vec![f.title, f.body, f.tags]);
            p.set_field_boost(f.title, TITLE_BOOST);
            p.set_field_boost(f.tags, TAGS_BOOST);
            if conjunction {
                p.set_conjunction_by_default();
            }
            p
        };
        let all_words = parser(true);
        let any_word = parser(false);

        Ok(SearchIndex {
            index,
            reader,
            writer: Mutex::new(Writer {
                tantivy: writer,
                queued: Vec::with_capacity(BATCH_OPS + 2),
            }),
            written: AtomicU64::new(0),
            visible: AtomicU64::new(0),
            f,
            all_words,
            any_word,
        })
    }

    /// Adds `doc`, replacing any earlier version with the same id. Cheap: visible
    /// to the next `search`/`len` call.
    pub fn upsert(&self, doc: SearchDoc) -> Result<(), SearchError> {
        if doc.id.trim().is_empty() {
            return Err(SearchError::InvalidDoc("empty id"));
        }
        let f = self.f;
        let mut d = TantivyDocument::default();
        d.add_text(f.id, &doc.id);
        d.add_text(f.kind, norm(&doc.kind));
        d.add_text(f.community, &doc.community);
        d.add_text(f.title, &doc.title);
        d.add_text(f.body, &doc.body);
        let mut seen = HashSet::new();
        for t in &doc.topics {
            let t = norm(t);
            if !t.is_empty() && seen.insert(t.clone()) {
                d.add_text(f.topic, &t);
                d.add_text(f.tags, &t);
            }
        }
        if let Some(sk) = doc.subkind.as_deref().filter(|s| !s.trim().is_empty()) {
            d.add_text(f.tags, sk);
        }
        d.add_i64(f.date, doc.date_ms);

        self.writer().queue([
            UserOperation::Delete(Term::from_field_text(f.id, &doc.id)),
            UserOperation::Add(d),
        ])?;
        self.written.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Removes the document with this id (no-op if absent).
    pub fn remove(&self, id: &str) -> Result<(), SearchError> {
        self.writer()
            .queue([UserOperation::Delete(Term::from_field_text(self.f.id, id))])?;
        self.written.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Number of documents, counting every upsert/remove made before the call.
    pub fn len(&self) -> usize {
        // On a commit failure, report what the reader has.
        let _ = self.refresh();
        self.reader.searcher().num_docs() as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Searches; sees every upsert/remove made before it was called.
    pub fn search(&self, q: &Query) -> Result<Vec<Hit>, SearchError> {
        // Defence in depth: whatever the query, a panic inside tantivy becomes an error.
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.search_inner(q))) {
            Ok(result) => result,
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".to_string());
                Err(SearchError::Internal(msg))
            }
        }
    }

    fn search_inner(&self, q: &Query) -> Result<Vec<Hit>, SearchError> {
        self.refresh()?;
        let searcher = self.reader.searcher();
        let limit = q.limit.clamp(1, MAX_LIMIT);
        let filters = self.filters(q);
        if q.text.trim().is_empty() {
            let query: Box<dyn TantivyQuery> = if filters.is_empty() {
                Box::new(AllQuery)
            } else {
                Box::new(BooleanQuery::new(filters))
            };
            let top = searcher.search(
                &*query,
                &TopDocs::with_limit(limit).order_by_fast_field::<i64>(DATE_FIELD, Order::Desc),
            )?;
            return top
                .into_iter()
                .map(|(_, addr)| self.hit(&searcher, addr, 0.0, None))
                .collect();
        }

        let text = sanitize_query(&q.text);
        if text.is_empty() {
            return Ok(Vec::new()); // only punctuation/emoji/signs: nothing to look for
        }
        for parser in [&self.all_words, &self.any_word] {
            // Lenient: parts that cannot be interpreted match nothing; never an error.
            let (text_query, _errors) = parser.parse_query_lenient(&text);
            let mut clauses: Vec<(Occur, Box<dyn TantivyQuery>)> =
                vec![(Occur::Must, text_query.box_clone())];
            clauses.extend(filters.iter().map(|(o, q)| (*o, q.box_clone())));
            let query = BooleanQuery::new(clauses);
            let top = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
            if top.is_empty() {
                continue;
            }
            let mut gens = Vec::with_capacity(2);
            for field in [self.f.body, self.f.title] {
                let mut g = SnippetGenerator::create(&searcher, &*text_query, field)?;
                g.set_max_num_chars(SNIPPET_CHARS);
                gens.push(g);
            }
            return top
                .into_iter()
                .map(|(score, addr)| self.hit(&searcher, addr, score, Some(&gens)))
                .collect();
        }
        Ok(Vec::new())
    }

    /// Filter clauses (scored 0, so they never change the ranking).
    fn filters(&self, q: &Query) -> Vec<(Occur, Box<dyn TantivyQuery>)> {
        let f = self.f;
        let mut out: Vec<(Occur, Box<dyn TantivyQuery>)> = Vec::new();
        let mut push = |query: Box<dyn TantivyQuery>| {
            out.push((Occur::Must, Box::new(ConstScoreQuery::new(query, 0.0))))
        };
        let term = |field: Field, value: &str| -> Box<dyn TantivyQuery> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, value),
                IndexRecordOption::Basic,
            ))
        };

        let kinds: Vec<String> = q
            .kinds
            .iter()
            .map(|k| norm(k))
            .filter(|k| !k.is_empty())
            .collect();
        if !kinds.is_empty() {
            push(Box::new(BooleanQuery::union(
                kinds.iter().map(|k| term(f.kind, k)).collect(),
            )));
        }
        if let Some(c) = q.community.as_deref().filter(|c| !c.trim().is_empty()) {
            push(term(f.community, c));
        }
        if let Some(t) = q.topic.as_deref().map(norm).filter(|t| !t.is_empty()) {
            push(term(f.topic, &t));
        }
        if q.from_ms.is_some() || q.to_ms.is_some() {
            let lower = q.from_ms.map_or(Bound::Unbounded, |v| {
                Bound::Included(Term::from_field_i64(f.date, v))
            });
            let upper = q.to_ms.map_or(Bound::Unbounded, |v| {
                Bound::Excluded(Term::from_field_i64(f.date, v))
            });
            push(Box::new(RangeQuery::new(lower, upper)));
        }
        out
    }

    fn hit(
        &self,
        searcher: &tantivy::Searcher,
        addr: DocAddress,
        score: f32,
        gens: Option<&[SnippetGenerator]>,
    ) -> Result<Hit, SearchError> {
        let doc: TantivyDocument = searcher.doc(addr)?;
        let get = |field: Field| -> String {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let title = get(self.f.title);
        let body = get(self.f.body);
        let mut snippet = None;
        if let Some(gens) = gens {
            for (g, text) in gens.iter().zip([&body, &title]) {
                let s = g.snippet(text.trim());
                if !s.highlighted().is_empty() {
                    snippet = Some(render_snippet(&s, text.trim().len()));
                    break;
                }
            }
        }
        let snippet = snippet.unwrap_or_else(|| {
            let lead = if body.trim().is_empty() {
                &title
            } else {
                &body
            };
            leading_excerpt(lead, SNIPPET_CHARS)
        });
        Ok(Hit {
            id: get(self.f.id),
            kind: get(self.f.kind),
            title,
            score,
            snippet,
        })
    }

    /// Makes every write counted so far visible to the reader (commit + reload),
    /// unless it already is.
    fn refresh(&self) -> Result<(), SearchError> {
        let wanted = self.written.load(Ordering::Acquire);
        if self.visible.load(Ordering::Acquire) >= wanted {
            return Ok(());
        }
        // Exclusive: no write is in flight, and only one thread commits.
        let mut writer = self.writer();
        let written = self.written.load(Ordering::Acquire);
        if self.visible.load(Ordering::Acquire) >= written {
            return Ok(()); // another search committed while we waited
        }
        writer.hand_over()?;
        writer.tantivy.commit()?;
        self.reader.reload()?;
        self.visible.store(written, Ordering::Release);
        Ok(())
    }

    fn writer(&self) -> MutexGuard<'_, Writer> {
        self.writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The tantivy index (for diagnostics).
    pub fn tantivy_index(&self) -> &Index {
        &self.index
    }
}

/// Trim + lowercase (kinds and topics).
fn norm(s: &str) -> String {
    s.trim().to_lowercase()
}

/// Characters of tantivy's query language that a search box should not expose.
fn is_syntax_char(c: char) -> bool {
    matches!(
        c,
        ':' | '('
            | ')'
            | '['
            | ']'
            | '{'
            | '}'
            | '^'
            | '~'
            | '*'
            | '!'
            | '\\'
            | '/'
            | '<'
            | '>'
            | '='
            | '\''
            | '`'
    )
}

/// Turns free text into a query that tantivy's parser reads as words, phrases,
/// `-`/`+` prefixes and `AND`/`OR`/`NOT` only (see module docs).
fn sanitize_query(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .take(MAX_QUERY_CHARS)
        .map(|c| {
            if c.is_control() || c.is_whitespace() || is_syntax_char(c) {
                ' '
            } else {
                c
            }
        })
        .collect();

    // Balanced quotes only: drop the last one if their count is odd.
    let mut cleaned = cleaned;
    if cleaned.matches('"').count() % 2 == 1
        && let Some(pos) = cleaned.rfind('"')
    {
        cleaned.replace_range(pos..pos + 1, " ");
    }

    // Word by word, outside phrases: keep at most one leading -/+ on a word,
    // drop words that are only signs, and keep AND/OR/NOT only between two words.
    let mut words: Vec<String> = Vec::new();
    let mut in_phrase = false;
    for w in cleaned.split(' ').filter(|w| !w.is_empty()) {
        let starts_phrase = !in_phrase;
        let quotes = w.matches('"').count();
        if in_phrase || quotes > 0 {
            // Inside (or opening/closing) a phrase: the parser reads it raw.
            if quotes % 2 == 1 {
                in_phrase = !in_phrase;
            }
            if starts_phrase && w.starts_with(['-', '+']) {
                let sign = &w[..1];
                let rest = w.trim_start_matches(['-', '+']);
                words.push(format!("{sign}{rest}"));
            } else {
                words.push(w.to_string());
            }
            continue;
        }
        let rest = w.trim_start_matches(['-', '+']);
        if rest.is_empty() || !rest.chars().any(char::is_alphanumeric) {
            continue;
        }
        if rest.len() != w.len() {
            words.push(format!("{}{rest}", &w[..1]));
        } else {
            words.push(w.to_string());
        }
    }

    // Operators: only meaningful between two operands (NOT may also lead).
    let is_op = |w: &str| matches!(w, "AND" | "OR" | "NOT" | "IN");
    let n = words.len();
    let mut out: Vec<String> = Vec::with_capacity(n);
    for i in 0..n {
        let w = &words[i];
        if is_op(w) {
            let prev_ok = out.last().is_some_and(|p: &String| !is_op(p));
            let next_ok = words.get(i + 1).is_some_and(|nx| !is_op(nx));
            let keep = match w.as_str() {
                "AND" | "OR" => prev_ok && next_ok,
                "NOT" => next_ok && (out.is_empty() || prev_ok),
                _ => false, // IN [..] set syntax is never wanted
            };
            if !keep {
                continue; // AND/OR/NOT/IN are stop words or noise as plain words
            }
        }
        out.push(w.clone());
    }
    out.join(" ")
}

/// Renders a snippet as plain text with `«»` around matched words.
fn render_snippet(s: &Snippet, text_len: usize) -> String {
    let frag = s.fragment();
    let mut ranges: Vec<Range<usize>> = s.highlighted().to_vec();
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut out = String::with_capacity(frag.len() + 16);
    let range = s.fragment_range();
    if range.start > 0 {
        out.push('…');
    }
    let mut pos = 0;
    for r in ranges {
        if r.start < pos
            || r.end > frag.len()
            || !frag.is_char_boundary(r.start)
            || !frag.is_char_boundary(r.end)
        {
            continue; // overlapping or out-of-range: skip rather than panic
        }
        out.push_str(&frag[pos..r.start]);
        out.push_str(MARK_OPEN);
        out.push_str(&frag[r.clone()]);
        out.push_str(MARK_CLOSE);
        pos = r.end;
    }
    out.push_str(&frag[pos..]);
    if range.end < text_len {
        out.push('…');
    }
    collapse_whitespace(&out)
}

/// First `max_chars` characters of `text`, cut at a word boundary when possible.
fn leading_excerpt(text: &str, max_chars: usize) -> String {
    let text = collapse_whitespace(text.trim());
    match text.char_indices().nth(max_chars) {
        None => text,
        Some((cut, _)) => {
            let head = &text[..cut];
            let head = match head.rfind(' ') {
                Some(sp) if sp > cut / 2 => &head[..sp],
                _ => head,
            };
            format!("{}…", head.trim_end())
        }
    }
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;

    fn doc(
        id: &str,
        kind: &str,
        community: &str,
        topics: &[&str],
        title: &str,
        body: &str,
        date_ms: i64,
    ) -> SearchDoc {
        SearchDoc {
            id: id.into(),
            kind: kind.into(),
            community: community.into(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            title: title.into(),
            body: body.into(),
            date_ms,
            subkind: None,
        }
    }

    fn q(text: &str) -> Query {
        Query {
            text: text.into(),
            ..Query::default()
        }
    }

    fn ids(hits: &[Hit]) -> Vec<&str> {
        hits.iter().map(|h| h.id.as_str()).collect()
    }

    fn sorted(mut v: Vec<&str>) -> Vec<&str> {
        v.sort();
        v
    }

    /// A small repertoire: two resources, a consult, an event, a community.
    fn fixture() -> SearchIndex {
        let idx = SearchIndex::new().unwrap();
        let mut housing = doc(
            "res_housing",
            "resource",
            "north",
            &["Housing", " Homelessness "],
            "Housing First toolkit",
            "A practical guide for agencies adopting the model. Covers landlord engagement, \
             rent subsidies and intensive case management for people leaving the street.",
            1_000,
        );
        housing.subkind = Some("tool".into());
        let mut policy = doc(
            "res_policy",
            "resource",
            "south",
            &["child-welfare"],
            "Kinship care placement policy",
            "Policy describing how relatives are assessed before a child is placed with them. \
             Includes a checklist for caseworkers and a template letter.",
            2_000,
        );
        policy.subkind = Some("policy".into());
        let consult = doc(
            "con_eviction",
            "consult",
            "north",
            &["housing"],
            "Family facing eviction next week",
            "A single mother of three received an eviction notice after rent arrears following \
             a job loss. Which emergency funds or social houses could help quickly?",
            3_000,
        );
        let mut webinar = doc(
            "evt_webinar",
            "event",
            "south",
            &["mental-health"],
            "Trauma-informed supervision",
            "An online session on supporting frontline staff after critical incidents, with \
             speakers from two agencies. Café afterwards.",
            5_000,
        );
        webinar.subkind = Some("webinar".into());
        let community = doc(
            "com_north",
            "community",
            "north",
            &[],
            "North region network",
            "Agencies of the north region sharing tools on housing, youth work and mental health.",
            500,
        );
        for d in [housing, policy, consult, webinar, community] {
            idx.upsert(d).unwrap();
        }
        idx
    }

    #[test]
    fn index_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<SearchIndex>();
        assert_send_sync::<Arc<SearchIndex>>();
    }

    #[test]
    fn finds_resource_by_word_in_its_summary() {
        let idx = fixture();
        let hits = idx.search(&q("landlord")).unwrap();
        assert_eq!(ids(&hits), ["res_housing"]);
        assert_eq!(hits[0].kind, "resource");
        assert_eq!(hits[0].title, "Housing First toolkit");
        assert!(hits[0].score > 0.0);
        // Case and accents do not matter.
        assert_eq!(ids(&idx.search(&q("LANDLORD")).unwrap()), ["res_housing"]);
        assert_eq!(ids(&idx.search(&q("cafe")).unwrap()), ["evt_webinar"]);
        // Topics and subkinds are searchable as words too.
        assert_eq!(ids(&idx.search(&q("webinar")).unwrap()), ["evt_webinar"]);
        assert_eq!(
            ids(&idx.search(&q("homelessness")).unwrap()),
            ["res_housing"]
        );
    }

    #[test]
    fn english_stemming_is_what_it_is() {
        // What the analyser really does (Snowball English + stop words + folding).
        let mut a = english_analyzer();
        let stems = |a: &mut TextAnalyzer, s: &str| {
            let mut out = Vec::new();
            let mut ts = a.token_stream(s);
            while let Some(t) = ts.next() {
                out.push(t.text.clone());
            }
            out
        };
        assert_eq!(
            stems(&mut a, "house houses housing housed"),
            ["hous", "hous", "hous", "hous"]
        );
        assert_eq!(
            stems(&mut a, "the policies of a policy"),
            ["polici", "polici"]
        );
        assert_eq!(stems(&mut a, "child children"), ["child", "children"]); // irregular plural: not merged
        assert_eq!(stems(&mut a, "Évaluation CAFÉ"), ["evalu", "cafe"]);

        let idx = fixture();
        // "houses" finds "Housing First" (title), "housing" (topic/body) and "houses" (body).
        assert_eq!(
            sorted(ids(&idx.search(&q("houses")).unwrap())),
            ["com_north", "con_eviction", "res_housing"]
        );
        // "policies" finds "policy".
        assert_eq!(ids(&idx.search(&q("policies")).unwrap()), ["res_policy"]);
        // Honest limit: irregular plurals are not stemmed together.
        assert!(idx.search(&q("children")).unwrap().is_empty());
        assert_eq!(ids(&idx.search(&q("child")).unwrap()), ["res_policy"]);
    }

    #[test]
    fn all_words_must_match_with_fallback_to_any_word() {
        let idx = fixture();
        // Both words: only the toolkit has "housing" AND "landlord" (com_north has only housing).
        assert_eq!(
            ids(&idx.search(&q("housing landlord")).unwrap()),
            ["res_housing"]
        );
        // Stop words do not have to match.
        assert_eq!(
            ids(&idx.search(&q("the landlord of the street")).unwrap()),
            ["res_housing"]
        );
        // No document has both words: fall back to any word, instead of nothing.
        let hits = idx.search(&q("landlord webinar")).unwrap();
        assert_eq!(sorted(ids(&hits)), ["evt_webinar", "res_housing"]);
        // Explicit OR and exclusion.
        assert_eq!(
            sorted(ids(&idx.search(&q("landlord OR checklist")).unwrap())),
            ["res_housing", "res_policy"]
        );
        assert_eq!(
            sorted(ids(&idx.search(&q("housing -eviction")).unwrap())),
            ["com_north", "res_housing"]
        );
        // Phrases.
        assert_eq!(
            ids(&idx.search(&q("\"rent subsidies\"")).unwrap()),
            ["res_housing"]
        );
        assert!(idx.search(&q("\"subsidies rent\"")).unwrap().is_empty());
    }

    #[test]
    fn title_matches_rank_above_body_only_matches() {
        let idx = SearchIndex::new().unwrap();
        idx.upsert(doc(
            "res_body",
            "resource",
            "c",
            &[],
            "Annual report 2024",
            "This year our mediation team grew. Mediation requests doubled, and mediation \
             outcomes improved across the region.",
            1,
        ))
        .unwrap();
        idx.upsert(doc(
            "res_title",
            "resource",
            "c",
            &[],
            "Family mediation guide",
            "Steps for a first meeting with both parents, and how to close the process.",
            2,
        ))
        .unwrap();
        idx.upsert(doc(
            "res_other",
            "resource",
            "c",
            &[],
            "Other",
            "Nothing relevant here.",
            3,
        ))
        .unwrap();
        let hits = idx.search(&q("mediation")).unwrap();
        assert_eq!(ids(&hits), ["res_title", "res_body"]);
        assert!(hits[0].score > hits[1].score);
    }

    #[test]
    fn filters_exclude_what_they_should() {
        let idx = fixture();
        let base = Query {
            text: "agencies".into(),
            ..Query::default()
        };
        assert_eq!(
            sorted(ids(&idx.search(&base).unwrap())),
            ["com_north", "evt_webinar", "res_housing"]
        );

        let kinds = Query {
            kinds: vec!["resource".into()],
            ..base.clone()
        };
        assert_eq!(ids(&idx.search(&kinds).unwrap()), ["res_housing"]);
        let kinds = Query {
            kinds: vec!["Event ".into(), "community".into()],
            ..base.clone()
        };
        assert_eq!(
            sorted(ids(&idx.search(&kinds).unwrap())),
            ["com_north", "evt_webinar"]
        );

        let community = Query {
            community: Some("south".into()),
            ..base.clone()
        };
        assert_eq!(ids(&idx.search(&community).unwrap()), ["evt_webinar"]);
        let community = Query {
            community: Some("South".into()),
            ..base.clone()
        };
        assert!(
            idx.search(&community).unwrap().is_empty(),
            "community is exact"
        );

        let topic = Query {
            text: String::new(),
            topic: Some(" HOUSING".into()),
            ..Query::default()
        };
        assert_eq!(
            ids(&idx.search(&topic).unwrap()),
            ["con_eviction", "res_housing"]
        );
        let topic = Query {
            topic: Some("mental-health".into()),
            ..base.clone()
        };
        assert_eq!(ids(&idx.search(&topic).unwrap()), ["evt_webinar"]);
        let topic = Query {
            topic: Some("mental".into()),
            ..base.clone()
        };
        assert!(
            idx.search(&topic).unwrap().is_empty(),
            "topic is exact, not a word match"
        );

        // from inclusive, to exclusive.
        let range = Query {
            text: String::new(),
            from_ms: Some(1_000),
            to_ms: Some(3_000),
            ..Query::default()
        };
        assert_eq!(
            ids(&idx.search(&range).unwrap()),
            ["res_policy", "res_housing"]
        );
        let from = Query {
            from_ms: Some(1_000),
            ..base.clone()
        };
        assert_eq!(
            sorted(ids(&idx.search(&from).unwrap())),
            ["evt_webinar", "res_housing"]
        );
        let to = Query {
            to_ms: Some(1_000),
            ..base.clone()
        };
        assert_eq!(ids(&idx.search(&to).unwrap()), ["com_north"]);
        let empty = Query {
            from_ms: Some(10),
            to_ms: Some(5),
            ..base.clone()
        };
        assert!(idx.search(&empty).unwrap().is_empty());

        // Filters combine, and do not change the ranking scores.
        let all = Query {
            kinds: vec!["resource".into(), "event".into()],
            community: Some("north".into()),
            topic: Some("housing".into()),
            from_ms: Some(0),
            to_ms: Some(10_000),
            ..base.clone()
        };
        let hits = idx.search(&all).unwrap();
        assert_eq!(ids(&hits), ["res_housing"]);
        let unfiltered = idx.search(&base).unwrap();
        let same = unfiltered.iter().find(|h| h.id == "res_housing").unwrap();
        assert!((same.score - hits[0].score).abs() < 1e-6);
    }

    #[test]
    fn upsert_replaces_the_earlier_version() {
        let idx = fixture();
        idx.upsert(doc(
            "res_zoo",
            "resource",
            "north",
            &["animals"],
            "Zebra care",
            "Stripes and savannah.",
            10,
        ))
        .unwrap();
        assert_eq!(ids(&idx.search(&q("zebra")).unwrap()), ["res_zoo"]);
        assert_eq!(idx.len(), 6);
        idx.upsert(doc(
            "res_zoo",
            "resource",
            "south",
            &["mammals"],
            "Giraffe care",
            "Long necks and acacia.",
            11,
        ))
        .unwrap();
        assert!(idx.search(&q("zebra")).unwrap().is_empty());
        assert!(idx.search(&q("stripes")).unwrap().is_empty());
        let hits = idx.search(&q("giraffe acacia")).unwrap();
        assert_eq!(ids(&hits), ["res_zoo"]);
        assert_eq!(hits[0].title, "Giraffe care");
        assert_eq!(idx.len(), 6);
        // Old filter values are gone too.
        let old = Query {
            topic: Some("animals".into()),
            ..Query::default()
        };
        assert!(idx.search(&old).unwrap().is_empty());
        let new = Query {
            topic: Some("mammals".into()),
            community: Some("south".into()),
            ..Query::default()
        };
        assert_eq!(ids(&idx.search(&new).unwrap()), ["res_zoo"]);
        // Several versions in one burst (no search in between): the last one wins.
        for v in 0..5 {
            idx.upsert(doc(
                "res_zoo",
                "resource",
                "south",
                &[],
                &format!("Version v{v}"),
                "",
                12,
            ))
            .unwrap();
        }
        let hits = idx.search(&q("version")).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].title, "Version v4");
        assert_eq!(idx.len(), 6);
    }

    #[test]
    fn remove_makes_it_disappear() {
        let idx = fixture();
        assert_eq!(idx.len(), 5);
        idx.remove("res_housing").unwrap();
        assert!(idx.search(&q("landlord")).unwrap().is_empty());
        let listing = idx.search(&Query::default()).unwrap();
        assert!(!ids(&listing).contains(&"res_housing"));
        assert_eq!(idx.len(), 4);
        idx.remove("no_such_id").unwrap();
        idx.remove("").unwrap();
        assert_eq!(idx.len(), 4);
        // It can come back.
        idx.upsert(doc(
            "res_housing",
            "resource",
            "north",
            &[],
            "Back",
            "landlord again",
            1,
        ))
        .unwrap();
        assert_eq!(ids(&idx.search(&q("landlord")).unwrap()), ["res_housing"]);
    }

    #[test]
    fn rejects_empty_id() {
        let idx = SearchIndex::new().unwrap();
        assert!(matches!(
            idx.upsert(doc(" ", "resource", "c", &[], "t", "b", 0)),
            Err(SearchError::InvalidDoc(_))
        ));
        assert_eq!(idx.len(), 0);
        assert!(idx.is_empty());
    }

    #[test]
    fn a_burst_of_1000_upserts_is_all_visible_to_the_next_search() {
        let idx = SearchIndex::new().unwrap();
        for i in 0..1_000 {
            idx.upsert(doc(
                &format!("res_{i}"),
                "resource",
                "c",
                &["bulk"],
                &format!("Bulk item {i}"),
                &format!("marker{i} common words here"),
                i,
            ))
            .unwrap();
        }
        // One search sees all of them (one commit).
        let newest = idx
            .search(&Query {
                topic: Some("bulk".into()),
                limit: 1,
                ..Query::default()
            })
            .unwrap();
        assert_eq!(ids(&newest), ["res_999"]);
        assert_eq!(idx.reader.searcher().num_docs(), 1_000);
        assert_eq!(idx.len(), 1_000);
        assert_eq!(
            idx.search(&Query {
                limit: 1_000,
                ..q("common")
            })
            .unwrap()
            .len(),
            MAX_LIMIT
        );
        assert_eq!(ids(&idx.search(&q("marker0")).unwrap()), ["res_0"]);
        assert_eq!(ids(&idx.search(&q("marker999")).unwrap()), ["res_999"]);
        // Re-upserting them all (a resync) keeps the count.
        for i in 0..1_000 {
            idx.upsert(doc(
                &format!("res_{i}"),
                "resource",
                "c",
                &[],
                "Bulk",
                "resynced",
                i,
            ))
            .unwrap();
        }
        assert_eq!(idx.len(), 1_000);
        assert!(idx.search(&q("marker500")).unwrap().is_empty());
    }

    #[test]
    fn odd_query_strings_never_error() {
        let idx = fixture();
        let nasty = [
            "",
            "   ",
            "\"",
            "\"housing",
            "housing\"",
            "\"\"",
            "\" \"",
            "((",
            ")",
            "housing)",
            "(housing OR",
            "AND",
            "OR OR OR",
            "NOT",
            "housing AND",
            "AND housing",
            "NOT NOT housing",
            "-",
            "--",
            "+",
            "-housing",
            "+-+-housing",
            "title:",
            ":",
            "::housing::",
            "title:landlord",
            "kind:resource",
            "id:res_housing",
            "date_ms:[0 TO 10]",
            "[0 TO 10]",
            "{a TO b}",
            "housing^",
            "housing^2",
            "housing^abc",
            "housing~",
            "housing~2",
            "\"housing first\"~3",
            "*",
            "hous*",
            "*ing",
            "\"housing fi\"*",
            "?",
            "h?using",
            "/regex.*/",
            "/",
            "\\",
            "\\\\",
            "\\\"",
            "IN [a b]",
            "id: IN [res_housing]",
            "a:b:c",
            "http://example.org/housing?x=1&y=2",
            "c++ c# .net",
            "o'brien's",
            "don't",
            "café ÉVALUATION",
            "🏠 housing 🏠",
            "🏠🏠🏠",
            "日本語の検索",
            "مرحبا",
            "\u{0}\u{1}\u{7f}",
            "\t\n\r",
            "<script>alert(1)</script>",
            "'; DROP TABLE docs; --",
            "%s %n %x",
            "${jndi:ldap://x}",
            "a AND (b OR (c AND NOT d))",
            "((((((((((housing))))))))))",
            "\"unbalanced \"quotes\" here",
            "housing-first",
            "-\"housing first\"",
            "NOT \"housing first\"",
            "housing !landlord",
            "!",
            "&&",
            "||",
            "housing && landlord || rent",
            "the",
            "of the and",
            "a",
            "e.g. i.e.",
        ];
        let filtered = Query {
            kinds: vec!["resource".into()],
            community: Some("north".into()),
            ..Query::default()
        };
        for text in nasty {
            for base in [Query::default(), filtered.clone()] {
                let query = Query {
                    text: text.to_string(),
                    ..base
                };
                let hits = idx.search(&query);
                assert!(hits.is_ok(), "query {text:?} failed: {hits:?}");
            }
        }
        // Sensible results for some of them.
        assert_eq!(ids(&idx.search(&q("\"housing")).unwrap()).len(), 3);
        assert_eq!(ids(&idx.search(&q("(housing OR")).unwrap()).len(), 3);
        assert_eq!(
            ids(&idx.search(&q("🏠 landlord 🏠")).unwrap()),
            ["res_housing"]
        );
        assert_eq!(
            ids(&idx.search(&q("title:landlord")).unwrap()),
            ["res_housing"]
        );
        assert_eq!(
            ids(&idx.search(&q("landlord AND")).unwrap()),
            ["res_housing"]
        );
        assert_eq!(
            ids(&idx.search(&q("-\"housing first\" housing")).unwrap()).len(),
            2
        );
        assert!(idx.search(&q("🏠🏠🏠")).unwrap().is_empty());
        assert!(
            idx.search(&q("the")).unwrap().is_empty(),
            "stop words alone match nothing"
        );
    }

    #[test]
    fn long_query_text_does_not_panic() {
        let idx = fixture();
        let long = "housing ".repeat(5_000) + &"é".repeat(10_000) + &"\"(".repeat(3_000);
        let hits = idx.search(&q(&long)).unwrap();
        assert_eq!(hits.len(), 3);
        let words: String = (0..2_000).map(|i| format!("w{i} ")).collect();
        assert!(idx.search(&q(&words)).is_ok());
    }

    #[test]
    fn snippets_mark_the_matched_words() {
        let idx = fixture();
        let hits = idx.search(&q("landlord")).unwrap();
        assert!(
            hits[0].snippet.contains("«landlord»"),
            "{}",
            hits[0].snippet
        );
        // Stemmed match: the word as written in the document is marked.
        let hits = idx.search(&q("eviction houses")).unwrap();
        assert_eq!(ids(&hits), ["con_eviction"]);
        let s = &hits[0].snippet;
        assert!(s.contains("«eviction»") && s.contains("«houses»"), "{s}");
        // Only in the title: the title is the snippet.
        let hits = idx.search(&q("toolkit")).unwrap();
        assert_eq!(hits[0].snippet, "Housing First «toolkit»");
        // Matched through topics only: the start of the body, unmarked.
        let hits = idx.search(&q("homelessness")).unwrap();
        assert!(
            hits[0].snippet.starts_with("A practical guide"),
            "{}",
            hits[0].snippet
        );
        assert!(!hits[0].snippet.contains('«'));
        // Long body: the fragment is cut around the match and shows it.
        let idx = SearchIndex::new().unwrap();
        let filler = "Lorem ipsum dolor sit amet consectetur. ".repeat(30);
        idx.upsert(doc(
            "res_long",
            "resource",
            "c",
            &[],
            "Long",
            &format!("{filler} The respite care grant is new. {filler}"),
            0,
        ))
        .unwrap();
        let s = &idx.search(&q("respite")).unwrap()[0].snippet;
        assert!(s.contains("«respite»"), "{s}");
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.chars().count() < SNIPPET_CHARS + 20, "{s}");
        // Listing by date: the start of the body.
        let s = &idx.search(&Query::default()).unwrap()[0].snippet;
        assert!(
            s.starts_with("Lorem ipsum") && s.ends_with('…') && !s.contains('«'),
            "{s}"
        );
    }

    #[test]
    fn empty_text_lists_newest_first() {
        let idx = fixture();
        let all = idx.search(&Query::default()).unwrap();
        assert_eq!(
            ids(&all),
            [
                "evt_webinar",
                "con_eviction",
                "res_policy",
                "res_housing",
                "com_north"
            ]
        );
        assert!(all.iter().all(|h| h.score == 0.0));
        let filtered = Query {
            text: "  ".into(),
            kinds: vec!["resource".into(), "consult".into()],
            ..Query::default()
        };
        assert_eq!(
            ids(&idx.search(&filtered).unwrap()),
            ["con_eviction", "res_policy", "res_housing"]
        );
        let north = Query {
            community: Some("north".into()),
            limit: 2,
            ..Query::default()
        };
        assert_eq!(
            ids(&idx.search(&north).unwrap()),
            ["con_eviction", "res_housing"]
        );
    }

    #[test]
    fn limit_is_clamped() {
        let idx = fixture();
        assert_eq!(
            idx.search(&Query {
                limit: 0,
                ..Query::default()
            })
            .unwrap()
            .len(),
            1
        );
        assert_eq!(
            idx.search(&Query {
                limit: usize::MAX,
                ..Query::default()
            })
            .unwrap()
            .len(),
            5
        );
        assert_eq!(
            idx.search(&Query {
                limit: 2,
                ..q("agencies")
            })
            .unwrap()
            .len(),
            2
        );
    }

    #[test]
    fn concurrent_writers_and_readers() {
        let idx = Arc::new(SearchIndex::new().unwrap());
        let mut handles = Vec::new();
        for t in 0..4 {
            let idx = Arc::clone(&idx);
            handles.push(std::thread::spawn(move || {
                for i in 0..250 {
                    // Every thread upserts the same shared ids: racing versions of one id.
                    idx.upsert(doc(
                        &format!("res_shared_{i}"),
                        "resource",
                        "c",
                        &[],
                        "Shared",
                        &format!("by writer{t}"),
                        i,
                    ))
                    .unwrap();
                    // And its own docs, which its next search must see (read-your-writes).
                    idx.upsert(doc(
                        &format!("res_own_{t}_{i}"),
                        "resource",
                        "c",
                        &[],
                        "Own",
                        &format!("own{t}x{i}"),
                        i,
                    ))
                    .unwrap();
                    if i % 25 == 0 {
                        let own = idx.search(&q(&format!("own{t}x{i}"))).unwrap();
                        assert_eq!(ids(&own), [format!("res_own_{t}_{i}").as_str()]);
                    }
                }
            }));
        }
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(idx.len(), 250 + 4 * 250, "one live version per id");
        let shared = idx
            .search(&Query {
                limit: 100,
                ..q("shared")
            })
            .unwrap();
        assert_eq!(shared.len(), 100);
        let listing = idx
            .search(&Query {
                limit: 100,
                ..q("writer0 OR writer1 OR writer2 OR writer3")
            })
            .unwrap();
        assert_eq!(listing.len(), 100);
    }

    #[test]
    fn serde_shapes() {
        let query: Query =
            serde_json::from_str(r#"{"text":"housing","kinds":["resource"]}"#).unwrap();
        assert_eq!(query.limit, 20);
        assert_eq!(query.community, None);
        let d: SearchDoc = serde_json::from_str(
            r#"{"id":"res_1","kind":"resource","community":"c","title":"T","date_ms":1}"#,
        )
        .unwrap();
        assert!(d.topics.is_empty() && d.body.is_empty() && d.subkind.is_none());
        let hit = Hit {
            id: "a".into(),
            kind: "resource".into(),
            title: "T".into(),
            score: 1.5,
            snippet: "«x»".into(),
        };
        assert_eq!(
            serde_json::to_string(&hit).unwrap(),
            r#"{"id":"a","kind":"resource","title":"T","score":1.5,"snippet":"«x»"}"#
        );
    }

    #[test]
    fn sanitizer_outputs() {
        let cases = [
            ("housing first", "housing first"),
            ("\"housing first\" -rent", "\"housing first\" -rent"),
            ("\"unbalanced", "unbalanced"),
            ("title:landlord", "title landlord"),
            ("(a OR b) AND", "a OR b"),
            ("AND OR NOT", ""),
            ("NOT housing", "NOT housing"),
            ("+-+-housing -- -", "+housing"),
            ("c++ housing-first", "c++ housing-first"),
            ("IN [a b]", "a b"),
            ("🏠 x", "x"),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize_query(input), want, "input {input:?}");
        }
    }

    // ---- benchmark -------------------------------------------------------

    /// `cargo test --release -- --ignored --nocapture bench_10k`
    #[test]
    #[ignore]
    fn bench_10k() {
        const WORDS: &[&str] = &[
            "housing",
            "family",
            "child",
            "youth",
            "care",
            "policy",
            "support",
            "services",
            "mental",
            "health",
            "community",
            "agency",
            "case",
            "worker",
            "program",
            "funding",
            "training",
            "assessment",
            "risk",
            "safety",
            "violence",
            "domestic",
            "shelter",
            "eviction",
            "rent",
            "landlord",
            "income",
            "benefit",
            "disability",
            "elderly",
            "school",
            "education",
            "employment",
            "trauma",
            "recovery",
            "addiction",
            "substance",
            "outreach",
            "referral",
            "intake",
            "supervision",
            "foster",
            "kinship",
            "adoption",
            "court",
            "legal",
            "immigration",
            "refugee",
            "language",
            "interpreter",
            "food",
            "bank",
            "transport",
            "rural",
            "urban",
            "indigenous",
            "culture",
            "research",
            "evaluation",
            "outcome",
            "data",
            "privacy",
            "consent",
            "meeting",
            "webinar",
            "workshop",
            "guide",
            "toolkit",
            "checklist",
            "template",
            "report",
            "network",
            "partner",
            "volunteer",
            "staff",
            "burnout",
            "wellbeing",
            "crisis",
            "emergency",
            "prevention",
            "early",
            "intervention",
            "parenting",
            "pregnancy",
            "infant",
            "teen",
            "senior",
            "caregiver",
            "respite",
            "homelessness",
            "poverty",
            "debt",
            "budget",
            "grant",
            "practice",
            "evidence",
            "model",
            "approach",
            "team",
            "region",
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        // Skewed word choice (frequent words are frequent), plus 1 rare word per doc.
        let word = |rnd: &mut dyn FnMut() -> u64| {
            let r = (rnd() % 10_000) as f64 / 10_000.0;
            WORDS[((r * r) * WORDS.len() as f64) as usize]
        };
        let kinds = ["resource", "consult", "event", "community"];
        let mut docs = Vec::with_capacity(10_000);
        for i in 0..10_000 {
            let mut body = String::with_capacity(1_100);
            while body.len() < 1_000 {
                body.push_str(word(&mut rnd));
                body.push(' ');
            }
            body.push_str(&format!("rare{i}"));
            let title = format!("{} {} {}", word(&mut rnd), word(&mut rnd), word(&mut rnd));
            docs.push(SearchDoc {
                id: format!("res_{i:05}"),
                kind: kinds[i % 4].into(),
                community: format!("comm{}", i % 20),
                topics: vec![word(&mut rnd).into(), word(&mut rnd).into()],
                title,
                body,
                date_ms: 1_700_000_000_000 + i as i64 * 60_000,
                subkind: Some("policy".into()),
            });
        }
        let idx = SearchIndex::new().unwrap();
        let t0 = Instant::now();
        for d in docs {
            idx.upsert(d).unwrap();
        }
        let t_upserts = t0.elapsed();
        assert_eq!(idx.len(), 10_000); // includes the commit
        let t_index = t0.elapsed();

        let mut queries = Vec::new();
        for i in 0..200 {
            let n = 1 + (rnd() % 3) as usize;
            let text = (0..n).map(|_| word(&mut rnd)).collect::<Vec<_>>().join(" ");
            let mut query = Query {
                text,
                limit: 20,
                ..Query::default()
            };
            if i % 4 == 1 {
                query.kinds = vec!["resource".into()];
            }
            if i % 4 == 2 {
                query.community = Some(format!("comm{}", i % 20));
            }
            if i % 10 == 3 {
                query.text = format!("rare{}", rnd() % 10_000);
            }
            queries.push(query);
        }
        let mut lat = Vec::new();
        let mut total_hits = 0;
        for query in &queries {
            let t = Instant::now();
            total_hits += idx.search(query).unwrap().len();
            lat.push(t.elapsed());
        }
        lat.sort();
        let listing = Instant::now();
        idx.search(&Query {
            kinds: vec!["event".into()],
            ..Query::default()
        })
        .unwrap();
        let listing = listing.elapsed();
        // A burst of 1,000 re-upserts then one search (commit + reload).
        let t = Instant::now();
        for i in 0..1_000 {
            idx.upsert(doc(
                &format!("res_{i:05}"),
                "resource",
                "c",
                &[],
                "Updated",
                "fresh text",
                i,
            ))
            .unwrap();
        }
        let burst_writes = t.elapsed();
        idx.search(&q("fresh")).unwrap();
        let burst_total = t.elapsed();
        println!(
            "BENCH index 10,000 docs (~1 KB body): upserts {:?}, upserts+commit+reload {:?}",
            t_upserts, t_index
        );
        println!(
            "BENCH 200 queries (limit 20, with snippets): p50 {:?}, p90 {:?}, p99 {:?}, max {:?}; {} hits",
            lat[100], lat[180], lat[198], lat[199], total_hits
        );
        println!(
            "BENCH listing by date (kind filter, limit 20): {:?}",
            listing
        );
        println!(
            "BENCH burst of 1,000 re-upserts: writes {:?}, + first search {:?}",
            burst_writes, burst_total
        );
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let mem: Vec<&str> = status
            .lines()
            .filter(|l| l.starts_with("VmRSS") || l.starts_with("VmHWM"))
            .collect();
        println!(
            "BENCH process memory after all of the above: {}",
            mem.join(", ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
}
