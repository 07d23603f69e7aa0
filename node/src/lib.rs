//! A copnet node: everything with I/O.
//!
//! - [`store`]: the sled store, the one place that touches disk for replicated data;
//! - [`replica`]: the roster and documents, and every read and write of them;
//! - [`api`]: the HTTP API over the replica;
//! - [`accounts`]: the web interface's local sign-in accounts;
//! - [`daemon`]: the running node that owns all of the above and shuts it down in order;
//! - [`datadir`] and [`config`]: the data directory and the node's settings.
//!
//! Protocol rules (what is valid, how the roster folds) live in `copnet-protocol`, never here.

pub mod accounts;
pub mod api;
pub mod calendar;
pub mod config;
pub mod daemon;
pub mod datadir;
pub mod deid;
pub mod faults;
pub mod ics;
pub mod join;
pub mod net;
pub mod occurrences;
pub mod replica;
pub mod report;
pub mod search;
pub mod session;
pub mod store;
pub mod validate;
pub mod views;
pub mod web;
pub mod workload;

pub use daemon::{Node, NodeError, NodeOptions};
