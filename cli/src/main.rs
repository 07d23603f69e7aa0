//! `copnet`: the node daemon (`copnet up`) and the client commands that talk to a running node
//! over its HTTP API. Argument parsing lives here; each subcommand has a file under `cmd/`.

mod client;
mod cmd;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// copnet: a federated peer-to-peer network for cross-agency Communities of Practice.
#[derive(Parser)]
#[command(name = "copnet", version, about, long_about = None)]
struct Cli {
    /// Data directory of the node [default: $XDG_DATA_HOME/copnet or ~/.local/share/copnet]
    #[arg(long, global = true, env = "COPNET_DATA", value_name = "DIR")]
    data: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a three-organisation demo federation with a seeded community, and print the
    /// addresses of its web interfaces
    Demo(cmd::demo::Args),
    /// Create this node's identity and configuration
    Init(cmd::init::Args),
    /// Run the node (initialising the data directory if needed)
    Up(cmd::up::Args),
    /// Show this node, its federation and its peers
    Status(cmd::status::Args),
    /// Create, inspect and manage the federation
    #[command(subcommand)]
    Federation(cmd::federation::Command),
    /// Communities of Practice
    #[command(subcommand)]
    Community(cmd::community::Command),
    /// The shared repertoire: tools, policies, program models, research, trainings, templates
    #[command(subcommand)]
    Resource(cmd::resource::Command),
    /// Case consults: a de-identified case, a key question, and peers' replies
    #[command(subcommand)]
    Consult(cmd::consult::Command),
    /// Community events: calls, webinars, meetings
    #[command(subcommand)]
    Event(cmd::event::Command),
    /// Sign-in accounts for the web interface on this node
    #[command(subcommand)]
    Account(cmd::account::Command),
    /// Value-creation stories: what taking part led to
    #[command(subcommand)]
    Story(cmd::story::Command),
    /// Check-ins and surveys: short instruments whose responses stay on this node
    #[command(subcommand)]
    Survey(cmd::survey::Command),
    /// The facilitator report of a community, as text, JSON or CSV
    Report(cmd::report::Args),
    /// Search everything this node holds
    Search(cmd::search::Args),
    /// Write a community's documents to a directory, as automerge files with their signatures
    Export(cmd::export::ExportArgs),
    /// Verify and load a directory written by `copnet export`
    Import(cmd::export::ImportArgs),
    /// Check the store, or rebuild its caches from the signed changes (node must be stopped)
    Doctor(cmd::doctor::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let data = cli
        .data
        .unwrap_or_else(copnet_node::config::default_data_dir);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Demo(a) => cmd::demo::run(a).await,
            Command::Init(a) => cmd::init::run(&data, a),
            Command::Up(a) => cmd::up::run(&data, a).await,
            Command::Status(a) => cmd::status::run(&data, a).await,
            Command::Federation(c) => cmd::federation::run(&data, c).await,
            Command::Community(c) => cmd::community::run(&data, c).await,
            Command::Resource(c) => cmd::resource::run(&data, c).await,
            Command::Consult(c) => cmd::consult::run(&data, c).await,
            Command::Event(c) => cmd::event::run(&data, c).await,
            Command::Account(c) => cmd::account::run(&data, c).await,
            Command::Story(c) => cmd::story::run(&data, c).await,
            Command::Survey(c) => cmd::survey::run(&data, c).await,
            Command::Report(a) => cmd::report::run(&data, a).await,
            Command::Search(a) => cmd::search::run(&data, a).await,
            Command::Export(a) => cmd::export::export(&data, a).await,
            Command::Import(a) => cmd::export::import(&data, a).await,
            Command::Doctor(a) => cmd::doctor::run(&data, a).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the outermost message, then its causes.
            let mut msg = e.to_string();
            for cause in e.chain().skip(1) {
                msg.push_str(": ");
                msg.push_str(&cause.to_string());
            }
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}
