//! Id parsers (text pasted by people, bytes off the wire and out of the store): whatever parses
//! prints back to a text that parses to the same id.
#![no_main]

use copnet_protocol::ids::DOC_KEY_LEN;
use copnet_protocol::validity::{parse_roster_heads, roster_heads_message};
use copnet_protocol::*;
use libfuzzer_sys::fuzz_target;

fn text_round_trip<T>(s: &str)
where
    T: std::str::FromStr + std::fmt::Display + std::fmt::Debug + PartialEq,
{
    if let Ok(v) = s.parse::<T>() {
        let _ = format!("{v:?}");
        assert_eq!(v.to_string().parse::<T>().ok(), Some(v), "{s:?}");
    }
}

fn bytes_round_trip<T>(b: &[u8])
where
    T: serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug + PartialEq,
{
    if let Ok(v) = postcard::from_bytes::<T>(b) {
        let again: T = postcard::from_bytes(&postcard::to_allocvec(&v).unwrap()).unwrap();
        assert_eq!(again, v);
    }
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    text_round_trip::<DocId>(&s);
    text_round_trip::<NodeId>(&s);
    text_round_trip::<OpHash>(&s);
    text_round_trip::<FederationId>(&s);
    text_round_trip::<DocKind>(&s);
    if let Ok(n) = s.parse::<NodeId>() {
        assert_eq!(n.fmt_short().len(), 6);
    }
    let _ = s.parse::<Role>();
    if let Some(heads) = parse_roster_heads(&s) {
        assert_eq!(
            parse_roster_heads(&roster_heads_message(&heads)),
            Some(heads)
        );
    }
    if let Ok(id) = DocId::from_key(data) {
        assert_eq!(&id.to_key()[..], data);
        assert_eq!(data.len(), DOC_KEY_LEN);
    }
    if let Some(n) = NodeId::from_peer_id_bytes(data) {
        assert_eq!(n.to_string().parse::<NodeId>().ok(), Some(n));
    }
    bytes_round_trip::<DocId>(data);
    bytes_round_trip::<NodeId>(data);
    bytes_round_trip::<OpHash>(data);
    bytes_round_trip::<FederationId>(data);
    bytes_round_trip::<DocKind>(data);
});
