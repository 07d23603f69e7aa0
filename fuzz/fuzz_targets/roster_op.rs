//! Roster ops. First byte: 0 = the input is a `SignedRosterOp` off the wire (verified, then
//! inserted into a founded log); 1 = the input is an op payload, signed here by a fixed key so
//! that decoding, the canonical-encoding check and the structure checks are reached; 2 = the
//! input is a script of ops (see `copnet_fuzz::Step`), signed by fixed keys and inserted in three
//! different orders, which must all reach the same roster state.
#![no_main]

use copnet_fuzz::{
    Step, check_roster_convergence, key, payload_signed, sign_script, verify_and_insert,
};
use copnet_protocol::{SignedRosterOp, wire};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            if let Ok(op) = wire::decode::<SignedRosterOp>(rest) {
                let again: SignedRosterOp = wire::decode(&wire::encode(&op)).expect("re-encodes");
                assert_eq!(again, op);
                verify_and_insert(&[op]);
            }
        }
        1 => {
            let op = payload_signed(&key(rest.len()), rest);
            if let Ok(v) = op.verify() {
                // Verified ops are canonical: the payload is exactly the op's encoding.
                assert_eq!(postcard::to_allocvec(&v.op).unwrap(), op.payload);
                verify_and_insert(&[op]);
            }
        }
        _ => {
            let Ok(steps) = postcard::from_bytes::<Vec<Step>>(rest) else {
                return;
            };
            if steps.len() > 48 {
                return;
            }
            let ops = sign_script(&steps);
            check_roster_convergence(&ops, rest.len());
        }
    }
});
