//! Automerge sync messages as a node receives them inside `DocSyncMessage`: decode, bound the
//! inflation of every compressed part (`chunks::check`), load every chunk, then let a document
//! receive the message and answer. First byte: 0 = the input is an encoded sync message; 1 = the
//! input is one change-list entry (a saved document or changes back to back), skipping the
//! message framing.
#![no_main]

use automerge::sync::{Message, MessageVersion};
use copnet_fuzz::receive;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    copnet_fuzz::guard(|| run(data));
});

fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let message = if mode % 2 == 0 {
        match Message::decode(rest) {
            Ok(m) => m,
            Err(_) => return,
        }
    } else {
        Message {
            heads: vec![],
            need: vec![],
            have: vec![],
            changes: rest.to_vec().into(),
            flags: None,
            version: MessageVersion::V2,
        }
    };
    let _ = receive(message);
}
