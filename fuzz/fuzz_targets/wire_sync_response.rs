//! `/copnet/sync/1` responses: decode, re-encode, decode again to the same value; carried roster
//! ops are verified and inserted.
#![no_main]

use copnet_fuzz::verify_and_insert;
use copnet_protocol::wire::{self, SyncResponse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    copnet_fuzz::guard(|| run(data));
});

fn run(data: &[u8]) {
    let Ok(msg) = wire::decode::<SyncResponse>(data) else {
        return;
    };
    let again: SyncResponse =
        wire::decode(&wire::encode(&msg)).expect("a decoded response re-encodes");
    assert_eq!(again, msg);
    match &msg {
        SyncResponse::RosterOps { ops, .. } => verify_and_insert(ops),
        SyncResponse::Docs { docs } => {
            for d in docs {
                if let Some(m) = &d.message {
                    let _ = automerge::sync::Message::decode(m);
                }
            }
        }
        _ => {}
    }
}
