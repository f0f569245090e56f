//! The event stream (`/api/events`): every committed change to a client's conversation
//! (a message in or out, a status, an outcome, an omission) is one row of `events`,
//! written by the transaction that makes the change ([`crate::server::db::Tx`]), so it
//! exists exactly when the change does. Ids follow commit order: SQLite has one writer
//! at a time, and on PostgreSQL every transaction that records events first takes one
//! advisory lock, held until it commits (the commits of such transactions already
//! queue behind NOTIFY's own commit lock, so this costs little more). A reader that has
//! seen id N has therefore seen every event up to N, and "everything after N" is one
//! range scan, which is what a reconnecting browser asks for with `Last-Event-ID`.
//!
//! Each process tails the table once (the [`Hub`]), woken by its own commits (SQLite)
//! or by PostgreSQL's notifications (every process), and fans the events out in
//! memory; each connection filters them by its user's scope. The fan-out buffer is a
//! fixed ring shared by all connections: a connection that falls behind it catches up
//! from the table, and one too far behind is told to reload. The table is the source of
//! truth; the notifications only say when to look.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, SqliteConnection};
use tokio::sync::broadcast;

use crate::domain::conversation::NO_CLIENT;
use crate::domain::user::Scope;
use crate::on_db;
use crate::server::db::Db;
use crate::server::notify::CHANNEL_SQL;

/// Events read from the table at a time, by the hub and by a replay.
const PAGE: i64 = 500;
/// Events the in-memory fan-out keeps for connections that are a little behind.
const RING: usize = 4096;
/// How many events behind the newest a reconnecting or lagging browser may be and
/// still be caught up; further behind, it reloads its screens instead.
pub const MAX_BEHIND: i64 = 10_000;
/// How long events are kept for reconnecting browsers.
pub const RETENTION: chrono::Duration = chrono::Duration::hours(48);
/// The hub looks at the table this often even without a wake-up, in case a
/// notification was lost (a PostgreSQL listener reconnecting, say).
const POLL: Duration = Duration::from_secs(1);

/// One committed change to a client, with the client's assignment at that moment.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Event {
    pub id: i64,
    pub client_id: i64,
    pub advisor_id: Option<i64>,
    pub supervisor_id: Option<i64>,
}

impl Event {
    /// Whether a user reading with `scope` may hear of this change.
    pub fn visible(&self, scope: Scope) -> bool {
        if self.client_id == NO_CLIENT {
            return true;
        }
        match scope {
            Scope::All => true,
            Scope::Advisor(id) => self.advisor_id == Some(id),
            Scope::Supervisor(id) => self.supervisor_id == Some(id),
        }
    }
}

/// Records one event per client, inside the SQLite transaction that changed them.
pub(crate) async fn record_sqlite(
    conn: &mut SqliteConnection,
    clients: &[i64],
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let ids = serde_json::to_string(clients).unwrap_or_else(|_| "[]".into());
    sqlx::query(
        "INSERT INTO events (at, client_id, advisor_id, supervisor_id) \
         SELECT $1, c.id, c.advisor_id, c.supervisor_id FROM clients c \
         WHERE c.id IN (SELECT value FROM json_each($2)) \
         UNION ALL SELECT $1, 0, NULL, NULL WHERE 0 IN (SELECT value FROM json_each($2)) \
         ORDER BY 2",
    )
    .bind(at)
    .bind(ids)
    .execute(conn)
    .await
    .map(drop)
}

/// Records one event per client inside the PostgreSQL transaction that changed them,
/// under the lock that keeps ids in commit order, and notifies every process (the
/// database delivers the notifications at commit, and drops them if it fails). One
/// round trip: the insert's rows, and so their ids, exist only once the lock is held.
pub(crate) async fn record_postgres(
    conn: &mut PgConnection,
    clients: &[i64],
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "WITH turn AS (SELECT pg_advisory_xact_lock(hashtextextended('recaudo_events.' || current_schema(), 0))), \
         recorded AS (INSERT INTO events (at, client_id, advisor_id, supervisor_id) \
             SELECT $1, c.id, c.advisor_id, c.supervisor_id FROM turn, clients c WHERE c.id = ANY($2) \
             UNION ALL SELECT $1, 0, NULL, NULL FROM turn WHERE 0 = ANY($2) \
             ORDER BY 2 RETURNING client_id) \
         SELECT pg_notify({CHANNEL_SQL}, client_id::text) FROM recorded"
    ))
    .bind(at)
    .bind(clients)
    .execute(conn)
    .await
    .map(drop)
}

/// The events after `after` that `scope` may see, oldest first, at most `limit`.
pub async fn after(
    db: &Db,
    after: i64,
    scope: Scope,
    limit: i64,
) -> Result<Vec<Event>, sqlx::Error> {
    let (condition, user) = match scope {
        Scope::All => ("", 0),
        Scope::Advisor(id) => (" AND (advisor_id = $3 OR client_id = 0)", id),
        Scope::Supervisor(id) => (" AND (supervisor_id = $3 OR client_id = 0)", id),
    };
    let sql = format!(
        "SELECT id, client_id, advisor_id, supervisor_id FROM events \
         WHERE id > $1{condition} ORDER BY id LIMIT $2"
    );
    on_db!(db, p => {
        let q = sqlx::query_as(&sql).bind(after).bind(limit);
        let q = if condition.is_empty() { q } else { q.bind(user) };
        q.fetch_all(p).await
    })
}

/// The newest id handed out, and the last id pruned.
async fn bounds(db: &Db) -> Result<(i64, i64), sqlx::Error> {
    let (newest, pruned): (i64, i64) = on_db!(db, p => sqlx::query_as(
        "SELECT COALESCE((SELECT MAX(id) FROM events), 0), pruned_through FROM event_horizon")
        .fetch_one(p).await)?;
    Ok((newest.max(pruned), pruned))
}

/// Deletes the events recorded before `before`; returns how many. Safe to run from
/// several processes at once.
pub async fn prune(db: &Db, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let deleted = crate::on_tx!(&mut tx, c => {
        let (last,): (Option<i64>,) = sqlx::query_as("SELECT MAX(id) FROM events WHERE at < $1")
            .bind(before).fetch_one(&mut *c).await?;
        match last {
            None => 0,
            Some(last) => {
                // By id, not by time: what remains is always one unbroken range.
                sqlx::query("UPDATE event_horizon SET pruned_through = $1 WHERE pruned_through < $1")
                    .bind(last).execute(&mut *c).await?;
                sqlx::query("DELETE FROM events WHERE id <= $1")
                    .bind(last).execute(&mut *c).await?.rows_affected()
            }
        }
    });
    tx.commit().await?;
    Ok(deleted)
}

/// This process's tail of the events table, fanned out to its connections.
#[derive(Debug)]
pub struct Hub {
    sender: broadcast::Sender<Event>,
    /// The newest id the hub has fanned out.
    head: AtomicI64,
}

impl Hub {
    /// Starts tailing from the newest event: connections that want older ones read
    /// them from the table.
    pub async fn start(db: Db) -> Result<Arc<Hub>, sqlx::Error> {
        let (newest, _) = bounds(&db).await?;
        let hub = Arc::new(Hub {
            sender: broadcast::channel(RING).0,
            head: AtomicI64::new(newest),
        });
        let wake = db.notifier().subscribe();
        tokio::spawn(tail(db, hub.clone(), wake));
        Ok(hub)
    }

    pub fn head(&self) -> i64 {
        self.head.load(Ordering::Acquire)
    }
}

async fn tail(db: Db, hub: Arc<Hub>, mut wake: broadcast::Receiver<i64>) {
    loop {
        tokio::select! {
            _ = wake.recv() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
        // One read answers every wake-up queued so far.
        while !matches!(
            wake.try_recv(),
            Err(broadcast::error::TryRecvError::Empty | broadcast::error::TryRecvError::Closed)
        ) {}
        loop {
            match after(&db, hub.head(), Scope::All, PAGE).await {
                Ok(batch) => {
                    for e in &batch {
                        hub.head.store(e.id, Ordering::Release);
                        // No connection listening is fine: nothing to tell.
                        let _ = hub.sender.send(e.clone());
                    }
                    if (batch.len() as i64) < PAGE {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "event stream: reading new events failed");
                    break;
                }
            }
        }
    }
}

/// What a connection is told next.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Event(Event),
    /// Events it missed are gone (pruned, too many, or from another database): the
    /// browser reloads its screens and starts again from the newest.
    Reload,
}

/// One connection's view of the stream: the events its user may see, after its cursor,
/// in order, each once.
pub struct Subscription {
    db: Db,
    scope: Scope,
    /// Every event up to here was sent or is not for this user.
    cursor: i64,
    live: broadcast::Receiver<Event>,
    backlog: VecDeque<Event>,
    catching_up: bool,
}

impl Subscription {
    /// From just after `last` (the last id the browser saw), or from now.
    pub fn open(db: Db, hub: &Hub, scope: Scope, last: Option<i64>) -> Subscription {
        // Listening starts before the table is read, so nothing committed in between
        // is missed; what arrives both ways is told once (ids at or below the cursor
        // are skipped).
        let live = hub.sender.subscribe();
        let cursor = last.unwrap_or_else(|| hub.head());
        Subscription {
            db,
            scope,
            cursor,
            live,
            backlog: VecDeque::new(),
            catching_up: last.is_some(),
        }
    }

    /// The last event id sent or skipped.
    pub fn cursor(&self) -> i64 {
        self.cursor
    }

    pub async fn next(&mut self) -> Result<Next, sqlx::Error> {
        loop {
            if let Some(e) = self.backlog.pop_front() {
                return Ok(Next::Event(e));
            }
            if self.catching_up {
                let (newest, pruned) = bounds(&self.db).await?;
                if self.cursor < pruned || self.cursor > newest || newest - self.cursor > MAX_BEHIND
                {
                    return Ok(Next::Reload);
                }
                let page = after(&self.db, self.cursor, self.scope, PAGE).await?;
                if let Some(last) = page.last() {
                    self.cursor = last.id;
                }
                self.catching_up = page.len() as i64 == PAGE;
                self.backlog.extend(page);
                continue;
            }
            match self.live.recv().await {
                Ok(e) if e.id <= self.cursor => {}
                Ok(e) => {
                    self.cursor = e.id;
                    if e.visible(self.scope) {
                        return Ok(Next::Event(e));
                    }
                }
                // The ring moved past this connection: the rest is in the table.
                Err(broadcast::error::RecvError::Lagged(_)) => self.catching_up = true,
                Err(broadcast::error::RecvError::Closed) => return Ok(Next::Reload),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_seen_by_its_advisor_their_supervisor_and_administrators_only() {
        let e = Event {
            id: 1,
            client_id: 7,
            advisor_id: Some(10),
            supervisor_id: Some(20),
        };
        assert!(e.visible(Scope::All));
        assert!(e.visible(Scope::Advisor(10)));
        assert!(e.visible(Scope::Supervisor(20)));
        assert!(!e.visible(Scope::Advisor(11)));
        assert!(
            !e.visible(Scope::Advisor(20)),
            "an advisor id is not a supervisor id"
        );
        assert!(!e.visible(Scope::Supervisor(10)));
        let unassigned = Event {
            advisor_id: None,
            supervisor_id: None,
            ..e
        };
        assert!(unassigned.visible(Scope::All));
        assert!(!unassigned.visible(Scope::Advisor(10)));
        assert!(!unassigned.visible(Scope::Supervisor(20)));
    }
}
