//! The data directory: what is in it and how it is guarded.
//!
//! ```text
//! <data>/identity.key   the node's ed25519 secret (32 bytes, mode 0600)
//! <data>/config.json    the node's Config
//! <data>/store/         the sled store
//! <data>/api-token      bearer token of the HTTP API (mode 0600)
//! <data>/api.addr       address the running node's API is bound to (absent when stopped)
//! <data>/private-names.txt  optional: names the de-identification gate always flags (clients,
//!                       families), one per line, `#` starts a comment. Never leaves the node.
//! ```

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use copnet_protocol::NodeKey;

use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{0} is already initialised (node {1}); use it with `copnet up`, or pick another --data directory"
    )]
    AlreadyInitialised(PathBuf, String),
    #[error("{0} is not initialised; run `copnet init --org NAME` or `copnet up --org NAME`")]
    NotInitialised(PathBuf),
    #[error("{path} is readable by other users (mode {mode:o}); fix it with `chmod 600 {path}`")]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("{path} is damaged: {why}")]
    Damaged { path: PathBuf, why: String },
    #[error("invalid organisation name: {0}")]
    BadOrg(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DataDirError + '_ {
    move |source| DataDirError::Io {
        path: path.to_owned(),
        source,
    }
}

/// An opened, initialised data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn identity_path(&self) -> PathBuf {
        self.root.join("identity.key")
    }
    pub fn store_path(&self) -> PathBuf {
        self.root.join("store")
    }
    pub fn token_path(&self) -> PathBuf {
        self.root.join("api-token")
    }
    pub fn addr_path(&self) -> PathBuf {
        self.root.join("api.addr")
    }

    pub fn is_initialised(&self) -> bool {
        self.identity_path().exists()
    }

    /// Creates the identity and config. Refuses to overwrite an existing identity.
    pub fn init(&self, config: &Config) -> Result<NodeKey, DataDirError> {
        check_org(&config.org)?;
        if self.is_initialised() {
            let key = self.load_key()?;
            return Err(DataDirError::AlreadyInitialised(
                self.root.clone(),
                key.node_id().to_string(),
            ));
        }
        fs::create_dir_all(&self.root).map_err(io(&self.root))?;
        restrict_dir(&self.root)?;
        let key = NodeKey::generate();
        write_private(&self.identity_path(), &key.secret_bytes(), true)?;
        self.save_config(config)?;
        Ok(key)
    }

    pub fn save_config(&self, config: &Config) -> Result<(), DataDirError> {
        let path = Config::path(&self.root);
        let json = serde_json::to_vec_pretty(config).expect("config encodes");
        write_atomic(&path, &json, false)
    }

    pub fn load_config(&self) -> Result<Config, DataDirError> {
        let path = Config::path(&self.root);
        let bytes = fs::read(&path).map_err(io(&path))?;
        serde_json::from_slice(&bytes).map_err(|e| DataDirError::Damaged {
            path,
            why: e.to_string(),
        })
    }

    /// Loads the node key, refusing a key file that other users can read.
    pub fn load_key(&self) -> Result<NodeKey, DataDirError> {
        let path = self.identity_path();
        if !path.exists() {
            return Err(DataDirError::NotInitialised(self.root.clone()));
        }
        check_private(&path)?;
        let bytes = fs::read(&path).map_err(io(&path))?;
        let secret: [u8; 32] = bytes.try_into().map_err(|_| DataDirError::Damaged {
            path: path.clone(),
            why: "expected a 32-byte ed25519 secret".into(),
        })?;
        Ok(NodeKey::from_secret_bytes(secret))
    }

    /// The API token, created on first use. It is kept across restarts so that tools holding it
    /// keep working.
    pub fn load_or_create_token(&self) -> Result<String, DataDirError> {
        let path = self.token_path();
        if path.exists() {
            check_private(&path)?;
            let t = fs::read_to_string(&path).map_err(io(&path))?;
            let t = t.trim().to_owned();
            if t.len() >= 32 {
                return Ok(t);
            }
        }
        let token = hex::encode(rand::random::<[u8; 32]>());
        write_private(&path, token.as_bytes(), false)?;
        Ok(token)
    }

    pub fn private_names_path(&self) -> PathBuf {
        self.root.join("private-names.txt")
    }

    /// The names in `private-names.txt`, or none when there is no such file.
    pub fn private_names(&self) -> Result<Vec<String>, DataDirError> {
        let path = self.private_names_path();
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(io(&path)(e)),
        };
        Ok(text
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim())
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect())
    }

    pub fn write_addr(&self, addr: &std::net::SocketAddr) -> Result<(), DataDirError> {
        write_atomic(&self.addr_path(), addr.to_string().as_bytes(), false)
    }

    pub fn remove_addr(&self) {
        let _ = fs::remove_file(self.addr_path());
    }
}

pub fn check_org(org: &str) -> Result<(), DataDirError> {
    let t = org.trim();
    if t.is_empty() {
        return Err(DataDirError::BadOrg("it is empty".into()));
    }
    if t.chars().count() > 120 {
        return Err(DataDirError::BadOrg("longer than 120 characters".into()));
    }
    if t.chars().any(char::is_control) {
        return Err(DataDirError::BadOrg(
            "it contains control characters".into(),
        ));
    }
    Ok(())
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), DataDirError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(path).map_err(io(path))?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(DataDirError::TooOpen {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path) -> Result<(), DataDirError> {
    Ok(())
}

#[cfg(unix)]
fn restrict_dir(path: &Path) -> Result<(), DataDirError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o700)).map_err(io(path))
}

#[cfg(not(unix))]
fn restrict_dir(_: &Path) -> Result<(), DataDirError> {
    Ok(())
}

/// Writes a file only its owner can read, created with that mode (never briefly world-readable).
fn write_private(path: &Path, bytes: &[u8], exclusive: bool) -> Result<(), DataDirError> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true);
    if exclusive {
        opts.create_new(true);
    } else {
        opts.create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))?;
    Ok(())
}

/// Writes via a temporary file and a rename, so readers never see half a file.
fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<(), DataDirError> {
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    write_private(&tmp, bytes, true)?;
    if !private {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&tmp, fs::Permissions::from_mode(0o644)).map_err(io(&tmp))?;
        }
    }
    fs::rename(&tmp, path).map_err(io(path))
}
