//! The collision guard's reads (see `domain::recent`): what other users sent to or
//! registered for a client in the last minutes, before a user replies or registers a
//! call outcome. Advisory by design: two users who confirm at the same instant both go
//! through, as they would after reading each other's warning.

use chrono::{DateTime, Duration, Utc};

use crate::domain::conversation::ReplyInput;
use crate::domain::error::AppError;
use crate::domain::message::Channel;
use crate::domain::recent::{warning, Act, RecentAct};
use crate::domain::user::Viewer;
use crate::on_db;
use crate::server::access;
use crate::server::clock::Clock;
use crate::server::db::Db;

/// Refuses with [`AppError::RecentlyAttended`] when another user wrote to, called or
/// registered an outcome for the client within `window_minutes`; `confirmed` is the
/// user's answer to that question, and lets the request through.
pub async fn guard(
    db: &Db,
    viewer: &Viewer,
    client_id: i64,
    confirmed: bool,
    window_minutes: u32,
    clock: Clock,
) -> Result<(), AppError> {
    if confirmed || window_minutes == 0 {
        return Ok(());
    }
    // Who did what is a record of the client: only for those who may see it.
    access::ensure_visible(db, viewer, client_id, clock.now).await?;
    let since = clock.now - Duration::minutes(i64::from(window_minutes));
    let acts = by_others(db, viewer.user_id, client_id, since).await?;
    match warning(&acts, window_minutes, clock.now, &clock.tz) {
        Some(question) => Err(AppError::RecentlyAttended(question)),
        None => Ok(()),
    }
}

/// The guard before a reply: an internal note reaches no debtor and is never held.
pub async fn guard_reply(
    db: &Db,
    viewer: &Viewer,
    input: &ReplyInput,
    window_minutes: u32,
    clock: Clock,
) -> Result<(), AppError> {
    let confirmed = input.despite_recent || input.channel == Channel::Note;
    guard(
        db,
        viewer,
        input.client_id,
        confirmed,
        window_minutes,
        clock,
    )
    .await
}

/// The messages and outcomes of users other than `me` on the client since `since`
/// (automated sends have no author and do not count). Both read the client's own
/// index on (client_id, occurred_at).
async fn by_others(
    db: &Db,
    me: i64,
    client_id: i64,
    since: DateTime<Utc>,
) -> Result<Vec<RecentAct>, AppError> {
    let rows: Vec<(String, bool, String, DateTime<Utc>)> = on_db!(db, p => sqlx::query_as(
        "SELECT u.name, TRUE, m.channel, m.occurred_at FROM messages m JOIN users u ON u.id = m.author_id
         WHERE m.client_id = $1 AND m.occurred_at >= $2 AND m.direction = 'outbound' AND m.author_id <> $3
         UNION ALL
         SELECT u.name, FALSE, o.outcome, o.occurred_at FROM outcomes o JOIN users u ON u.id = o.user_id
         WHERE o.client_id = $1 AND o.occurred_at >= $2 AND o.user_id <> $3")
        .bind(client_id).bind(since).bind(me).fetch_all(p).await)?;
    rows.into_iter()
        .map(|(who, sent, kind, at)| {
            let act = if sent {
                Act::Sent(kind.parse::<Channel>().map_err(AppError::internal)?)
            } else {
                Act::Registered(kind.parse().map_err(AppError::internal)?)
            };
            Ok(RecentAct { who, act, at })
        })
        .collect()
}
