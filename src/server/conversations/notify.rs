//! "This conversation changed": pushed to open conversation screens. On PostgreSQL the
//! news goes through LISTEN/NOTIFY, so a message taken in by one server process reaches
//! the screens served by every other; on SQLite there is one process.

use tokio::sync::broadcast;

use crate::domain::error::AppError;
use crate::server::db::{Db, Tx};

const CHANNEL: &str = "recaudo_conversations";

#[derive(Clone)]
pub struct Notifier {
    sender: broadcast::Sender<i64>,
}

impl Default for Notifier {
    fn default() -> Self {
        Notifier {
            sender: broadcast::channel(1024).0,
        }
    }
}

/// Announces a client's change from inside the transaction that makes it: PostgreSQL
/// delivers the notification when that transaction commits, and saves the commit a
/// separate announcement would cost (the hot path of provider callbacks). Returns
/// whether it announced; SQLite's announcements go through [`Notifier::publish`].
pub async fn announce_in(tx: &mut Tx, client_id: i64) -> Result<bool, AppError> {
    match tx {
        Tx::Postgres(t) => {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(client_id.to_string())
                .execute(&mut **t)
                .await?;
            Ok(true)
        }
        Tx::Sqlite(_) => Ok(false),
    }
}

impl Notifier {
    /// Starts forwarding PostgreSQL notifications to this process's listeners.
    pub async fn listen(&self, db: &Db) -> Result<(), sqlx::Error> {
        let Db::Postgres(pool) = db else {
            return Ok(());
        };
        let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        let sender = self.sender.clone();
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

    /// Announces, after their transaction committed, that these clients' conversations
    /// changed. Losing an announcement only delays a screen until its next refresh.
    pub async fn publish(&self, db: &Db, client_ids: &[i64]) {
        match db {
            Db::Postgres(pool) => {
                for id in client_ids {
                    let sent = sqlx::query("SELECT pg_notify($1, $2)")
                        .bind(CHANNEL)
                        .bind(id.to_string())
                        .execute(pool)
                        .await;
                    if let Err(e) = sent {
                        tracing::warn!(error = %e, "could not announce a conversation change");
                    }
                }
            }
            Db::Sqlite(_) => {
                for id in client_ids {
                    let _ = self.sender.send(*id);
                }
            }
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<i64> {
        self.sender.subscribe()
    }
}
