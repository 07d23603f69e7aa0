//! Fault injection, for the partition and clock-skew tests that run real node processes.
//!
//! Off unless the node is started with `COPNET_FAULTS=1`; a node started so says so in its log.
//! When on, the API gains `POST /api/v1/faults/partition` (stop talking to the given nodes) and
//! `POST /api/v1/faults/heal`, behind the token like everything else, and `COPNET_CLOCK_OFFSET_MS`
//! moves this node's wall clock. Neither can do more than a pulled cable or a wrong clock would.

use std::sync::OnceLock;

/// Whether fault injection is on for this process.
pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("COPNET_FAULTS").is_ok_and(|v| v == "1"))
}

/// Milliseconds added to this node's wall clock (0 unless fault injection is on).
pub fn clock_offset_ms() -> i64 {
    static OFFSET: OnceLock<i64> = OnceLock::new();
    *OFFSET.get_or_init(|| {
        if !enabled() {
            return 0;
        }
        std::env::var("COPNET_CLOCK_OFFSET_MS")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    })
}
