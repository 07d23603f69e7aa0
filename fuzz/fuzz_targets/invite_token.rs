//! Invite tokens, pasted by people from anywhere. First byte: 0 = the input is the token text;
//! 1 = the input is the postcard body of a token (prefixed and base58-encoded here, to get past
//! the text layer); 2 = the input is an invite body, issued here by a fixed key, which must then
//! decode to itself unless its text is over the size bound.
#![no_main]

use copnet_fuzz::{key, node};
use copnet_protocol::wire::{INVITE_PREFIX, InviteBody, InviteToken, TokenError};
use copnet_protocol::{Domain, keys, roster::invite_proof_message};
use libfuzzer_sys::fuzz_target;

fn check(token: &InviteToken) {
    assert_eq!(InviteToken::decode(&token.encode()).as_ref(), Ok(token));
    let joiner = node(3);
    keys::verify_with_key(
        &token.invite_key(),
        Domain::Invite,
        &invite_proof_message(&token.body.federation, &joiner),
        &token.proof_for(&joiner),
    )
    .expect("a token's own proof verifies");
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            if let Ok(s) = std::str::from_utf8(rest)
                && let Ok(token) = InviteToken::decode(s)
            {
                check(&token);
            }
        }
        1 => {
            let s = format!("{INVITE_PREFIX}{}", copnet_fuzz::bs58(rest));
            if let Ok(token) = InviteToken::decode(&s) {
                check(&token);
            }
        }
        _ => {
            let Ok(mut body) = postcard::from_bytes::<InviteBody>(rest) else {
                return;
            };
            let issuer = key(rest.len());
            body.issuer = issuer.node_id();
            let token = InviteToken::issue(body, &issuer);
            let text = token.encode();
            match InviteToken::decode(&text) {
                Ok(back) => {
                    assert_eq!(back, token);
                    check(&back);
                }
                Err(e) => {
                    assert_eq!(e, TokenError::Damaged);
                    assert!(text.len() > INVITE_PREFIX.len() + 8 * 1024, "{e}");
                }
            }
        }
    }
});
