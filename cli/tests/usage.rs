//! The command line itself: help, version, and usage errors. (Also makes `cargo test` build the
//! `copnet` binary that the multi-process tests in `tests/` drive.)

use std::process::Command;

fn copnet(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_copnet"))
        .args(args)
        .env_remove("COPNET_DATA")
        .output()
        .expect("run copnet")
}

#[test]
fn help_lists_every_command_and_version_prints() {
    let out = copnet(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in [
        "init",
        "up",
        "status",
        "federation",
        "community",
        "resource",
        "consult",
        "event",
        "doctor",
    ] {
        assert!(help.contains(cmd), "--help lacks {cmd}:\n{help}");
    }
    let version = copnet(&["--version"]);
    assert!(String::from_utf8_lossy(&version.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn usage_errors_exit_2_with_a_hint() {
    let out = copnet(&["federation", "frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage"));
    let out = copnet(&["resource", "add", "--title", "x"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "missing required --community and --kind"
    );
}
