//! Announcements that a conversation changed, and wake-ups for this process's outbox
//! dispatcher. A transaction ([`crate::server::db::Tx`]) records what it changed and
//! announces it when it commits: on PostgreSQL with `pg_notify` inside the transaction
//! (delivered by the database at commit, to every server process that listens), on
//! SQLite to this process's listeners right after the commit. A change that rolls back
//! announces nothing.

use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::{broadcast, Notify};

/// The notification channel, per schema: deployments (and test runs) that share a
/// PostgreSQL server in schemas of their own do not hear each other.
pub(crate) const CHANNEL_SQL: &str = "'recaudo_conversations_' || current_schema()";

/// Carried by every database handle and transaction of a process.
#[derive(Clone, Debug)]
pub struct Notifier {
    conversations: broadcast::Sender<i64>,
    outbox: Arc<Notify>,
}

impl Default for Notifier {
    fn default() -> Self {
        Notifier {
            conversations: broadcast::channel(1024).0,
            outbox: Arc::new(Notify::new()),
        }
    }
}

impl Notifier {
    /// Tells this process's listeners that these conversations changed (SQLite, after
    /// the commit). Losing one only delays a screen until its next refresh.
    pub(crate) fn publish(&self, client_ids: impl IntoIterator<Item = i64>) {
        for id in client_ids {
            let _ = self.conversations.send(id);
        }
    }

    /// Wakes this process's dispatcher: a message was queued to go out now.
    pub(crate) fn outbox_queued(&self) {
        self.outbox.notify_one();
    }

    pub fn subscribe(&self) -> broadcast::Receiver<i64> {
        self.conversations.subscribe()
    }

    /// What the dispatcher waits on between batches.
    pub fn outbox_wakeups(&self) -> Arc<Notify> {
        self.outbox.clone()
    }

    /// Starts forwarding PostgreSQL's notifications for this schema to this process's
    /// listeners.
    pub(crate) async fn listen(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let (channel,): (String,) = sqlx::query_as(&format!("SELECT {CHANNEL_SQL}"))
            .fetch_one(pool)
            .await?;
        let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
        listener.listen(&channel).await?;
        let sender = self.conversations.clone();
        tokio::spawn(async move {
            loop {
                match listener.recv().await {
                    Ok(n) => {
                        if let Ok(id) = n.payload().parse::<i64>() {
                            let _ = sender.send(id);
                        }
                    }
                    // PgListener reconnects by itself on the next recv; wait a moment so
                    // a database that is down does not spin this loop.
                    Err(e) => {
                        tracing::warn!(error = %e, "conversation notifications interrupted");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(())
    }
}
