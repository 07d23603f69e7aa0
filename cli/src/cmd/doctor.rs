use std::path::Path;

use anyhow::Context;
use copnet_node::datadir::DataDir;
use copnet_node::replica::Replica;
use copnet_node::store::Store;
use copnet_protocol::Profile;

#[derive(clap::Args)]
pub struct Args {
    /// Drop and rebuild every cache (documents, indexes) from the signed changes
    #[arg(long)]
    rebuild: bool,
}

pub async fn run(data: &Path, a: Args) -> anyhow::Result<()> {
    let dir = DataDir::new(data);
    let key = dir.load_key()?;
    let config = dir.load_config()?;
    let store =
        Store::open(&dir.store_path()).context("open the store (stop `copnet up` first)")?;
    let replica = Replica::open(
        key,
        Profile {
            org: config.org,
            sector: config.sector,
        },
        store,
    )?;
    if a.rebuild {
        let report = tokio::task::spawn_blocking(move || replica.rebuild()).await??;
        println!(
            "rebuilt {} documents from {} signed changes ({} invalid, {} waiting for roster ops)",
            report.documents, report.changes, report.invalid_changes, report.pending_changes
        );
    } else {
        let docs = replica.store().doc_count();
        let roster = replica.roster_state().map_or(0, |s| s.members.len());
        println!("store opens; {docs} documents; {roster} organisations in the roster");
    }
    Ok(())
}
