//! The outbox's dispatcher: each server process claims due rows of the outbox
//! ([`crate::server::messages::outbox`]) and delivers them through the channel's
//! provider, a batch at a time, several messages at once.

use futures::StreamExt;
use rand::Rng;

use super::email::unsubscribe;
use super::providers::Providers;
use super::{load_all, ChannelSetting};
use crate::domain::error::AppError;
use crate::domain::message::Channel;
use crate::server::db::Db;
use crate::server::messages::outbox::{claim, outgoing, settle, Delivery, Policy};
use crate::server::messages::preflight;

/// Delivers the outbox, batch after batch, in one process. It is woken when this
/// process queues a message to go out now, and looks every `policy.poll` for rows
/// other processes wrote or whose time came.
#[derive(Clone)]
pub struct Dispatcher {
    pub db: Db,
    pub worker: String,
    pub policy: Policy,
    pub providers: Providers,
}

impl Dispatcher {
    pub fn new(db: Db, policy: Policy, providers: Providers) -> Self {
        Dispatcher {
            db,
            worker: format!(
                "{}-{:08x}",
                std::process::id(),
                rand::thread_rng().gen::<u32>()
            ),
            policy,
            providers,
        }
    }

    /// Claims one batch and delivers it; returns how many rows it handled.
    pub async fn run_once(&self) -> Result<usize, AppError> {
        let claimed = claim(
            &self.db,
            &self.worker,
            crate::server::clock::now(),
            &self.policy,
        )
        .await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let settings = load_all(&self.db).await?;
        let n = claimed.len();
        futures::stream::iter(claimed)
            .map(|(id, attempts)| self.deliver(&settings, id, attempts))
            .buffer_unordered(self.policy.concurrency)
            .for_each(|r| async move {
                if let Err(e) = r {
                    // The row stays claimed and is taken again when its lease ends.
                    tracing::error!(error = %e.reason(), "outbox delivery could not be recorded");
                }
            })
            .await;
        Ok(n)
    }

    async fn deliver(
        &self,
        settings: &[ChannelSetting],
        message_id: i64,
        attempts: i32,
    ) -> Result<(), AppError> {
        let mut m = outgoing(&self.db, message_id).await?;
        if let (Channel::Email, Some(origin)) = (m.channel, &self.providers.origin) {
            let key = unsubscribe::key(&self.db).await?;
            m.unsubscribe = Some(unsubscribe::link(&key, origin, &m.to));
        }
        // A message queued before the debtor opted out (a retry, a scheduled send) must
        // not leave after it: the opt-out is read again at the last moment.
        let refused = preflight::opt_outs(&self.db, std::slice::from_ref(&m.to))
            .await?
            .reason(&m.to, m.channel)
            .map(str::to_string);
        let delivery = match (refused, settings.iter().find(|s| s.channel == m.channel)) {
            (Some(why), _) => Delivery::Rejected(format!("No enviado: {why}")),
            (None, Some(s)) if s.active || m.channel == Channel::Call => {
                self.providers.send(s, &m).await
            }
            (None, Some(_)) => Delivery::Rejected(format!(
                "{} no está activo para la organización.",
                m.channel.label()
            )),
            (None, None) => {
                Delivery::Rejected(format!("{} no se envía por el outbox.", m.channel.label()))
            }
        };
        settle(
            &self.db,
            &self.worker,
            message_id,
            attempts,
            delivery,
            crate::server::clock::now(),
            &self.policy,
        )
        .await
    }

    /// Runs until the process ends.
    pub async fn run(self) {
        let wake = self.db.notifier().outbox_wakeups();
        loop {
            match self.run_once().await {
                Ok(0) => {
                    tokio::select! {
                        _ = wake.notified() => {}
                        _ = tokio::time::sleep(self.policy.poll) => {}
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e.reason(), "outbox dispatch failed");
                    tokio::time::sleep(self.policy.poll).await;
                }
            }
        }
    }
}
