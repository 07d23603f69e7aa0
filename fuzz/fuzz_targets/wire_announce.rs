//! Gossip announcements, which any peer on the topic can publish.
#![no_main]

use copnet_protocol::wire::{self, Announce};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = wire::decode::<Announce>(data) {
        let again: Announce = wire::decode(&wire::encode(&a)).expect("re-encodes");
        assert_eq!(again, a);
        let _ = wire::announce_topic(&a.federation);
    }
});
