//! `/live`: server-sent events telling a signed-in page that content changed here, by a write of
//! this node or by sync. The event carries only the kind of document; the page re-reads itself
//! with the reader's own session, so nothing travels on this stream that the page could not show.

use std::convert::Infallible;
use std::time::Duration;

use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::State;
use super::auth::{Signed, session_token};
use crate::replica::ReplicaEvent;

/// How often a quiet stream checks that its session is still live.
const SESSION_CHECK: Duration = Duration::from_secs(60);

pub async fn stream(
    axum::extract::State(s): State,
    _who: Signed,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let events = s.replica.subscribe();
    let stopping = s.web.stopping.clone();
    let token = session_token(&headers).unwrap_or_default().to_owned();
    let stream = futures::stream::unfold(
        (events, stopping, s, token),
        |(mut events, mut stopping, s, token)| async move {
            let mut check = tokio::time::interval(SESSION_CHECK);
            check.tick().await;
            loop {
                // The stream ends with the session (signed out, removed, timed out) or the node.
                if *stopping.borrow() || !s.web.sessions.alive(&token) {
                    return None;
                }
                let what = tokio::select! {
                    e = events.recv() => e,
                    _ = stopping.changed() => return None,
                    _ = check.tick() => continue,
                };
                let kind = match what {
                    Ok(ReplicaEvent::DocChanged(id, _)) => id.kind().as_str(),
                    Ok(ReplicaEvent::RosterChanged) => "federation",
                    // Missed some: the page re-reads everything anyway.
                    Err(RecvError::Lagged(_)) => "many",
                    Err(RecvError::Closed) => return None,
                };
                let event = Event::default().event("change").data(kind);
                return Some((Ok(event), (events, stopping, s, token)));
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(20)))
}
