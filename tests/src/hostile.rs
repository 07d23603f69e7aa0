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

/// A sync message carrying `n` changes to `doc`, each adding `payload` bytes of text, written and
/// properly signed by `author` but citing `roster_heads` (which may not exist).
pub fn signed_changes_citing(
    holder: &Replica,
    author: &NodeKey,
    doc: &DocId,
    roster_heads: &[copnet_protocol::OpHash],
    n: usize,
    payload: usize,
) -> DocSyncMessage {
    use automerge::transaction::Transactable;
    let bytes = holder
        .store()
        .automerge_bytes(doc)
        .expect("store readable")
        .expect("holder has the document");
    let mut am = AutoCommit::load(&bytes)
        .expect("loads")
        .with_actor(ActorId::for_process(author.node_id()).to_automerge());
    let old_heads = am.get_heads();
    let mut changes = Vec::new();
    for i in 0..n {
        let text = format!("{i:08}").repeat(payload / 8);
        am.put(automerge::ROOT, format!("junk{i}"), text)
            .expect("puts");
        am.commit_with(CommitOptions::default().with_message(roster_heads_message(roster_heads)));
        changes.push(am.get_last_local_change().expect("a change").clone());
    }
    let message = Message {
        heads: am.get_heads(),
        need: vec![],
        have: vec![Have {
            last_sync: old_heads,
            bloom: Default::default(),
        }],
        changes: ChunkList::from(
            changes
                .iter()
                .map(|c| c.raw_bytes().to_vec())
                .collect::<Vec<_>>(),
        ),
        flags: None,
        version: MessageVersion::V1,
    };
    DocSyncMessage {
        doc: *doc,
        message: Some(message.encode()),
        signatures: changes
            .iter()
            .map(|c| (c.hash().0, author.sign(Domain::Change, &c.hash().0)))
            .collect(),
    }
}

/// A sync message whose one "change" is a compressed change chunk that inflates to `inflated`
/// bytes of zeros: a compression bomb.
pub fn compression_bomb(doc: &DocId, inflated: usize) -> DocSyncMessage {
    use std::io::Write;
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let block = vec![0u8; 1 << 20];
    for _ in 0..inflated / block.len() {
        enc.write_all(&block).expect("in memory");
    }
    let deflated = enc.finish().expect("in memory");
    let mut chunk = copnet_protocol::chunks::MAGIC.to_vec();
    chunk.extend_from_slice(&[0, 0, 0, 0, 2]);
    let mut len = deflated.len() as u64;
    loop {
        let b = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            chunk.push(b);
            break;
        }
        chunk.push(b | 0x80);
    }
    chunk.extend_from_slice(&deflated);
    let message = Message {
        heads: vec![],
        need: vec![],
        have: vec![],
        changes: ChunkList::from(vec![chunk]),
        flags: None,
        version: MessageVersion::V1,
    };
    DocSyncMessage {
        doc: *doc,
        message: Some(message.encode()),
        signatures: vec![],
    }
}

/// The peak resident memory of process `pid`, in bytes (Linux).
pub fn peak_rss(pid: u32) -> Option<u64> {
    proc_status_bytes(pid, "VmHWM")
}

/// A memory field of `/proc/PID/status` (`VmRSS`, `VmHWM`, …) in bytes.
pub fn proc_status_bytes(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status
        .lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
