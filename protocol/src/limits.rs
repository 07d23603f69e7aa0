//! Size limits shared by every node. A message over a limit is refused before it is decoded, so
//! a hostile peer cannot make a node allocate more than these bounds.

/// Largest automerge change a node will sign or accept (bytes, as stored on the wire).
pub const MAX_CHANGE_BYTES: usize = 1024 * 1024;
/// Largest encoded roster op payload.
pub const MAX_ROSTER_OP_BYTES: usize = 16 * 1024;
/// Most parents (cited heads) a roster op or a change may cite.
pub const MAX_CITED_HEADS: usize = 64;
/// Longest free-text field in a roster op (names, charters, reasons).
pub const MAX_ROSTER_TEXT: usize = 4 * 1024;
