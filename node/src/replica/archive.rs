//! Getting a community's knowledge out and back in.
//!
//! An export holds, for every document of a community, the document as a standard automerge file
//! (what `Automerge::save` writes; any automerge implementation loads it), the signature of every
//! change in it, and a readable JSON rendering; plus the signed roster ops that say who could
//! write when. Import trusts none of it: every change must carry a signature that verifies and an
//! author who could write at the roster heads the change cites — the same rule as sync. The JSON
//! renderings are for people and are ignored on import. Every document is verified before any is
//! stored, so a tampered export writes nothing (genuine roster ops it carries are kept: they are
//! signed facts). Documents are then stored one by one, each atomically; should one fail at that
//! point (a storage error), those before it stay imported and importing again completes the rest.

use std::collections::HashMap;

use automerge::{Automerge, ChangeHash, ReadDoc};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use copnet_protocol::{
    ChangeRejection, DocId, DocKind, FederationId, NodeId, Signature, SignedChange, SignedRosterOp,
    Verdict, validate_change,
};
use serde::{Deserialize, Serialize};

use super::{Replica, ReplicaError, ReplicaEvent, Result, now_ms};
use crate::store::WriteBatch;

/// The export format this build writes and reads.
pub const EXPORT_FORMAT: &str = "copnet-export/1";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Export {
    pub format: String,
    pub federation: FederationId,
    pub community: DocId,
    pub exported_at: String,
    pub exported_by: NodeId,
    /// Signed roster ops, postcard-encoded, base64.
    pub roster: Vec<String>,
    pub documents: Vec<ExportedDoc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedDoc {
    pub id: DocId,
    /// The automerge file, base64.
    pub automerge: String,
    pub signatures: Vec<ExportedSignature>,
    /// The document as JSON, for reading. Not trusted on import.
    pub view: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedSignature {
    /// The change hash, hex.
    pub change: String,
    pub author: NodeId,
    /// ed25519 signature over the `copnet/change/v1` domain and the change hash, hex.
    pub signature: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub documents: usize,
    pub new_documents: usize,
    pub new_changes: usize,
    pub roster_ops: usize,
}

fn refused(why: impl Into<String>) -> ReplicaError {
    ReplicaError::Input(crate::validate::InputError(format!(
        "import refused: {}",
        why.into()
    )))
}

impl Replica {
    /// Every document of a community, with its signatures and the roster.
    pub fn export_community(&self, community: &DocId) -> Result<Export> {
        if community.kind() != DocKind::Community {
            return Err(
                crate::validate::InputError(format!("{community} is not a community id")).into(),
            );
        }
        self.require(community)?;
        let federation = self.federation_id().ok_or(ReplicaError::NoFederation)?;
        let mut ids = vec![*community];
        ids.extend(
            self.store
                .docs_in_community(community)?
                .into_iter()
                .filter(|id| id != community),
        );
        let mut documents = Vec::new();
        for id in ids {
            let Some(bytes) = self.store.automerge_bytes(&id)? else {
                continue;
            };
            let doc = Automerge::load(&bytes).map_err(|e| ReplicaError::Damaged {
                id,
                why: e.to_string(),
            })?;
            let mut signatures = Vec::new();
            for change in doc.get_changes(&[]) {
                let hash = change.hash();
                let stored =
                    self.store
                        .change(&id, &hash.0)?
                        .ok_or_else(|| ReplicaError::Damaged {
                            id,
                            why: format!("no signature stored for change {hash}"),
                        })?;
                let author = copnet_protocol::ActorId::from_automerge(change.actor_id())
                    .ok_or_else(|| ReplicaError::Damaged {
                        id,
                        why: format!("change {hash} has no author key"),
                    })?
                    .node();
                signatures.push(ExportedSignature {
                    change: hash.to_string(),
                    author,
                    signature: hex::encode(stored.signed.signature.0),
                });
            }
            documents.push(ExportedDoc {
                id,
                automerge: B64.encode(doc.save()),
                signatures,
                view: self.get(&id)?.view,
            });
        }
        let roster = self
            .roster_ops()
            .iter()
            .map(|op| B64.encode(postcard::to_allocvec(op).expect("roster ops encode")))
            .collect();
        Ok(Export {
            format: EXPORT_FORMAT.into(),
            federation,
            community: *community,
            exported_at: crate::views::rfc3339(now_ms()),
            exported_by: self.node_id,
            roster,
            documents,
        })
    }

    /// Verifies a whole export, then loads what this node does not have yet.
    pub fn import(&self, export: Export) -> Result<ImportReport> {
        if export.format != EXPORT_FORMAT {
            return Err(refused(format!(
                "unknown export format {:?}; this build reads {EXPORT_FORMAT}",
                export.format
            )));
        }
        let federation = self.federation_id().ok_or(ReplicaError::NoFederation)?;
        if export.federation != federation {
            return Err(refused(format!(
                "the export is of federation {}, but this node belongs to {federation}",
                export.federation
            )));
        }
        // The roster first: every op verified before any is applied.
        let mut ops = Vec::new();
        for (i, text) in export.roster.iter().enumerate() {
            let op: SignedRosterOp = B64
                .decode(text)
                .ok()
                .and_then(|b| postcard::from_bytes(&b).ok())
                .ok_or_else(|| refused(format!("roster op {i} does not decode")))?;
            op.verify()
                .map_err(|e| refused(format!("roster op {i}: {e}")))?;
            ops.push(op);
        }
        let roster_ops = self.apply_roster_ops(ops)?;

        // A node that has left keeps what its role let it hold: that is how an agency keeps its
        // knowledge after leaving (`federation leave --purge`, then import its export).
        let own_role = self
            .roster_state()
            .and_then(|st| st.member(&self.node_id).map(|m| m.role))
            .ok_or(ReplicaError::NotActive)?;
        let mut report = ImportReport {
            roster_ops,
            ..ImportReport::default()
        };
        // Verify every document before storing any.
        let mut staged = Vec::new();
        for exported in &export.documents {
            let id = exported.id;
            let bytes = B64
                .decode(&exported.automerge)
                .map_err(|_| refused(format!("{id}: the automerge file is not base64")))?;
            // An import is as untrusted as a peer: bounded inflation, and automerge's panics
            // caught.
            copnet_protocol::chunks::check([&bytes[..]])
                .map_err(|e| refused(format!("{id}: the automerge file is refused ({e})")))?;
            let scratch = copnet_protocol::chunks::guarded(|| {
                Automerge::load(&bytes).map_err(|e| e.to_string())
            })
            .map_err(|e| refused(format!("{id}: the automerge file does not load ({e})")))?;
            let signatures: HashMap<String, &ExportedSignature> = exported
                .signatures
                .iter()
                .map(|s| (s.change.clone(), s))
                .collect();
            let mut verified: Vec<(ChangeHash, SignedChange, NodeId)> = Vec::new();
            {
                let guard = self.roster_read();
                let log = guard.as_ref().ok_or(ReplicaError::NoFederation)?;
                for change in scratch.get_changes(&[]) {
                    let hash = change.hash();
                    let sig = signatures
                        .get(&hash.to_string())
                        .and_then(|s| hex::decode(&s.signature).ok())
                        .and_then(|b| <[u8; 64]>::try_from(b).ok())
                        .ok_or_else(|| {
                            refused(format!("{id}: change {hash} has no valid signature"))
                        })?;
                    let signed = SignedChange {
                        bytes: change.raw_bytes().to_vec(),
                        signature: Signature(sig),
                    };
                    match validate_change(&signed, Some(&hash), log) {
                        Ok(Verdict::Valid(v)) => verified.push((hash, signed, v.author)),
                        Ok(Verdict::Pending { .. }) => {
                            return Err(refused(format!(
                                "{id}: change {hash} cites roster history the export does not carry"
                            )));
                        }
                        Err(e) => return Err(refused(format!("{id}: change {hash}: {e}"))),
                    }
                }
            }
            // The document rule too, against what this node holds now; repeated under the writer
            // lock below, when the document may have moved on through sync.
            let canonical = self.load_automerge(&id)?;
            let mut candidate = canonical.clone();
            candidate
                .apply_changes(scratch.get_changes(&[]))
                .map_err(|e| refused(format!("{id}: {e}")))?;
            self.check_and_index(&id, own_role, &canonical, &candidate)
                .map_err(|e| match e {
                    ReplicaError::Rejected(_) | ReplicaError::Forbidden(_) => {
                        refused(format!("{id}: {e}"))
                    }
                    other => other,
                })?;
            staged.push((id, scratch, verified));
        }

        for (id, scratch, verified) in staged {
            let (new, ticket, audience) = {
                let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
                let canonical = self.load_automerge(&id)?;
                let fresh: Vec<&(ChangeHash, SignedChange, NodeId)> = verified
                    .iter()
                    .filter(|(h, _, _)| canonical.get_change_by_hash(h).is_none())
                    .collect();
                if fresh.is_empty() {
                    (0, None, None)
                } else {
                    let mut candidate = canonical.clone();
                    candidate
                        .apply_changes(scratch.get_changes(&[]))
                        .map_err(|e| refused(format!("{id}: {e}")))?;
                    let entry = self
                        .check_and_index(&id, own_role, &canonical, &candidate)
                        .map_err(|e| match e {
                            ReplicaError::Rejected(ChangeRejection::DocumentRule(why)) => {
                                refused(format!("{id}: {why}"))
                            }
                            other => other,
                        })?;
                    let is_new = canonical.get_heads().is_empty();
                    let ticket = self.store_remote(
                        WriteBatch::new(),
                        &entry,
                        &candidate,
                        fresh.iter().copied(),
                    )?;
                    report.new_documents += usize::from(is_new);
                    (fresh.len(), Some(ticket), Some(entry.audience))
                }
            };
            if let Some(t) = ticket {
                self.store.wait_durable(t)?;
            }
            if let Some(a) = audience {
                self.emit(ReplicaEvent::DocChanged(id, a));
            }
            report.documents += 1;
            report.new_changes += new;
        }
        Ok(report)
    }
}
