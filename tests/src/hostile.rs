//! Building blocks of a hostile peer: sync messages that a correct node must refuse.

use automerge::sync::{ChunkList, Have, Message, MessageVersion};
use automerge::{AutoCommit, transaction::CommitOptions};
use copnet_node::replica::Replica;
use copnet_protocol::docs::Resource;
use copnet_protocol::validity::roster_heads_message;
use copnet_protocol::wire::DocSyncMessage;
use copnet_protocol::{ActorId, DocId, Domain, NodeKey};

/// A sync message carrying one change to resource `doc` — its title set to "Tampered" — written
/// under `author`'s actor id (bypassing every refusal of `holder`'s own node) and signed by
/// `signer`. `holder` must hold the document.
pub fn forged_message(
    holder: &Replica,
    author: &NodeKey,
    signer: &NodeKey,
    doc: &DocId,
) -> DocSyncMessage {
    let bytes = holder
        .store()
        .automerge_bytes(doc)
        .expect("store readable")
        .expect("holder has the document");
    let mut am = AutoCommit::load(&bytes)
        .expect("loads")
        .with_actor(ActorId::for_process(author.node_id()).to_automerge());
    let old_heads = am.get_heads();
    let mut r: Resource = autosurgeon::hydrate(&am).expect("a resource");
    r.title = "Tampered".into();
    autosurgeon::reconcile(&mut am, &r).expect("reconciles");
    am.commit_with(
        CommitOptions::default().with_message(roster_heads_message(&holder.roster_heads())),
    );
    let change = am.get_last_local_change().expect("a change");
    let message = Message {
        heads: vec![change.hash()],
        need: vec![],
        have: vec![Have {
            last_sync: old_heads,
            bloom: Default::default(),
        }],
        changes: ChunkList::from(vec![change.raw_bytes().to_vec()]),
        flags: None,
        version: MessageVersion::V1,
    };
    DocSyncMessage {
        doc: *doc,
        message: Some(message.encode()),
        signatures: vec![(
            change.hash().0,
            signer.sign(Domain::Change, &change.hash().0),
        )],
    }
}

/// Flips one bit near the end of a message's automerge payload.
pub fn tamper(mut msg: DocSyncMessage) -> DocSyncMessage {
    if let Some(bytes) = msg.message.as_mut() {
        let n = bytes.len();
        bytes[n - 3] ^= 0x20;
    }
    msg
}
