//! The benchmark workload plays against a real node: every step is a write the API accepts, and
//! the node ends up with exactly the documents the workload says.

use copnet_tests::workload::{Apply, Workload};
use copnet_tests::*;

#[test]
fn a_generated_workload_builds_its_documents_on_a_node() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let node = NodeProc::start(&dir.path().join("a"), "Bench agency")?;
    copnet_ok(&node.data, &["federation", "create", "Workload"])?;
    let workload = Workload::generate(11, 300);
    let ids = workload.apply(&node.api)?;
    assert_eq!(ids.len(), 300);
    assert_eq!(node.api.ok("/status")?["docs"], 300);
    // Threads and RSVPs landed in their documents.
    let consults = node.api.ok("/consults")?;
    let replies: usize = consults
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["replies"].as_array().map_or(0, Vec::len))
        .sum();
    let expected = workload
        .steps
        .iter()
        .filter(|s| matches!(s, copnet_tests::workload::Step::Reply { .. }))
        .count();
    assert!(expected > 0);
    assert_eq!(replies, expected, "{}", consults[0]);
    Ok(())
}
