//! The running node: opens the data directory, the store and the replica, serves the HTTP API,
//! and shuts all of it down in order.
//!
//! [`Node::start`] returns once the API is bound and `<data>/api.addr` written, so a caller (the
//! CLI, a test) can talk to it at once. [`Node::shutdown`] stops accepting requests, lets the ones
//! in flight finish, joins every task it spawned, flushes the store and removes `api.addr`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use copnet_protocol::Profile;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::api::{self, ApiState};
use crate::config::Config;
use crate::datadir::{DataDir, DataDirError};
use crate::replica::{Replica, ReplicaError};
use crate::store::{Store, StoreError};

/// How to start a node; `None` fields come from `<data>/config.json`.
#[derive(Debug, Clone, Default)]
pub struct NodeOptions {
    pub data: PathBuf,
    /// Organisation name, used when the data directory is initialised by this start.
    pub org: Option<String>,
    pub sector: Option<String>,
    pub http: Option<SocketAddr>,
    /// libp2p listen addresses; empty means "from config".
    pub listen: Vec<String>,
    /// Turn mDNS discovery on for this run.
    pub mdns: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Replica(#[from] ReplicaError),
    #[error(transparent)]
    Net(#[from] crate::net::NetError),
    #[error("invalid listen address {0:?}: write it like /ip4/0.0.0.0/tcp/7701")]
    BadListen(String),
    #[error(
        "cannot listen on {addr}: {source} (is another node using that port? pick one with --http 127.0.0.1:PORT)"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A running node.
pub struct Node {
    replica: Arc<Replica>,
    data: DataDir,
    http: SocketAddr,
    token: Arc<str>,
    stop: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    surveys: JoinHandle<()>,
    network: crate::net::Network,
}

/// The host name, as a default organisation name for `copnet up` on a fresh machine.
pub fn host_org_name() -> String {
    hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.trim().is_empty())
        .unwrap_or_else(|| "copnet node".into())
}

impl Node {
    pub async fn start(opts: NodeOptions) -> Result<Self, NodeError> {
        let data = DataDir::new(&opts.data);
        let mut config = if data.is_initialised() {
            let config = data.load_config()?;
            if let Some(org) = opts.org.as_deref().filter(|o| o.trim() != config.org) {
                tracing::warn!(
                    given = org,
                    configured = %config.org,
                    "--org is ignored: this data directory is already initialised"
                );
            }
            config
        } else {
            let org = opts.org.clone().unwrap_or_else(host_org_name);
            let config = Config::new(org.trim().to_owned(), opts.sector.clone());
            let key = data.init(&config)?;
            tracing::info!(node = %key.node_id(), data = %data.root().display(), "initialised a new node");
            config
        };
        if let Some(http) = opts.http {
            config.http = http;
        }
        if !opts.listen.is_empty() {
            config.listen = opts.listen.clone();
        }
        config.mdns |= opts.mdns;
        let listen = config
            .listen
            .iter()
            .map(|a| a.parse().map_err(|_| NodeError::BadListen(a.clone())))
            .collect::<Result<Vec<libp2p::Multiaddr>, _>>()?;
        let key = data.load_key()?;
        let node_id = key.node_id();
        let span = tracing::info_span!("node", id = %node_id.fmt_short());
        let token: Arc<str> = data.load_or_create_token()?.into();

        let store = {
            let path = data.store_path();
            tokio::task::spawn_blocking(move || Store::open(&path))
                .await
                .expect("store open does not panic")?
        };
        let profile = Profile {
            org: config.org.clone(),
            sector: config.sector.clone(),
        };
        let replica = Replica::open(key, profile, store)?;
        replica.set_private_names(data.private_names()?);
        let network = crate::net::Network::start(
            replica.clone(),
            crate::net::NetConfig {
                listen,
                mdns: config.mdns,
            },
            span.clone(),
        )
        .await?;

        let listener = tokio::net::TcpListener::bind(config.http)
            .await
            .map_err(|source| NodeError::Bind {
                addr: config.http,
                source,
            })?;
        let http = listener.local_addr().map_err(|source| NodeError::Bind {
            addr: config.http,
            source,
        })?;
        if !http.ip().is_loopback() {
            tracing::warn!(
                %http,
                "THE API IS LISTENING BEYOND THIS MACHINE. Anyone who can reach {http} and has the token can act for this organisation. Use --http 127.0.0.1:PORT unless you mean it."
            );
        }
        if crate::faults::enabled() {
            tracing::warn!(
                clock_offset_ms = crate::faults::clock_offset_ms(),
                "FAULT INJECTION IS ON (COPNET_FAULTS=1): for tests only; the API can partition this node"
            );
        }
        data.write_addr(&http)?;

        let (stop, mut stopped) = watch::channel(false);
        let surveys = tokio::spawn(
            publish_survey_results(replica.clone(), stop.subscribe()).instrument(span.clone()),
        );
        let app = api::router(ApiState {
            replica: replica.clone(),
            accounts: Arc::new(crate::accounts::Accounts::new(replica.store().clone())),
            net: network.handle().clone(),
            token: token.clone(),
            http,
            web: Arc::new(crate::web::Web::new(stop.subscribe())),
        });
        let server = tokio::spawn(
            async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    })
                    .await
            }
            .instrument(span.clone()),
        );
        span.in_scope(
            || tracing::info!(org = %config.org, api = %format!("http://{http}/api/v1"), "node up"),
        );
        Ok(Self {
            replica,
            data,
            http,
            token,
            stop,
            server,
            surveys,
            network,
        })
    }

    pub fn replica(&self) -> &Arc<Replica> {
        &self.replica
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.http
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn net(&self) -> &crate::net::NetHandle {
        self.network.handle()
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self.data.root()
    }

    /// Stops the node and waits for everything it started.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        match self.server.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "API server stopped with an error"),
            Err(e) => tracing::warn!(error = %e, "API server task failed"),
        }
        if let Err(e) = self.surveys.await {
            tracing::warn!(error = %e, "survey results task failed");
        }
        self.network.shutdown().await;
        let store = self.replica.store().clone();
        let _ = tokio::task::spawn_blocking(move || store.commit(Default::default())).await;
        self.data.remove_addr();
        tracing::info!("node stopped");
    }

    /// Runs until SIGINT or SIGTERM, then shuts down gracefully.
    pub async fn run_until_signal(self) {
        wait_for_signal().await;
        tracing::info!("shutting down");
        self.shutdown().await;
    }
}

/// How often closing days are looked at, besides every change to a survey.
const SURVEY_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(600);

/// Publishes this node's aggregate of each survey once it has closed: when a survey document
/// changes (here or by sync, e.g. its author closed it), and every few minutes for surveys whose
/// closing day has ended.
async fn publish_survey_results(replica: Arc<Replica>, mut stop: watch::Receiver<bool>) {
    use crate::replica::ReplicaEvent;
    use copnet_protocol::DocKind;
    use tokio::sync::broadcast::error::RecvError;
    let mut events = replica.subscribe();
    let mut tick = tokio::time::interval(SURVEY_CHECK_INTERVAL);
    loop {
        let which = tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = tick.tick() => None,
            ev = events.recv() => match ev {
                Ok(ReplicaEvent::DocChanged(id, _)) if id.kind() == DocKind::Survey => Some(id),
                Ok(_) => continue,
                Err(RecvError::Lagged(_)) => None,
                Err(RecvError::Closed) => return,
            },
        };
        let r = replica.clone();
        let done = tokio::task::spawn_blocking(move || match which {
            Some(id) => r.publish_survey_results(&id).map(usize::from),
            None => r.publish_due_survey_results(),
        })
        .await;
        match done {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(surveys = n, "published survey results"),
            Ok(Err(e)) => tracing::warn!(error = %e, "survey results not published"),
            Err(e) => tracing::warn!(error = %e, "survey results task failed"),
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
