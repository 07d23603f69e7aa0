//! Automerge storage chunks as they arrive inside sync messages, checked before automerge sees
//! them.
//!
//! A sync message's change list holds either one saved document or one or more change chunks
//! written back to back. Both may be DEFLATE-compressed: a document's columns one by one, a change
//! as a whole. Automerge inflates without a bound, so a few kilobytes of crafted input could ask
//! for gigabytes (a compression bomb). [`check`] splits the entries, walks each chunk's layout far
//! enough to find every compressed part, and inflates those parts into nothing, refusing the
//! message as soon as the total would pass [`MAX_INFLATED_BYTES`]. Only then is it handed to
//! automerge.

use std::io::Read;

use automerge::sync::Message;
use automerge::{Automerge, Change};

/// The first bytes of every automerge storage chunk.
pub const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// Most bytes the chunks of one sync message may inflate to, all together. Four times the largest
/// wire message: honest documents compress far less than that.
pub const MAX_INFLATED_BYTES: u64 = 64 * 1024 * 1024;
/// Most chunks one message may carry.
pub const MAX_CHUNKS: usize = 50_000;
/// Most changes one sync message may carry (a saved document is one chunk of many changes).
pub const MAX_CHANGES_PER_MESSAGE: usize = 50_000;

/// What kind of chunk a chunk is (byte 8 of its header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A saved document: every change of it, in columns, some possibly compressed.
    Document,
    /// One change, uncompressed.
    Change,
    /// One change, DEFLATE-compressed as a whole.
    CompressedChange,
}

/// One chunk: its kind and all of its bytes, header included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk<'a> {
    pub kind: Kind,
    pub bytes: &'a [u8],
    /// The chunk's data, after the header.
    data: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("not an automerge chunk")]
    NotAChunk,
    #[error("unknown chunk type {0}")]
    UnknownKind(u8),
    #[error("chunk {0} is cut short")]
    Truncated(&'static str),
    #[error("a length in the chunk is out of range")]
    BadLength,
    #[error("compressed data does not inflate")]
    BadDeflate,
    #[error("the message would inflate to more than {MAX_INFLATED_BYTES} bytes")]
    TooLarge,
    #[error("more than {MAX_CHUNKS} chunks in one message")]
    TooMany,
}

/// Runs automerge on bytes from a peer or an import, turning a panic inside it into an error.
///
/// Automerge 0.12 panics on some malformed changes that pass every structural check here (an op id
/// counter that does not fit in 32 bits, found by fuzzing: fuzz/RESULTS.md). A peer must not be
/// able to end a task, or leave a half-done write behind, with 500 bytes; the caller treats the
/// error like any other malformed input (an offence, on the wire).
pub fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err("automerge could not decode it (it panicked)".into()))
}

/// A cursor over a chunk's bytes that never reads past the end.
struct Cursor<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Cursor<'a> {
    fn uleb(&mut self) -> Result<u64, ChunkError> {
        let (mut value, mut shift) = (0u64, 0u32);
        loop {
            let (&b, rest) = self
                .bytes
                .split_first()
                .ok_or(ChunkError::Truncated(self.what))?;
            self.bytes = rest;
            if shift > 63 || (shift == 63 && b > 1) {
                return Err(ChunkError::BadLength);
            }
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    fn len(&mut self) -> Result<usize, ChunkError> {
        usize::try_from(self.uleb()?).map_err(|_| ChunkError::BadLength)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ChunkError> {
        if n > self.bytes.len() {
            return Err(ChunkError::Truncated(self.what));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    /// Skips `count` items of `size` bytes each, checking the product.
    fn skip_items(&mut self, count: usize, size: usize) -> Result<(), ChunkError> {
        let n = count.checked_mul(size).ok_or(ChunkError::BadLength)?;
        self.take(n).map(|_| ())
    }
}

/// Splits concatenated chunks: each is `magic (4) ‖ checksum (4) ‖ type (1) ‖ uLEB128 length ‖
/// data`.
pub fn split(mut bytes: &[u8]) -> Result<Vec<Chunk<'_>>, ChunkError> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        if bytes.len() < 10 || bytes[..4] != MAGIC {
            return Err(ChunkError::NotAChunk);
        }
        let kind = match bytes[8] {
            0 => Kind::Document,
            1 => Kind::Change,
            2 => Kind::CompressedChange,
            // Anything else, notably automerge's bundle chunks (type 3), is refused: sync messages
            // never carry them, and automerge 0.12 panics on some malformed bundles and spends
            // seconds on others (fuzz/RESULTS.md), so they must never reach it.
            other => return Err(ChunkError::UnknownKind(other)),
        };
        let mut c = Cursor {
            bytes: &bytes[9..],
            what: "header",
        };
        let len = c.len()?;
        let at = bytes.len() - c.bytes.len();
        let end = at
            .checked_add(len)
            .filter(|&e| e <= bytes.len())
            .ok_or(ChunkError::Truncated("data"))?;
        if out.len() == MAX_CHUNKS {
            return Err(ChunkError::TooMany);
        }
        out.push(Chunk {
            kind,
            bytes: &bytes[..end],
            data: &bytes[at..end],
        });
        bytes = &bytes[end..];
    }
    Ok(out)
}

/// Inflates `deflated` into nothing, counting against `budget`.
fn inflate_within(deflated: &[u8], budget: &mut u64) -> Result<(), ChunkError> {
    let mut decoder = flate2::bufread::DeflateDecoder::new(deflated).take(*budget + 1);
    let n =
        std::io::copy(&mut decoder, &mut std::io::sink()).map_err(|_| ChunkError::BadDeflate)?;
    if n > *budget {
        return Err(ChunkError::TooLarge);
    }
    *budget -= n;
    Ok(())
}

/// The deflate bit of a column specification.
const COLUMN_DEFLATE: u64 = 0b1000;

/// Walks a document chunk's layout (actors, heads, change and op column metadata, then the column
/// data) and inflates each compressed column within `budget`.
fn check_document(data: &[u8], budget: &mut u64) -> Result<(), ChunkError> {
    let mut c = Cursor {
        bytes: data,
        what: "document",
    };
    let actors = c.len()?;
    for _ in 0..actors {
        let n = c.len()?;
        c.take(n)?;
    }
    let heads = c.len()?;
    c.skip_items(heads, 32)?;
    let mut columns: Vec<(u64, usize)> = Vec::new();
    for _ in 0..2 {
        let count = c.len()?;
        // Each column's metadata takes at least two bytes: a count beyond that is a lie.
        if count > c.bytes.len() / 2 {
            return Err(ChunkError::Truncated("column metadata"));
        }
        for _ in 0..count {
            let spec = c.uleb()?;
            let len = c.len()?;
            columns.push((spec, len));
        }
    }
    for (spec, len) in columns {
        let column = c.take(len)?;
        if spec & COLUMN_DEFLATE != 0 {
            inflate_within(column, budget)?;
        } else {
            *budget = budget.checked_sub(len as u64).ok_or(ChunkError::TooLarge)?;
        }
    }
    Ok(())
}

/// Checks the change-list entries of one sync message: each splits into well-formed chunks, and
/// everything compressed in them inflates, in all, to at most [`MAX_INFLATED_BYTES`]. Returns the
/// chunks, for the caller to hand to automerge.
pub fn check<'a, I>(entries: I) -> Result<Vec<Chunk<'a>>, ChunkError>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut budget = MAX_INFLATED_BYTES;
    let mut out = Vec::new();
    for entry in entries {
        for chunk in split(entry)? {
            match chunk.kind {
                Kind::Document => check_document(chunk.data, &mut budget)?,
                Kind::CompressedChange => inflate_within(chunk.data, &mut budget)?,
                Kind::Change => {
                    budget = budget
                        .checked_sub(chunk.data.len() as u64)
                        .ok_or(ChunkError::TooLarge)?;
                }
            }
            if out.len() == MAX_CHUNKS {
                return Err(ChunkError::TooMany);
            }
            out.push(chunk);
        }
    }
    Ok(out)
}

/// The changes a sync message carries, decoded as a node must decode a peer's: [`check`] first,
/// then each chunk through automerge, [`guarded`]. Each entry of the change list is a saved
/// document (all of its changes) or one or more change chunks.
pub fn carried_changes(message: &Message) -> Result<Vec<Change>, String> {
    let chunks = check(message.changes.iter()).map_err(|e| e.to_string())?;
    changes_of(&chunks)
}

/// The changes in chunks that passed [`check`].
pub fn changes_of(chunks: &[Chunk<'_>]) -> Result<Vec<Change>, String> {
    let mut out = Vec::new();
    for chunk in chunks {
        if chunk.kind == Kind::Document {
            let scratch = guarded(|| Automerge::load(chunk.bytes).map_err(|e| e.to_string()))
                .map_err(|e| format!("bad document chunk: {e}"))?;
            out.extend(scratch.get_changes(&[]));
        } else {
            out.push(
                guarded(|| Change::try_from(chunk.bytes).map_err(|e| e.to_string()))
                    .map_err(|e| format!("bad change chunk: {e}"))?,
            );
        }
        if out.len() > MAX_CHANGES_PER_MESSAGE {
            return Err("too many changes in one message".into());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    use super::*;

    fn doc_with_changes(n: usize, text: &str) -> AutoCommit {
        let mut doc = AutoCommit::new();
        for i in 0..n {
            doc.put(ROOT, format!("k{i}"), text.repeat(50)).unwrap();
            doc.commit();
        }
        doc
    }

    fn uleb(out: &mut Vec<u8>, mut n: u64) {
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    fn chunk(kind: u8, data: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[0, 0, 0, 0, kind]);
        uleb(&mut out, data.len() as u64);
        out.extend_from_slice(data);
        out
    }

    fn deflate(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn saved_documents_and_back_to_back_changes_pass() {
        let mut doc = doc_with_changes(20, "housing first ");
        let saved = doc.save();
        let chunks = check([saved.as_slice()]).unwrap();
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].kind, Kind::Document);
        assert_eq!(chunks[0].bytes, saved.as_slice());

        let joined: Vec<u8> = doc
            .get_changes(&[])
            .iter()
            .flat_map(|c| c.raw_bytes().to_vec())
            .collect();
        let chunks = check([joined.as_slice()]).unwrap();
        assert_eq!(chunks.len(), 20);
        assert!(chunks.iter().all(|c| c.kind == Kind::Change));
    }

    #[test]
    fn a_message_of_changes_back_to_back_carries_them_all() {
        let mut doc = doc_with_changes(3, "x");
        let changes = doc.get_changes(&[]);
        let joined: Vec<u8> = changes
            .iter()
            .flat_map(|c| c.raw_bytes().to_vec())
            .collect();
        let msg = Message {
            heads: vec![],
            need: vec![],
            have: vec![],
            changes: automerge::sync::ChunkList::from(vec![joined.clone()]),
            version: automerge::sync::MessageVersion::V2,
            flags: None,
        };
        let read = carried_changes(&msg).unwrap();
        assert_eq!(
            read.iter().map(Change::hash).collect::<Vec<_>>(),
            changes.iter().map(Change::hash).collect::<Vec<_>>()
        );
        // Cut short: refused, never a panic.
        let cut = Message {
            changes: automerge::sync::ChunkList::from(vec![joined[..joined.len() - 1].to_vec()]),
            ..msg
        };
        assert!(carried_changes(&cut).is_err());
    }

    #[test]
    fn cut_or_padded_chunks_are_refused() {
        let saved = doc_with_changes(3, "x").save();
        assert!(check([&saved[..saved.len() - 1]]).is_err());
        let mut extra = saved.clone();
        extra.push(0);
        assert!(check([extra.as_slice()]).is_err());
        assert_eq!(
            check([chunk(7, b"").as_slice()]),
            Err(ChunkError::UnknownKind(7))
        );
        // A length that overflows.
        let mut lie = MAGIC.to_vec();
        lie.extend_from_slice(&[0, 0, 0, 0, 1]);
        lie.extend_from_slice(&[0xff; 11]);
        assert!(check([lie.as_slice()]).is_err());
    }

    #[test]
    fn a_compressed_change_that_inflates_past_the_bound_is_refused() {
        // About 80 KiB of deflate that inflates to 80 MiB.
        let bomb = deflate(&vec![0u8; 80 * 1024 * 1024]);
        assert!(bomb.len() < 200 * 1024, "{}", bomb.len());
        assert_eq!(
            check([chunk(2, &bomb).as_slice()]),
            Err(ChunkError::TooLarge)
        );
        // The bound is on the message, not on each chunk.
        let half = chunk(2, &deflate(&vec![0u8; 40 * 1024 * 1024]));
        assert!(check([half.as_slice()]).is_ok());
        assert_eq!(
            check([half.as_slice(), half.as_slice()]),
            Err(ChunkError::TooLarge)
        );
        assert_eq!(
            check([chunk(2, b"not deflate at all").as_slice()]),
            Err(ChunkError::BadDeflate)
        );
    }

    #[test]
    fn a_document_with_a_compressed_column_bomb_is_refused() {
        // No actors, no heads, no change columns, one deflated op column.
        let bomb = deflate(&vec![0u8; 100 * 1024 * 1024]);
        let mut data = vec![0, 0, 0, 1];
        let spec = 0x10 | COLUMN_DEFLATE;
        data.push(spec as u8);
        uleb(&mut data, bomb.len() as u64);
        data.extend_from_slice(&bomb);
        assert_eq!(
            check([chunk(0, &data).as_slice()]),
            Err(ChunkError::TooLarge)
        );
        // A column count that cannot fit is refused before anything is allocated.
        let lie = chunk(0, &[0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(check([lie.as_slice()]).is_err());
    }
}
