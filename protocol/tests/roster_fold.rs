//! The roster fold (DESIGN §3): membership rules, and determinism under any delivery order.

mod common;

use common::*;
use copnet_protocol::roster::Inserted;
use copnet_protocol::*;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

#[test]
fn removal_takes_effect_at_a_strict_majority_of_the_other_members() {
    let [a, b, c, d] = [0; 4].map(|_| NodeKey::generate());
    let (mut log, _) = found(&a);
    for k in [&b, &c, &d] {
        admit(&mut log, &a, k, Role::Member);
    }
    // Electorate for removing D: A, B, C. One vote of three is not a majority.
    let proposal = apply(
        &mut log,
        &a,
        RosterOpBody::ProposeRemoval {
            target: d.node_id(),
            reason: "unresponsive for a year".into(),
        },
    );
    assert!(log.state().is_active(&d.node_id()));
    // D cannot vote on its own removal.
    apply(&mut log, &d, RosterOpBody::Endorse { proposal });
    assert!(log.state().is_active(&d.node_id()));
    // Two of three is.
    apply(&mut log, &b, RosterOpBody::Endorse { proposal });
    let state = log.state();
    let entry = state.member(&d.node_id()).unwrap();
    assert_eq!(entry.status, MemberStatus::Removed);
    assert_eq!(
        entry.removal_reason.as_deref(),
        Some("unresponsive for a year")
    );
    // Removed nodes can do nothing further.
    apply(&mut log, &d, RosterOpBody::Leave);
    assert_eq!(
        log.state().member(&d.node_id()).unwrap().status,
        MemberStatus::Removed
    );
}

#[test]
fn leaving_sticks_and_only_a_new_invite_brings_a_node_back() {
    let [a, b] = [0; 2].map(|_| NodeKey::generate());
    let (mut log, _) = found(&a);
    admit(&mut log, &a, &b, Role::Member);
    apply(&mut log, &b, RosterOpBody::Leave);
    assert_eq!(
        log.state().member(&b.node_id()).unwrap().status,
        MemberStatus::Left
    );
    // B's own ops after leaving are skipped: it cannot re-admit itself or invite.
    apply(
        &mut log,
        &b,
        RosterOpBody::Invite {
            invite_key: [5; 32],
            role: Role::Member,
            expires_at_ms: 0,
        },
    );
    assert!(log.state().invite(&[5; 32]).is_none());
    admit(&mut log, &a, &b, Role::Peripheral);
    let state = log.state();
    let entry = state.member(&b.node_id()).unwrap();
    assert_eq!(
        (entry.status, entry.role),
        (MemberStatus::Active, Role::Peripheral)
    );
}

#[test]
fn an_invite_admits_once() {
    let [a, b, c] = [0; 3].map(|_| NodeKey::generate());
    let (mut log, fed) = found(&a);
    let invite = NodeKey::generate();
    let invite_key = *invite.node_id().as_bytes();
    apply(
        &mut log,
        &a,
        RosterOpBody::Invite {
            invite_key,
            role: Role::Member,
            expires_at_ms: u64::MAX,
        },
    );
    for joiner in [&b, &c] {
        let proof = invite.sign(
            Domain::Invite,
            &roster::invite_proof_message(&fed, &joiner.node_id()),
        );
        apply(
            &mut log,
            &a,
            RosterOpBody::Admit {
                invite_key,
                joiner: joiner.node_id(),
                profile: profile("x"),
                proof,
            },
        );
    }
    let state = log.state();
    assert!(state.is_active(&b.node_id()));
    assert!(
        state.member(&c.node_id()).is_none(),
        "second use of the invite was skipped"
    );
}

#[test]
fn a_revoked_invite_admits_no_one_and_only_its_issuer_can_revoke_it() {
    let [a, b, joiner] = [0; 3].map(|_| NodeKey::generate());
    let (mut log, fed) = found(&a);
    admit(&mut log, &a, &b, Role::Member);
    let invite = NodeKey::generate();
    let invite_key = *invite.node_id().as_bytes();
    apply(
        &mut log,
        &a,
        RosterOpBody::Invite {
            invite_key,
            role: Role::Member,
            expires_at_ms: u64::MAX,
        },
    );
    // B did not issue it: its revocation is skipped and the invite stays open.
    apply(&mut log, &b, RosterOpBody::RevokeInvite { invite_key });
    assert!(!log.state().invite(&invite_key).unwrap().revoked);
    apply(&mut log, &a, RosterOpBody::RevokeInvite { invite_key });
    assert!(log.state().invite(&invite_key).unwrap().revoked);
    let proof = invite.sign(
        Domain::Invite,
        &roster::invite_proof_message(&fed, &joiner.node_id()),
    );
    apply(
        &mut log,
        &b,
        RosterOpBody::Admit {
            invite_key,
            joiner: joiner.node_id(),
            profile: profile("Late"),
            proof,
        },
    );
    assert!(
        log.state().member(&joiner.node_id()).is_none(),
        "an admit citing a revoked invite is skipped"
    );
}

#[test]
fn an_admit_without_the_invite_secret_is_refused() {
    let [a, b] = [0; 2].map(|_| NodeKey::generate());
    let (log, _) = found(&a);
    let forged = op(
        &log,
        &a,
        RosterOpBody::Admit {
            invite_key: *NodeKey::generate().node_id().as_bytes(),
            joiner: b.node_id(),
            profile: profile("x"),
            proof: Signature([0; 64]),
        },
    );
    assert!(matches!(forged.verify(), Err(RosterError::Structure(_))));
}

#[test]
fn peripheral_nodes_cannot_invite_or_propose() {
    let [a, p, x] = [0; 3].map(|_| NodeKey::generate());
    let (mut log, _) = found(&a);
    admit(&mut log, &a, &p, Role::Peripheral);
    apply(
        &mut log,
        &p,
        RosterOpBody::ProposeRemoval {
            target: a.node_id(),
            reason: "coup".into(),
        },
    );
    assert!(log.state().proposals.is_empty());
    let before = log.state().members.len();
    admit(&mut log, &p, &x, Role::Member);
    assert_eq!(log.state().members.len(), before);
}

#[test]
fn tampered_or_misattributed_roster_ops_are_refused() {
    let [a, b] = [0; 2].map(|_| NodeKey::generate());
    let (log, _) = found(&a);
    let good = op(&log, &a, RosterOpBody::Leave);
    let mut tampered = good.clone();
    *tampered.payload.last_mut().unwrap() ^= 1;
    assert_eq!(tampered.verify().unwrap_err(), RosterError::BadSignature);
    let mut misattributed = good.clone();
    misattributed.author = b.node_id();
    assert_eq!(
        misattributed.verify().unwrap_err(),
        RosterError::BadSignature
    );
    let huge = SignedRosterOp {
        payload: vec![0; MAX_ROSTER_OP_BYTES + 1],
        ..good
    };
    assert!(matches!(huge.verify(), Err(RosterError::TooLarge(_))));
}

#[test]
fn ops_by_keys_outside_the_roster_are_refused_before_they_are_kept() {
    let [a, b, outsider] = [0; 3].map(|_| NodeKey::generate());
    let (mut log, _) = found(&a);
    let before = log.len();
    // Well signed, citing real heads, but by a key the roster never admitted: refused, not kept,
    // so nobody can grow every node's roster log with junk.
    let junk = op(&log, &outsider, RosterOpBody::Leave);
    assert_eq!(
        log.insert(junk.verify().unwrap()),
        Err(RosterError::UnknownAuthor)
    );
    assert_eq!(log.len(), before);
    assert!(log.get(&junk.hash()).is_none());
    // The same key once admitted writes ops that are kept, even if the fold skips them.
    admit(&mut log, &a, &b, Role::Peripheral);
    let by_peripheral = op(&log, &b, RosterOpBody::Leave);
    assert!(log.insert(by_peripheral.verify().unwrap()).is_ok());
    // An op whose parents arrive later is judged when they do: junk waiting on a real op is
    // dropped then, and never becomes part of the roster.
    let mut other = RosterLog::new(log.federation());
    let ordered: Vec<_> = log
        .ops_in_order()
        .into_iter()
        .map(|o| o.signed.clone())
        .collect();
    let late_junk = op(&log, &outsider, RosterOpBody::Leave);
    assert!(matches!(
        other.insert(late_junk.verify().unwrap()),
        Ok(Inserted::Waiting(_))
    ));
    for o in ordered {
        other.insert(o.verify().unwrap()).unwrap();
    }
    assert!(!other.has(&late_junk.hash()));
    assert_eq!(other.heads(), log.heads());
}

/// Builds a random roster history: each op is written by a random (usually active) node citing
/// the heads of a random prefix of the history, i.e. a state that node could have seen. Many ops
/// are invalid at their point in the fold, on purpose.
fn random_history(seed: u64, len: usize) -> (FederationId, Vec<SignedRosterOp>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let keys: Vec<NodeKey> = (0..6)
        .map(|i| NodeKey::from_secret_bytes([seed as u8 ^ (i as u8 + 1); 32]))
        .collect();
    let invites: Vec<NodeKey> = (0..6)
        .map(|i| NodeKey::from_secret_bytes([0x80 | i as u8; 32]))
        .collect();
    let (mut log, fed) = found(&keys[0]);
    let mut ops = vec![log.ops_in_order()[0].signed.clone()];
    let mut proposals = vec![];
    for _ in 0..len {
        let state = log.state();
        let active: Vec<&NodeKey> = keys
            .iter()
            .filter(|k| state.is_active(&k.node_id()))
            .collect();
        let author = if rng.random_bool(0.85) && !active.is_empty() {
            active[rng.random_range(0..active.len())]
        } else {
            &keys[rng.random_range(0..keys.len())]
        };
        let target = keys[rng.random_range(0..keys.len())].node_id();
        let invite = &invites[rng.random_range(0..invites.len())];
        let role = if rng.random_bool(0.7) {
            Role::Member
        } else {
            Role::Peripheral
        };
        let body = match rng.random_range(0..8) {
            0 | 1 => RosterOpBody::Invite {
                invite_key: *invite.node_id().as_bytes(),
                role,
                expires_at_ms: 0,
            },
            2 | 3 => RosterOpBody::Admit {
                invite_key: *invite.node_id().as_bytes(),
                joiner: target,
                profile: profile("joiner"),
                proof: invite.sign(Domain::Invite, &roster::invite_proof_message(&fed, &target)),
            },
            4 => RosterOpBody::Leave,
            5 => RosterOpBody::ProposeRemoval {
                target,
                reason: "r".into(),
            },
            6 if !proposals.is_empty() => RosterOpBody::Endorse {
                proposal: proposals[rng.random_range(0..proposals.len())],
            },
            6 => RosterOpBody::SetRole { target, role },
            _ => RosterOpBody::UpdateProfile {
                profile: profile(&format!("org {}", rng.random_range(0..100))),
            },
        };
        // Heads of a random prefix: what an author that had not yet heard of the rest saw.
        let k = rng.random_range(1..=ops.len());
        let mut prefix = RosterLog::new(fed);
        for o in &ops[..k] {
            prefix.insert(o.verify().unwrap()).unwrap();
        }
        let signed = RosterOp {
            federation: Some(fed),
            author: author.node_id(),
            parents: prefix.heads(),
            created_at_ms: 0,
            body,
        }
        .sign(author);
        if matches!(
            signed.verify().unwrap().op.body,
            RosterOpBody::ProposeRemoval { .. }
        ) {
            proposals.push(signed.hash());
        }
        // An op by a key the roster never knew is refused outright; the history goes on without it.
        match log.insert(signed.verify().unwrap()) {
            Ok(_) => ops.push(signed),
            Err(roster::RosterError::UnknownAuthor) => {
                assert!(
                    log.state().member(&author.node_id()).is_none() || k < ops.len(),
                    "a known author was refused"
                );
            }
            Err(e) => panic!("{e}"),
        }
    }
    (fed, ops)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// Same ops, any order, any duplication: same roster, same heads.
    #[test]
    fn the_fold_is_independent_of_delivery_order(
        seed in any::<u64>(),
        len in 5usize..40,
        delivery_seed in any::<u64>(),
    ) {
        let (fed, ops) = random_history(seed, len);
        let mut canonical = RosterLog::new(fed);
        for o in &ops {
            canonical.insert(o.verify().unwrap()).unwrap();
        }

        let mut rng = StdRng::seed_from_u64(delivery_seed);
        let mut delivery: Vec<&SignedRosterOp> = ops
            .iter()
            .flat_map(|o| std::iter::repeat_n(o, rng.random_range(1..=3)))
            .collect();
        for i in (1..delivery.len()).rev() {
            delivery.swap(i, rng.random_range(0..=i));
        }
        let mut shuffled = RosterLog::new(fed);
        let mut duplicates = 0;
        for o in delivery {
            if shuffled.insert(o.verify().unwrap()).unwrap() == Inserted::Duplicate {
                duplicates += 1;
            }
        }

        let distinct: std::collections::BTreeSet<_> = ops.iter().map(|o| o.hash()).collect();
        prop_assert!(duplicates > 0 || distinct.len() == ops.len());
        prop_assert_eq!(shuffled.len(), distinct.len(), "every op eventually joins");
        prop_assert_eq!(canonical.len(), distinct.len());
        prop_assert_eq!(shuffled.heads(), canonical.heads());
        prop_assert_eq!(&*shuffled.state(), &*canonical.state());
        let order = |l: &RosterLog| l.ops_in_order().iter().map(|o| o.hash).collect::<Vec<_>>();
        prop_assert_eq!(order(&shuffled), order(&canonical));
        // The state at the current heads is the current state.
        let at_heads = shuffled.state_at(&shuffled.heads()).unwrap();
        prop_assert_eq!(&*at_heads, &*canonical.state());
    }
}
