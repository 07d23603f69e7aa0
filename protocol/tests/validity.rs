//! The change validity rule (DESIGN §4): what a node accepts and what it refuses.

mod common;

use common::*;
use copnet_protocol::*;

#[test]
fn a_members_signed_change_is_valid() {
    let founder = NodeKey::generate();
    let (log, fed) = found(&founder);
    let (change, signed) = resource_change(&founder, fed, &log.heads());
    match validate_change(&signed, Some(&change.hash()), &log).unwrap() {
        Verdict::Valid(v) => {
            assert_eq!(v.author, founder.node_id());
            assert_eq!(v.roster_heads, log.heads());
        }
        other => panic!("expected valid, got {other:?}"),
    }
}

#[test]
fn tampered_change_bytes_are_rejected() {
    let founder = NodeKey::generate();
    let (log, fed) = found(&founder);
    let (change, signed) = resource_change(&founder, fed, &log.heads());
    // Flip each byte of the body in turn: every variant must be refused, whether it no longer
    // decodes, hashes to something else, or fails the signature.
    let mut refused = 0;
    for i in 8..signed.bytes.len() {
        let mut t = signed.clone();
        t.bytes[i] ^= 0x01;
        let verdict = validate_change(&t, None, &log);
        assert!(
            !matches!(verdict, Ok(Verdict::Valid(_))),
            "flipping byte {i} produced a valid change"
        );
        refused += 1;
        // With the claimed hash, a change that still decodes is caught as a mismatch.
        assert!(validate_change(&t, Some(&change.hash()), &log).is_err());
    }
    assert!(refused > 50);
}

#[test]
fn a_change_signed_by_another_key_is_rejected() {
    let founder = NodeKey::generate();
    let (log, fed) = found(&founder);
    let (change, mut signed) = resource_change(&founder, fed, &log.heads());
    let impostor = NodeKey::generate();
    signed.signature = impostor.sign(Domain::Change, &change.hash().0);
    assert_eq!(
        validate_change(&signed, None, &log).unwrap_err(),
        ChangeRejection::BadSignature
    );
}

#[test]
fn a_signature_from_another_domain_is_rejected() {
    let founder = NodeKey::generate();
    let (log, fed) = found(&founder);
    let (change, mut signed) = resource_change(&founder, fed, &log.heads());
    // The author's own key, over the right hash, but as a roster signature.
    signed.signature = founder.sign(Domain::Roster, &change.hash().0);
    assert_eq!(
        validate_change(&signed, None, &log).unwrap_err(),
        ChangeRejection::BadSignature
    );
}

#[test]
fn a_change_by_a_non_member_is_rejected_even_if_well_signed() {
    let founder = NodeKey::generate();
    let (log, fed) = found(&founder);
    let outsider = NodeKey::generate();
    let (_, signed) = resource_change(&outsider, fed, &log.heads());
    assert_eq!(
        validate_change(&signed, None, &log).unwrap_err(),
        ChangeRejection::NotAWriter(outsider.node_id())
    );
}

#[test]
fn a_peripheral_nodes_change_is_rejected() {
    let founder = NodeKey::generate();
    let (mut log, fed) = found(&founder);
    let peripheral = NodeKey::generate();
    admit(&mut log, &founder, &peripheral, Role::Peripheral);
    assert!(log.state().is_active(&peripheral.node_id()));
    let (_, signed) = resource_change(&peripheral, fed, &log.heads());
    assert_eq!(
        validate_change(&signed, None, &log).unwrap_err(),
        ChangeRejection::NotAWriter(peripheral.node_id())
    );
}

#[test]
fn validity_is_judged_at_the_cited_roster_state() {
    let founder = NodeKey::generate();
    let (mut log, fed) = found(&founder);
    let member = NodeKey::generate();
    admit(&mut log, &founder, &member, Role::Member);
    let while_member = log.heads();
    apply(&mut log, &member, RosterOpBody::Leave);
    // Written before leaving, citing the state where it was a member: still valid.
    let (_, before) = resource_change(&member, fed, &while_member);
    assert!(matches!(
        validate_change(&before, None, &log).unwrap(),
        Verdict::Valid(_)
    ));
    // Written citing the state after leaving: invalid.
    let (_, after) = resource_change(&member, fed, &log.heads());
    assert!(matches!(
        validate_change(&after, None, &log).unwrap_err(),
        ChangeRejection::NotAWriter(_)
    ));
}

#[test]
fn a_change_citing_unknown_roster_heads_is_pending_not_rejected() {
    let founder = NodeKey::generate();
    let (log, fed) = found(&founder);
    let unknown = OpHash([9; 32]);
    let (_, signed) = resource_change(&founder, fed, &[unknown]);
    match validate_change(&signed, None, &log).unwrap() {
        Verdict::Pending { missing, .. } => assert_eq!(missing, vec![unknown]),
        other => panic!("expected pending, got {other:?}"),
    }
}

#[test]
fn the_header_is_immutable_and_names_its_creator() {
    use copnet_protocol::docs::{Audience, Header, SCHEMA_VERSION};
    use copnet_protocol::validity::check_document_rule;
    let author = NodeKey::generate().node_id();
    let fed = FederationId([3; 32]);
    let id = DocId::random(DocKind::Consult);
    let header = Header {
        id,
        kind: DocKind::Consult,
        federation: fed,
        community: DocId::random(DocKind::Community),
        audience: Audience::Members,
        creator: author,
        schema_version: SCHEMA_VERSION,
        created_at_ms: 5,
    };
    assert!(check_document_rule(&id, &fed, &author, None, Some(&header)).is_ok());
    let other = NodeKey::generate().node_id();
    assert!(check_document_rule(&id, &fed, &other, None, Some(&header)).is_err());
    let mut widened = header.clone();
    widened.audience = Audience::Federation;
    assert!(check_document_rule(&id, &fed, &author, Some(&header), Some(&widened)).is_err());
    let elsewhere = DocId::random(DocKind::Consult);
    assert!(check_document_rule(&elsewhere, &fed, &author, None, Some(&header)).is_err());
}
