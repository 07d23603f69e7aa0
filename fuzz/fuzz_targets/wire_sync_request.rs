//! `/copnet/sync/1` requests: decode, re-encode, decode again to the same value; the roster ops
//! and sync messages they carry go through their own checks.
#![no_main]

use copnet_fuzz::verify_and_insert;
use copnet_protocol::wire::{self, SyncRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    copnet_fuzz::guard(|| run(data));
});

fn run(data: &[u8]) {
    let Ok(msg) = wire::decode::<SyncRequest>(data) else {
        return;
    };
    let again: SyncRequest =
        wire::decode(&wire::encode(&msg)).expect("a decoded request re-encodes");
    assert_eq!(again, msg);
    match &msg {
        SyncRequest::RosterPush { ops, .. } => verify_and_insert(ops),
        SyncRequest::Docs { docs, .. } => {
            for d in docs {
                if let Some(m) = &d.message {
                    let _ = automerge::sync::Message::decode(m);
                }
            }
        }
        _ => {}
    }
}
