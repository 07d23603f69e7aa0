//! `/copnet/join/1`, the one protocol open to peers outside the roster: requests (with the invite
//! proof checked as the admitting node does) and responses.
#![no_main]

use copnet_fuzz::{node, verify_and_insert};
use copnet_protocol::roster::invite_proof_message;
use copnet_protocol::wire::{self, JoinRequest, JoinResponse};
use copnet_protocol::{Domain, keys};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = wire::decode::<JoinRequest>(data) {
        let again: JoinRequest = wire::decode(&wire::encode(&req)).expect("re-encodes");
        assert_eq!(again, req);
        let _ = keys::verify_with_key(
            &req.invite_key,
            Domain::Invite,
            &invite_proof_message(&req.federation, &node(0)),
            &req.proof,
        );
    }
    if let Ok(resp) = wire::decode::<JoinResponse>(data) {
        let again: JoinResponse = wire::decode(&wire::encode(&resp)).expect("re-encodes");
        assert_eq!(again, resp);
        if let JoinResponse::Admitted { ops } = &resp {
            verify_and_insert(ops);
        }
    }
});
