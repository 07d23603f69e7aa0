//! Sign-in accounts for the people who use this node's web interface.
//!
//! Accounts are local to the node: they live in its store under their own prefix, are never
//! replicated, and survive `federation leave --purge`. Passwords are hashed with Argon2id at
//! OWASP's recommended cost (19 MiB, 2 passes, 1 lane) and a random 16-byte salt; only the PHC
//! string is stored. Names are case-insensitive: `Sam` and `sam` are one account.
//!
//! The first account is made with the CLI (`copnet account add`), over the API token. A node
//! always keeps at least one admin: removing the last one is refused.

use std::sync::Mutex;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError};

/// Shortest password accepted. NIST SP 800-63B (rev. 4) asks for at least 15 characters when a
/// password is the only factor.
pub const MIN_PASSWORD_CHARS: usize = 15;
/// Longest password accepted: long enough for any passphrase, short enough to bound hashing work.
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Longest account name.
pub const MAX_NAME_CHARS: usize = 64;

/// What an account may do in the web interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages accounts, invites and the federation, and everything a facilitator may do.
    Admin,
    /// Runs communities: charters, people, events, surveys, the facilitator report.
    Facilitator,
    /// Reads, posts resources and consults, replies and RSVPs.
    Practitioner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Facilitator => "facilitator",
            Role::Practitioner => "practitioner",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = AccountError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "facilitator" => Ok(Role::Facilitator),
            "practitioner" => Ok(Role::Practitioner),
            other => Err(AccountError::Invalid(format!(
                "unknown role {other:?}: use admin, facilitator or practitioner"
            ))),
        }
    }
}

/// An account as shown: never its password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub name: String,
    pub role: Role,
    pub created_at_ms: i64,
    /// How the person appears on what they post, e.g. "Aroha Walker"; the account name if unset.
    pub display_name: Option<String>,
    /// When they last signed in to the web interface.
    pub last_visit_ms: Option<i64>,
}

impl Account {
    /// The name posts are attributed to.
    pub fn shown_name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.name)
    }
}

/// The stored record. Postcard is not self-describing, so a record written before the last two
/// fields existed is read as [`StoredAccountV1`] and upgraded on its next write.
#[derive(Serialize, Deserialize)]
struct StoredAccount {
    name: String,
    role: Role,
    created_at_ms: i64,
    /// The Argon2id PHC string: algorithm, parameters, salt and hash.
    password_hash: String,
    display_name: Option<String>,
    last_visit_ms: Option<i64>,
}

#[derive(Deserialize)]
struct StoredAccountV1 {
    name: String,
    role: Role,
    created_at_ms: i64,
    password_hash: String,
}

impl StoredAccount {
    fn account(&self) -> Account {
        Account {
            name: self.name.clone(),
            role: self.role,
            created_at_ms: self.created_at_ms,
            display_name: self.display_name.clone(),
            last_visit_ms: self.last_visit_ms,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Invalid(String),
    #[error("there is already an account called {0:?} on this node")]
    Exists(String),
    #[error("no account called {0:?} on this node")]
    NotFound(String),
    #[error(
        "{0:?} is this node's last admin; make another admin first (`copnet account add NAME --role admin`)"
    )]
    LastAdmin(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored account {name:?} is damaged: {why}")]
    Damaged { name: String, why: String },
}

/// The node's accounts. Changes are serialised, so that "at least one admin" holds under
/// concurrent removals.
pub struct Accounts {
    store: Store,
    changes: Mutex<()>,
    hasher: Argon2<'static>,
}

impl Accounts {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            changes: Mutex::new(()),
            hasher: Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default()),
        }
    }

    /// Every account, by name.
    pub fn list(&self) -> Result<Vec<Account>, AccountError> {
        let mut all: Vec<Account> = self.stored()?.iter().map(StoredAccount::account).collect();
        all.sort_by_key(|a| a.name.to_lowercase());
        Ok(all)
    }

    /// Adds an account. Slow on purpose (one Argon2id hash): call it off the async runtime.
    pub fn add(&self, name: &str, role: Role, password: &str) -> Result<Account, AccountError> {
        self.add_named(name, None, role, password)
    }

    /// Like [`Accounts::add`], with the name shown on the person's posts.
    pub fn add_named(
        &self,
        name: &str,
        display_name: Option<&str>,
        role: Role,
        password: &str,
    ) -> Result<Account, AccountError> {
        let name = check_name(name)?;
        let display_name = display_name.map(check_display_name).transpose()?.flatten();
        check_password(password)?;
        let password_hash = self.hash(password)?;
        let _c = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        if self.get(&name)?.is_some() {
            return Err(AccountError::Exists(name));
        }
        // Posts are attributed by the shown name: two accounts must not share one.
        let shown = display_name.as_deref().unwrap_or(&name);
        if let Some(other) = self
            .stored()?
            .iter()
            .find(|a| a.account().shown_name().eq_ignore_ascii_case(shown))
        {
            return Err(AccountError::Invalid(format!(
                "the account {:?} already shows as {shown:?}, and posts are attributed by that name: choose another --display-name",
                other.name
            )));
        }
        if role != Role::Admin && self.admins()? == 0 {
            return Err(AccountError::Invalid(format!(
                "this node has no admin yet, and someone must be able to manage the accounts: make the first one an admin (`copnet account add {name} --role admin`)"
            )));
        }
        let stored = StoredAccount {
            name,
            role,
            created_at_ms: crate::replica::now_ms(),
            password_hash,
            display_name,
            last_visit_ms: None,
        };
        self.put(&stored)?;
        tracing::info!(account = %stored.name, role = role.as_str(), "account added");
        Ok(stored.account())
    }

    /// Removes an account, unless it is the last admin.
    pub fn remove(&self, name: &str) -> Result<(), AccountError> {
        let _c = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        let stored = self
            .get(name)?
            .ok_or_else(|| AccountError::NotFound(name.trim().to_owned()))?;
        if stored.role == Role::Admin && self.admins()? == 1 {
            return Err(AccountError::LastAdmin(stored.name));
        }
        self.store.remove_account(&key(&stored.name))?;
        tracing::info!(account = %stored.name, "account removed");
        Ok(())
    }

    /// The account, if `password` is its password. Takes as long for an unknown name as for a
    /// wrong password, so that sign-in does not tell which names exist.
    pub fn verify(&self, name: &str, password: &str) -> Result<Option<Account>, AccountError> {
        let stored = self.get(name)?;
        let phc = match &stored {
            Some(s) => s.password_hash.clone(),
            None => self.dummy_hash()?,
        };
        let parsed = PasswordHash::new(&phc).map_err(|e| AccountError::Damaged {
            name: name.to_owned(),
            why: e.to_string(),
        })?;
        let ok = self
            .hasher
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(stored.filter(|_| ok).map(|s| s.account()))
    }

    /// The account called `name`, if there is one.
    pub fn account(&self, name: &str) -> Result<Option<Account>, AccountError> {
        Ok(self.get(name)?.map(|s| s.account()))
    }

    /// Records a sign-in at `at_ms`; returns the previous one, the start of "what changed since
    /// your last visit".
    pub fn visited(&self, name: &str, at_ms: i64) -> Result<Option<i64>, AccountError> {
        let _c = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        let mut stored = self
            .get(name)?
            .ok_or_else(|| AccountError::NotFound(name.trim().to_owned()))?;
        let previous = stored.last_visit_ms.replace(at_ms);
        self.put(&stored)?;
        Ok(previous)
    }

    fn hash(&self, password: &str) -> Result<String, AccountError> {
        let salt: [u8; 16] = rand::random();
        let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt length");
        self.hasher
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AccountError::Invalid(format!("cannot hash this password: {e}")))
    }

    /// A hash of no one's password, made once, for [`Accounts::verify`] of unknown names.
    fn dummy_hash(&self) -> Result<String, AccountError> {
        static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        if let Some(h) = DUMMY.get() {
            return Ok(h.clone());
        }
        let h = self.hash("no account has this password, it only costs time")?;
        Ok(DUMMY.get_or_init(|| h).clone())
    }

    fn admins(&self) -> Result<usize, AccountError> {
        Ok(self
            .stored()?
            .iter()
            .filter(|a| a.role == Role::Admin)
            .count())
    }

    fn get(&self, name: &str) -> Result<Option<StoredAccount>, AccountError> {
        self.store
            .account(&key(name.trim()))?
            .map(|bytes| decode(name, &bytes))
            .transpose()
    }

    fn stored(&self) -> Result<Vec<StoredAccount>, AccountError> {
        self.store
            .accounts()?
            .iter()
            .map(|v| decode("(listing)", v))
            .collect()
    }

    fn put(&self, a: &StoredAccount) -> Result<(), AccountError> {
        let bytes = postcard::to_stdvec(a).expect("an account always encodes");
        self.store.put_account(&key(&a.name), &bytes)?;
        Ok(())
    }
}

fn decode(name: &str, bytes: &[u8]) -> Result<StoredAccount, AccountError> {
    if let Ok((a, [])) = postcard::take_from_bytes::<StoredAccount>(bytes) {
        return Ok(a);
    }
    let v1: StoredAccountV1 = postcard::from_bytes(bytes).map_err(|e| AccountError::Damaged {
        name: name.to_owned(),
        why: e.to_string(),
    })?;
    Ok(StoredAccount {
        name: v1.name,
        role: v1.role,
        created_at_ms: v1.created_at_ms,
        password_hash: v1.password_hash,
        display_name: None,
        last_visit_ms: None,
    })
}

/// A display name: optional, one line, at most 100 characters.
fn check_display_name(name: &str) -> Result<Option<String>, AccountError> {
    let name = name.trim();
    if name.is_empty() {
        return Ok(None);
    }
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AccountError::Invalid(format!(
            "display name {name:?} must be one line of at most 100 characters"
        )));
    }
    Ok(Some(name.to_owned()))
}

/// The store key of a name: case-insensitive.
fn key(name: &str) -> Vec<u8> {
    name.to_lowercase().into_bytes()
}

fn check_name(name: &str) -> Result<String, AccountError> {
    let name = name.trim();
    let invalid = |why: &str| {
        Err(AccountError::Invalid(format!(
            "account name {name:?} {why}; use letters, digits and . _ - @ (for example sam.r or sam@agency.org)"
        )))
    };
    if name.is_empty() {
        return invalid("is empty");
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return invalid(&format!("is longer than {MAX_NAME_CHARS} characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        return invalid("has a character that is not allowed");
    }
    Ok(name.to_owned())
}

fn check_password(password: &str) -> Result<(), AccountError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(AccountError::Invalid(format!(
            "the password has {n} characters; use at least {MIN_PASSWORD_CHARS} (a few unrelated words make a good one)"
        )));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(AccountError::Invalid(format!(
            "the password has {n} characters; use at most {MAX_PASSWORD_CHARS}"
        )));
    }
    if password.trim().is_empty() {
        return Err(AccountError::Invalid(
            "the password is only spaces; choose one with words in it".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts() -> (tempfile::TempDir, Accounts) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, Accounts::new(store))
    }

    const GOOD: &str = "correct horse battery staple";

    #[test]
    fn a_sign_in_returns_the_previous_visit_and_older_records_still_read() {
        let (_d, a) = accounts();
        a.add_named("ada", Some("Ada Lovelace"), Role::Admin, GOOD)
            .unwrap();
        assert!(matches!(
            a.add_named("ada2", Some("ada lovelace"), Role::Admin, GOOD),
            Err(AccountError::Invalid(m)) if m.contains("already shows as")
        ));
        assert_eq!(a.visited("ADA", 1_000).unwrap(), None);
        assert_eq!(a.visited("ada", 2_000).unwrap(), Some(1_000));
        let ada = a.account("ada").unwrap().unwrap();
        assert_eq!(ada.shown_name(), "Ada Lovelace");
        assert_eq!(ada.last_visit_ms, Some(2_000));
        // A record in the first format, written before display names and visits existed.
        #[derive(Serialize)]
        struct V1<'a>(&'a str, Role, i64, &'a str);
        let hash = a.hash(GOOD).unwrap();
        let old = postcard::to_stdvec(&V1("old", Role::Practitioner, 5, &hash)).unwrap();
        a.store.put_account(&key("old"), &old).unwrap();
        let old = a
            .verify("old", GOOD)
            .unwrap()
            .expect("the old record signs in");
        assert_eq!((old.shown_name(), old.last_visit_ms), ("old", None));
        assert_eq!(a.visited("old", 3_000).unwrap(), None);
        assert_eq!(a.list().unwrap().len(), 2);
    }

    #[test]
    fn the_right_password_signs_in_and_a_wrong_one_does_not() {
        let (_d, a) = accounts();
        a.add("ada", Role::Admin, GOOD).unwrap();
        a.add("Sam.R", Role::Facilitator, GOOD).unwrap();
        let me = a.verify("sam.r", GOOD).unwrap().expect("right password");
        assert_eq!((me.name.as_str(), me.role), ("Sam.R", Role::Facilitator));
        assert_eq!(
            a.verify("Sam.R", "correct horse battery stapler").unwrap(),
            None
        );
        assert_eq!(a.verify("nobody", GOOD).unwrap(), None);
    }

    #[test]
    fn the_stored_record_holds_an_argon2id_hash_not_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        Accounts::new(store.clone())
            .add("sam", Role::Admin, GOOD)
            .unwrap();
        let raw = store.account(b"sam").unwrap().unwrap();
        let text = String::from_utf8_lossy(&raw);
        assert!(!text.contains(GOOD), "the password is stored in the clear");
        assert!(
            text.contains("$argon2id$"),
            "no Argon2id PHC string: {text}"
        );
    }

    #[test]
    fn weak_passwords_bad_names_and_duplicates_are_refused_with_a_reason() {
        let (_d, a) = accounts();
        let refused = |r: Result<Account, AccountError>| r.unwrap_err().to_string();
        assert!(refused(a.add("sam", Role::Admin, "short")).contains("at least 15"));
        assert!(refused(a.add("sam", Role::Admin, &" ".repeat(20))).contains("only spaces"));
        assert!(refused(a.add("sam r", Role::Admin, GOOD)).contains("not allowed"));
        assert!(refused(a.add("", Role::Admin, GOOD)).contains("is empty"));
        assert!(refused(a.add("sam", Role::Practitioner, GOOD)).contains("no admin yet"));
        a.add("sam", Role::Admin, GOOD).unwrap();
        assert!(refused(a.add("SAM", Role::Practitioner, GOOD)).contains("already"));
        assert!("owner".parse::<Role>().is_err());
        assert_eq!(a.list().unwrap().len(), 1);
    }

    #[test]
    fn the_last_admin_cannot_be_removed() {
        let (_d, a) = accounts();
        a.add("ada", Role::Admin, GOOD).unwrap();
        a.add("pat", Role::Practitioner, GOOD).unwrap();
        assert!(matches!(a.remove("ada"), Err(AccountError::LastAdmin(_))));
        a.add("bo", Role::Admin, GOOD).unwrap();
        a.remove("ada").unwrap();
        a.remove("pat").unwrap();
        assert!(matches!(a.remove("pat"), Err(AccountError::NotFound(_))));
        let names: Vec<String> = a.list().unwrap().into_iter().map(|a| a.name).collect();
        assert_eq!(names, ["bo"]);
    }
}
