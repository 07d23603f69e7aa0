//! Identifiers: who wrote something ([`NodeId`]), which federation it belongs to
//! ([`FederationId`]), which roster op it cites ([`OpHash`]) and which document it is ([`DocId`]).
//!
//! Every id has one text form used in the CLI, the API and logs, and one byte form used on the
//! wire and as a store key. Parsing the text form says precisely what is wrong with it, because
//! people paste these ids by hand.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// Why an id could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{what} {input:?} is not valid: {why}")]
    Invalid {
        what: &'static str,
        input: String,
        why: String,
    },
}

fn invalid(what: &'static str, input: &str, why: impl Into<String>) -> IdError {
    let mut input = input.to_owned();
    if input.len() > 80 {
        let cut = input.char_indices().nth(80).map_or(input.len(), |(i, _)| i);
        input.truncate(cut);
        input.push('…');
    }
    IdError::Invalid {
        what,
        input,
        why: why.into(),
    }
}

/// The prefix libp2p puts before an ed25519 public key in a `PeerId`: identity multihash
/// (code 0x00, length 36) of the protobuf `PublicKey { Type: Ed25519, Data: <32 bytes> }`.
const PEER_ID_PREFIX: [u8; 6] = [0x00, 0x24, 0x08, 0x01, 0x12, 0x20];

/// One organisation's node: its ed25519 public key. The text form is the libp2p `PeerId`
/// (`12D3KooW…`), so the id a person sees in `copnet status` is the id in libp2p's logs.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId([u8; 32]);

impl NodeId {
    /// Wraps a public key, checking that it is a valid ed25519 point.
    pub fn from_public_key(bytes: [u8; 32]) -> Result<Self, IdError> {
        ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map_err(|_| invalid("node id", &hex::encode(bytes), "not an ed25519 public key"))?;
        Ok(Self(bytes))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub(crate) fn verifying_key(&self) -> ed25519_dalek::VerifyingKey {
        // Every constructor checked the point, so this cannot fail.
        ed25519_dalek::VerifyingKey::from_bytes(&self.0).expect("NodeId holds a valid key")
    }

    /// Reads a node out of the byte form of a libp2p `PeerId` (identity multihash of an ed25519
    /// key). `None` for any other kind of peer id.
    pub fn from_peer_id_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != 38 || bytes[..6] != PEER_ID_PREFIX {
            return None;
        }
        Self::from_public_key(bytes[6..].try_into().ok()?).ok()
    }

    /// The last characters of the text form: enough to tell nodes apart in logs.
    pub fn fmt_short(&self) -> String {
        let s = self.to_string();
        s[s.len() - 6..].to_owned()
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = Vec::with_capacity(38);
        bytes.extend_from_slice(&PEER_ID_PREFIX);
        bytes.extend_from_slice(&self.0);
        f.write_str(&bs58::encode(bytes).into_string())
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({})", self.fmt_short())
    }
}

impl FromStr for NodeId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        let bytes = bs58::decode(s)
            .into_vec()
            .map_err(|_| invalid("node id", s, "expected a base58 peer id like 12D3KooW…"))?;
        Self::from_peer_id_bytes(&bytes).ok_or_else(|| {
            invalid(
                "node id",
                s,
                "not an ed25519 peer id (they start with 12D3KooW)",
            )
        })
    }
}

/// A SHA-256 digest naming one roster op.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpHash(pub [u8; 32]);

impl OpHash {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for OpHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for OpHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OpHash({})", &hex::encode(self.0)[..10])
    }
}

impl FromStr for OpHash {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let v =
            hex::decode(s.trim()).map_err(|_| invalid("op hash", s, "expected 64 hex digits"))?;
        let a: [u8; 32] = v
            .try_into()
            .map_err(|_| invalid("op hash", s, "expected 64 hex digits"))?;
        Ok(Self(a))
    }
}

/// A federation: the hash of its genesis roster op, shown as `fed_…`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FederationId(pub [u8; 32]);

impl FederationId {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
    pub fn genesis_hash(&self) -> OpHash {
        OpHash(self.0)
    }
}

impl fmt::Display for FederationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fed_{}", bs58::encode(self.0).into_string())
    }
}

impl fmt::Debug for FederationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.to_string();
        write!(f, "FederationId({})", &s[..12.min(s.len())])
    }
}

impl FromStr for FederationId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        let body = s
            .strip_prefix("fed_")
            .ok_or_else(|| invalid("federation id", s, "federation ids start with fed_"))?;
        let v = bs58::decode(body)
            .into_vec()
            .map_err(|_| invalid("federation id", s, "not base58 after fed_"))?;
        let a: [u8; 32] = v
            .try_into()
            .map_err(|_| invalid("federation id", s, "wrong length"))?;
        Ok(Self(a))
    }
}

/// The kinds of document a federation replicates (DESIGN §5).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum DocKind {
    Community,
    Resource,
    Consult,
    Event,
    /// A value-creation story.
    Story,
    /// A check-in or survey instrument.
    Survey,
}

impl DocKind {
    pub const ALL: [DocKind; 6] = [
        Self::Community,
        Self::Resource,
        Self::Consult,
        Self::Event,
        Self::Story,
        Self::Survey,
    ];

    /// The word used in the API, the CLI and document headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Community => "community",
            Self::Resource => "resource",
            Self::Consult => "consult",
            Self::Event => "event",
            Self::Story => "story",
            Self::Survey => "survey",
        }
    }

    /// The prefix of this kind's ids, so a pasted id says what it names.
    pub fn id_prefix(self) -> &'static str {
        match self {
            Self::Community => "com",
            Self::Resource => "res",
            Self::Consult => "cst",
            Self::Event => "evt",
            Self::Story => "sty",
            Self::Survey => "svy",
        }
    }

    /// The first byte of this kind's store keys; store scans by kind use it as a prefix.
    pub fn tag(self) -> u8 {
        match self {
            Self::Community => 1,
            Self::Resource => 2,
            Self::Consult => 3,
            Self::Event => 4,
            Self::Story => 5,
            Self::Survey => 6,
        }
    }

    pub fn from_tag(tag: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.tag() == tag)
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DocKind {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                invalid(
                    "document kind",
                    s,
                    "expected community, resource, consult, event, story or survey",
                )
            })
    }
}

/// One document: its kind and 16 random bytes, shown as `com_…`, `res_…`, `cst_…`, `evt_…`, `sty_…` or `svy_…`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocId {
    kind: DocKind,
    random: [u8; 16],
}

/// Length of a [`DocId`]'s byte form.
pub const DOC_KEY_LEN: usize = 17;

impl DocId {
    pub fn new(kind: DocKind, random: [u8; 16]) -> Self {
        Self { kind, random }
    }

    pub fn random(kind: DocKind) -> Self {
        Self::new(kind, rand::random())
    }

    pub fn kind(&self) -> DocKind {
        self.kind
    }

    /// The byte form: kind tag then the random part. Sorting by it groups documents by kind.
    pub fn to_key(&self) -> [u8; DOC_KEY_LEN] {
        let mut k = [0u8; DOC_KEY_LEN];
        k[0] = self.kind.tag();
        k[1..].copy_from_slice(&self.random);
        k
    }

    pub fn from_key(key: &[u8]) -> Result<Self, IdError> {
        let bad = || invalid("document key", &hex::encode(key), "malformed");
        if key.len() != DOC_KEY_LEN {
            return Err(bad());
        }
        let kind = DocKind::from_tag(key[0]).ok_or_else(bad)?;
        Ok(Self::new(
            kind,
            key[1..].try_into().expect("length checked"),
        ))
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}_{}",
            self.kind.id_prefix(),
            bs58::encode(self.random).into_string()
        )
    }
}

impl fmt::Debug for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocId({self})")
    }
}

impl FromStr for DocId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        let Some((prefix, body)) = s.split_once('_') else {
            return Err(invalid(
                "id",
                s,
                "ids look like com_…, res_…, cst_… or evt_…",
            ));
        };
        let kind = DocKind::ALL
            .into_iter()
            .find(|k| k.id_prefix() == prefix)
            .ok_or_else(|| {
                invalid(
                    "id",
                    s,
                    format!("unknown prefix {prefix:?}; ids start with com_, res_, cst_ or evt_"),
                )
            })?;
        let v = bs58::decode(body)
            .into_vec()
            .map_err(|_| invalid("id", s, "not base58 after the prefix"))?;
        let random: [u8; 16] = v
            .try_into()
            .map_err(|_| invalid("id", s, "wrong length; was it copied whole?"))?;
        Ok(Self::new(kind, random))
    }
}

/// Implements serde (text form in human-readable formats, bytes otherwise) and autosurgeon
/// (text form) for an id type.
macro_rules! id_codecs {
    ($t:ty, $to_bytes:expr, $from_bytes:expr) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if s.is_human_readable() {
                    s.collect_str(self)
                } else {
                    #[allow(clippy::redundant_closure_call)]
                    s.serialize_bytes(&($to_bytes)(self))
                }
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                if d.is_human_readable() {
                    let s = String::deserialize(d)?;
                    s.parse().map_err(de::Error::custom)
                } else {
                    let b: Vec<u8> = serde::Deserialize::deserialize(d)?;
                    #[allow(clippy::redundant_closure_call)]
                    ($from_bytes)(&b[..]).map_err(de::Error::custom)
                }
            }
        }

        impl autosurgeon::Reconcile for $t {
            type Key<'a> = autosurgeon::reconcile::NoKey;
            fn reconcile<R: autosurgeon::Reconciler>(&self, mut r: R) -> Result<(), R::Error> {
                r.str(self.to_string())
            }
        }

        impl autosurgeon::Hydrate for $t {
            fn hydrate_string(s: &str) -> Result<Self, autosurgeon::HydrateError> {
                s.parse().map_err(|e: IdError| {
                    autosurgeon::HydrateError::unexpected("an id", e.to_string())
                })
            }
        }
    };
}

fn array32(what: &'static str, b: &[u8]) -> Result<[u8; 32], IdError> {
    b.try_into()
        .map_err(|_| invalid(what, &hex::encode(b), "expected 32 bytes"))
}

id_codecs!(NodeId, |n: &NodeId| n.0.to_vec(), |b: &[u8]| {
    NodeId::from_public_key(array32("node id", b)?)
});
id_codecs!(OpHash, |n: &OpHash| n.0.to_vec(), |b: &[u8]| array32(
    "op hash", b
)
.map(OpHash));
id_codecs!(
    FederationId,
    |n: &FederationId| n.0.to_vec(),
    |b: &[u8]| array32("federation id", b).map(FederationId)
);
id_codecs!(DocId, |n: &DocId| n.to_key().to_vec(), |b: &[u8]| {
    DocId::from_key(b)
});

impl Serialize for DocKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for DocKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_ids_round_trip_and_reject_the_wrong_prefix() {
        let id = DocId::random(DocKind::Resource);
        let s = id.to_string();
        assert!(s.starts_with("res_"));
        assert_eq!(s.parse::<DocId>().unwrap(), id);
        assert_eq!(DocId::from_key(&id.to_key()).unwrap(), id);
        let err = s.replacen("res_", "xyz_", 1).parse::<DocId>().unwrap_err();
        assert!(err.to_string().contains("unknown prefix"), "{err}");
        assert!(
            "res_0OIl".parse::<DocId>().is_err(),
            "0, O, I, l are not base58"
        );
    }

    #[test]
    fn federation_ids_round_trip() {
        let id = FederationId([7; 32]);
        assert_eq!(id.to_string().parse::<FederationId>().unwrap(), id);
        assert!("7xyz".parse::<FederationId>().is_err());
    }
}
