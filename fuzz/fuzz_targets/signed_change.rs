//! Signed changes and signatures. First byte: 0 = the input is a `SignedChange` (bytes and
//! signature), judged against a founded roster with no claimed hash and with a wrong one; 1 = the
//! input is change bytes, signed here when their actor names a fixed key, so the rule is reached
//! past the signature; 2 = `keys::verify` with an arbitrary key, domain, signature and message;
//! 3 = a `DocSyncMessage` (the envelope that carries signatures with a sync message).
#![no_main]

use automerge::{Change, ChangeHash};
use copnet_fuzz::{key_of, shared_log};
use copnet_protocol::chunks;
use copnet_protocol::wire::{self, DocSyncMessage};
use copnet_protocol::*;
use libfuzzer_sys::fuzz_target;

fn judge(signed: &SignedChange) {
    let log = shared_log();
    let verdict = validate_change(signed, None, log);
    if let Ok(Verdict::Valid(v)) = &verdict {
        assert!(log.state_at(&v.roster_heads).unwrap().can_write(&v.author));
        let wrong = ChangeHash([v.hash.0[0] ^ 1; 32]);
        assert!(matches!(
            validate_change(signed, Some(&wrong), log),
            Err(ChangeRejection::HashMismatch { .. })
        ));
        assert!(validate_change(signed, Some(&v.hash), log).is_ok());
    }
}

fuzz_target!(|data: &[u8]| {
    copnet_fuzz::guard(|| run(data));
});

fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            if let Ok(signed) = postcard::from_bytes::<SignedChange>(rest) {
                judge(&signed);
            }
        }
        1 => {
            // Known automerge findings aside (RESULTS.md: bundles that panic, spin or exhaust
            // memory), only bytes a node would hand to automerge: those `chunks::check` passes.
            if copnet_fuzz::tolerant() && chunks::check([rest]).is_err() {
                return;
            }
            let Ok(change) = Change::try_from(rest) else {
                return;
            };
            let Some(author) = ActorId::from_automerge(change.actor_id()) else {
                return;
            };
            let Some(k) = key_of(&author.node()) else {
                return;
            };
            let signed = SignedChange::sign(&change, &k);
            judge(&signed);
            // A signature over this change is never one over a roster op or an invite.
            let hash = change.hash();
            for other in [Domain::Roster, Domain::Invite, Domain::InviteToken] {
                assert!(keys::verify(&author.node(), other, &hash.0, &signed.signature).is_err());
            }
        }
        2 => {
            if rest.len() < 97 {
                return;
            }
            let pk: [u8; 32] = rest[..32].try_into().unwrap();
            let domain = [
                Domain::Change,
                Domain::Roster,
                Domain::Invite,
                Domain::InviteToken,
            ][rest[32] as usize % 4];
            let sig = Signature(rest[33..97].try_into().unwrap());
            let msg = &rest[97..];
            let by_key = keys::verify_with_key(&pk, domain, msg, &sig);
            if let Ok(id) = NodeId::from_public_key(pk) {
                assert_eq!(keys::verify(&id, domain, msg, &sig), by_key);
            }
        }
        _ => {
            if let Ok(m) = postcard::from_bytes::<DocSyncMessage>(rest) {
                let again: DocSyncMessage = wire::decode(&wire::encode(&m)).expect("re-encodes");
                assert_eq!(again, m);
                let author = copnet_fuzz::node(1);
                for (hash, sig) in &m.signatures {
                    let _ = keys::verify(&author, Domain::Change, hash, sig);
                }
            }
        }
    }
}
