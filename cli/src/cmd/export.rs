//! `copnet export` and `copnet import`: a community's documents as files on disk.
//!
//! ```text
//! DIR/manifest.json               what is in the export, and for whom
//! DIR/roster.json                 the federation's signed roster ops (base64)
//! DIR/documents/<id>.automerge    each document as a standard automerge file
//! DIR/documents/<id>.signatures.json   the signature of every change in it
//! DIR/documents/<id>.json         a readable rendering (ignored on import)
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use crate::client::{Client, segment};

#[derive(clap::Args)]
pub struct ExportArgs {
    /// The community to export
    #[arg(long)]
    community: String,
    /// A new (or empty) directory to write to
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
pub struct ImportArgs {
    /// A directory written by `copnet export`
    dir: PathBuf,
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

fn pretty(v: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).expect("JSON values serialise");
    out.push(b'\n');
    out
}

pub async fn export(data: &Path, args: ExportArgs) -> anyhow::Result<()> {
    let client = Client::connect(data)?;
    if args.out.exists()
        && std::fs::read_dir(&args.out)
            .with_context(|| format!("cannot read {}", args.out.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} is not empty; export into a new directory",
            args.out.display()
        );
    }
    let v = client
        .get(&format!("/communities/{}/export", segment(&args.community)))
        .await?;
    // An export can hold members-only consults: readable by this user only.
    let docs_dir = args.out.join("documents");
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(&docs_dir)
        .with_context(|| format!("cannot create {}", docs_dir.display()))?;
    let documents = v["documents"].as_array().cloned().unwrap_or_default();
    let mut listed = Vec::new();
    for d in &documents {
        let id = d["id"].as_str().context("an exported document has no id")?;
        if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            bail!("the node sent a document id that is not a file name: {id:?}");
        }
        let bytes = B64
            .decode(d["automerge"].as_str().unwrap_or(""))
            .context("the node sent a document that is not base64")?;
        write(&docs_dir.join(format!("{id}.automerge")), &bytes)?;
        write(
            &docs_dir.join(format!("{id}.signatures.json")),
            &pretty(&d["signatures"]),
        )?;
        write(&docs_dir.join(format!("{id}.json")), &pretty(&d["view"]))?;
        listed.push(json!(id));
    }
    write(&args.out.join("roster.json"), &pretty(&v["roster"]))?;
    let manifest = json!({
        "format": v["format"],
        "federation": v["federation"],
        "community": v["community"],
        "exported_at": v["exported_at"],
        "exported_by": v["exported_by"],
        "documents": listed,
    });
    write(&args.out.join("manifest.json"), &pretty(&manifest))?;
    println!(
        "exported {} documents of {} to {}",
        documents.len(),
        args.community.trim(),
        args.out.display()
    );
    Ok(())
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is not valid JSON", path.display()))
}

pub async fn import(data: &Path, args: ImportArgs) -> anyhow::Result<()> {
    let client = Client::connect(data)?;
    let manifest = read_json(&args.dir.join("manifest.json")).with_context(|| {
        format!(
            "{} does not look like a copnet export (it needs manifest.json)",
            args.dir.display()
        )
    })?;
    let roster = read_json(&args.dir.join("roster.json"))?;
    let mut documents = Vec::new();
    for id in manifest["documents"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let id = id
            .as_str()
            .filter(|id| id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .context("manifest.json lists a document id that is not a file name")?;
        let dir = args.dir.join("documents");
        let bytes = std::fs::read(dir.join(format!("{id}.automerge")))
            .with_context(|| format!("cannot read the document file of {id}"))?;
        let signatures = read_json(&dir.join(format!("{id}.signatures.json")))?;
        documents.push(json!({
            "id": id,
            "automerge": B64.encode(bytes),
            "signatures": signatures,
            "view": Value::Null,
        }));
    }
    let body = json!({
        "format": manifest["format"],
        "federation": manifest["federation"],
        "community": manifest["community"],
        "exported_at": manifest["exported_at"],
        "exported_by": manifest["exported_by"],
        "roster": roster,
        "documents": documents,
    });
    let r = client.post("/import", &body).await?;
    println!(
        "verified {} documents: {} new, {} new changes",
        r["documents"], r["new_documents"], r["new_changes"]
    );
    Ok(())
}
