//! The one preflight every outbound contact passes before it leaves: the debtor's
//! country's policy, the holidays, the debtor's contacts on every tab, the opt-outs of
//! the address, and what a reference may read. The composer, click-to-call, the calls
//! tray and the automated senders all ask here, and every decision taken on a send is
//! stored with the rules that spoke.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::domain::automation::ContactHours;
use crate::domain::contact::parse_withheld;
use crate::domain::error::AppError;
use crate::domain::governance::{
    self, disclosure, opted_out_channels, Action, Attempt, Decision, PastContact, Policy,
    CONSENT_RULE, DISCLOSURE_RULE,
};
use crate::domain::message::Channel;
use crate::server::clock::first_instant;
use crate::server::db::{Db, Pool, Tx, TxConn};
use crate::server::messages::PartyRef;
use crate::{on_db, on_tx};

/// How far around an attempt the debtor's contacts are read: the widest window (an ISO
/// week or 7 rolling days) on both sides, since queued contacts count too.
const HISTORY_DAYS: i64 = 8;

/// Every country's policy and holidays, read once for a request or a scheduler pass.
#[derive(Clone, Debug)]
pub struct Policies {
    stored: HashMap<String, Policy>,
    holidays: HashMap<String, Vec<NaiveDate>>,
    contact: ContactHours,
    org_tz: Tz,
}

impl Policies {
    /// The policies in force. They are read from the database only when the revision
    /// that every change bumps moved since this process last read them, so a check
    /// costs one small query instead of three and an edit in any process counts at once.
    pub async fn current(db: &Db, org_tz: Tz) -> Result<Arc<Policies>, AppError> {
        let (revision,): (i64,) = on_db!(db, p => sqlx::query_as(
            "SELECT policy_revision FROM automation_settings WHERE id = 1").fetch_one(p).await)?;
        Self::at_revision(db, org_tz, revision).await
    }

    /// The policies of `revision`, read just before by the caller.
    async fn at_revision(db: &Db, org_tz: Tz, revision: i64) -> Result<Arc<Policies>, AppError> {
        let memo = db.policy_memo();
        if let Some((seen, policies)) = memo.lock().map_err(AppError::internal)?.as_ref() {
            if *seen == revision && policies.org_tz == org_tz {
                return Ok(policies.clone());
            }
        }
        // Read after the revision: a change in between is stored under the older
        // revision and read again at the next check, never kept past it.
        let policies = Arc::new(Policies::load(db, org_tz).await?);
        *memo.lock().map_err(AppError::internal)? = Some((revision, policies.clone()));
        Ok(policies)
    }

    /// Marks a change to what [`Policies::current`] reads, in the change's transaction.
    pub async fn changed(tx: &mut Tx) -> Result<(), AppError> {
        on_tx!(tx, c => sqlx::query(
            "UPDATE automation_settings SET policy_revision = policy_revision + 1 WHERE id = 1")
            .execute(&mut *c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    async fn load(db: &Db, org_tz: Tz) -> Result<Policies, AppError> {
        let rows: Vec<(String, String)> = on_db!(db, p => sqlx::query_as(
            "SELECT country, rules FROM contact_policies").fetch_all(p).await)?;
        let mut stored = HashMap::new();
        for (country, rules) in rows {
            let policy: Policy = serde_json::from_str(&rules)
                .map_err(|e| crate::server::db::corrupt("contact policy", e.to_string()))?;
            stored.insert(country, policy);
        }
        let days: Vec<(String, NaiveDate)> = on_db!(db, p => sqlx::query_as(
            "SELECT country, day FROM holidays ORDER BY country, day").fetch_all(p).await)?;
        let mut holidays: HashMap<String, Vec<NaiveDate>> = HashMap::new();
        for (country, day) in days {
            holidays.entry(country).or_default().push(day);
        }
        let contact = crate::server::automation::settings(db).await?.contact;
        Ok(Policies {
            stored,
            holidays,
            contact,
            org_tz,
        })
    }

    /// The policy in force for debtors of `country`: the edited one, else the shipped.
    pub fn policy(&self, country: &str) -> Policy {
        self.stored
            .get(country)
            .cloned()
            .unwrap_or_else(|| Policy::shipped(country, &self.contact))
    }

    pub fn is_edited(&self, country: &str) -> bool {
        self.stored.contains_key(country)
    }

    pub fn holidays(&self, country: &str) -> &[NaiveDate] {
        self.holidays.get(country).map_or(&[], Vec::as_slice)
    }

    /// The debtor's zone, or the organisation's when the stored one is unknown.
    pub fn zone(&self, time_zone: &str) -> Tz {
        time_zone.parse().unwrap_or(self.org_tz)
    }
}

/// Who is about to be contacted, how and with what.
#[derive(Clone, Debug)]
pub struct Target<'a> {
    pub tab: PartyRef,
    pub country: &'a str,
    pub time_zone: &'a str,
    pub channel: Channel,
    /// Where it goes; empty when the channel has no address yet.
    pub address: &'a str,
    /// The final text, checked for what a reference may not read; empty for a call.
    pub text: &'a str,
}

/// The contacts of many debtors around `at`, in one query (the calls tray).
pub async fn histories(
    db: &Db,
    client_ids: &[i64],
    at: DateTime<Utc>,
) -> Result<BTreeMap<i64, Vec<(Channel, DateTime<Utc>)>>, AppError> {
    let mut out: BTreeMap<i64, Vec<(Channel, DateTime<Utc>)>> = BTreeMap::new();
    if client_ids.is_empty() {
        return Ok(out);
    }
    let (from, to) = window(at);
    // One row per debtor: a debtor written to a thousand times in a week would
    // otherwise cost a thousand rows through the driver (about 3 µs each), three times
    // the rest of the check. The ids are integers of our own, so formatting them in is
    // safe.
    let filter = format!(
        "{CONTACTS} AND client_id IN ({}) GROUP BY client_id",
        id_list(client_ids)
    );
    match db.pool() {
        // SQLite keeps the instants as RFC 3339 text: the contacts come joined in one.
        Pool::Sqlite(p) => {
            let sql = format!("SELECT client_id, {JOINED} {filter}");
            let rows: Vec<(i64, String, String)> = sqlx::query_as(&sql)
                .bind(from)
                .bind(to)
                .fetch_all(p)
                .await?;
            for (client_id, channels, instants) in rows {
                out.insert(client_id, split_joined(&channels, &instants)?);
            }
        }
        // PostgreSQL sends arrays in its binary form: nothing to build or parse as text.
        Pool::Postgres(p) => {
            let sql = format!("SELECT client_id, {ARRAYS} {filter}");
            let rows: Vec<(i64, Vec<String>, Vec<DateTime<Utc>>)> = sqlx::query_as(&sql)
                .bind(from)
                .bind(to)
                .fetch_all(p)
                .await?;
            for (client_id, channels, instants) in rows {
                out.insert(client_id, zip_arrays(&channels, instants)?);
            }
        }
    }
    Ok(out)
}

/// The contacts that count, between $1 and $2: outbound and not held back, on every
/// tab, queued ones included.
const CONTACTS: &str = "FROM messages WHERE occurred_at >= $1 AND occurred_at < $2
    AND direction = 'outbound' AND NOT held";
/// The contacts as SQLite returns them: channels and instants, each joined by commas,
/// in step (one pass feeds both). Joining each pair first would cost as much again.
const JOINED: &str = "coalesce(group_concat(channel), ''), coalesce(group_concat(occurred_at), '')";
/// The contacts as PostgreSQL returns them: two arrays in step.
const ARRAYS: &str = "coalesce(array_agg(channel), '{}'), coalesce(array_agg(occurred_at), '{}')";

/// How far around an instant the contacts are read.
fn window(at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        at - Duration::days(HISTORY_DAYS),
        at + Duration::days(HISTORY_DAYS),
    )
}

fn split_joined(channels: &str, instants: &str) -> Result<Vec<(Channel, DateTime<Utc>)>, AppError> {
    if channels.is_empty() && instants.is_empty() {
        return Ok(Vec::new());
    }
    let (mut channels, mut instants) = (channels.split(','), instants.split(','));
    let mut out = Vec::new();
    loop {
        match (channels.next(), instants.next()) {
            (Some(c), Some(t)) => out.push(contact(c, t)?),
            (None, None) => return Ok(out),
            _ => {
                return Err(crate::server::db::corrupt(
                    "contact history",
                    "channels and instants out of step".into(),
                ))
            }
        }
    }
}

fn zip_arrays(
    channels: &[String],
    instants: Vec<DateTime<Utc>>,
) -> Result<Vec<(Channel, DateTime<Utc>)>, AppError> {
    channels
        .iter()
        .zip(instants)
        .map(|(c, t)| {
            c.parse()
                .map(|c| (c, t))
                .map_err(|_| crate::server::db::corrupt("contact channel", c.clone()))
        })
        .collect()
}

/// One contact as SQLite returns it: the channel, and the instant as text.
fn contact(channel: &str, at: &str) -> Result<(Channel, DateTime<Utc>), AppError> {
    let bad = || crate::server::db::corrupt("contact history", format!("{channel} {at}"));
    let channel: Channel = channel.parse().map_err(|_| bad())?;
    // What the driver writes, read by hand (chrono's general parser costs more than
    // the rest of a contact); else any RFC 3339 text, or the plain form the driver
    // also reads.
    let at = utc_instant(at)
        .or_else(|| {
            DateTime::parse_from_rfc3339(at)
                .map(|t| t.with_timezone(&Utc))
                .ok()
        })
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(at, "%Y-%m-%d %H:%M:%S%.f")
                .map(|t| t.and_utc())
                .ok()
        });
    Ok((channel, at.ok_or_else(bad)?))
}

/// An instant as the SQLite driver writes a UTC one: "2026-11-23T15:00:00+00:00",
/// with 3, 6 or 9 digits of fraction when it has them.
fn utc_instant(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    let digits = |from: usize, to: usize| -> Option<u32> {
        b.get(from..to)?.iter().try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let body = text.strip_suffix("+00:00")?;
    let punctuated = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if body.len() < 19 || punctuated.iter().any(|(i, c)| b[*i] != *c) {
        return None;
    }
    let nanos = match &body[19..] {
        "" => 0,
        fraction => {
            let figures = fraction.strip_prefix('.')?;
            if figures.is_empty() || figures.len() > 9 {
                return None;
            }
            digits(20, body.len())? * 10u32.pow(9 - figures.len() as u32)
        }
    };
    NaiveDate::from_ymd_opt(digits(0, 4)? as i32, digits(5, 7)?, digits(8, 10)?)?
        .and_hms_nano_opt(digits(11, 13)?, digits(14, 16)?, digits(17, 19)?, nanos)
        .map(|t| t.and_utc())
}

/// What one check reads besides the opt-outs.
struct Reading {
    revision: i64,
    history: Vec<(Channel, DateTime<Utc>)>,
    /// Whether the party wrote on this channel in the last 24 hours: an answer to it is
    /// information the debtor asked for.
    reply: bool,
}

/// Where a check reads: the pool, or the send's own transaction.
enum Source<'a> {
    Pool(&'a Db),
    Tx(&'a mut Tx),
}

type SqliteReading = (i64, String, String, bool);
type PostgresReading = (i64, Vec<String>, Vec<DateTime<Utc>>, bool);

/// The policies' revision, the debtor's contacts around `at` and whether the party
/// wrote, in one statement: each round trip to PostgreSQL costs about as much as
/// judging a thousand contacts.
async fn read(
    source: Source<'_>,
    target: &Target<'_>,
    at: DateTime<Utc>,
) -> Result<Reading, AppError> {
    let (from, to) = window(at);
    let channels: Vec<&str> = opted_out_channels(target.channel)
        .iter()
        .map(|c| c.as_str())
        .collect();
    let other = channels.last().copied().unwrap_or("");
    let tab = target.tab;
    let select = |contacts: &str| {
        format!(
            "SELECT (SELECT policy_revision FROM automation_settings WHERE id = 1), {contacts},
                $4 AND EXISTS (SELECT 1 FROM messages WHERE client_id = $3 AND party_role = $5
                  AND party_ordinal = $6 AND direction = 'inbound' AND channel IN ($7, $8)
                  AND occurred_at >= $9)
             {CONTACTS} AND client_id = $3"
        )
    };
    macro_rules! bound {
        ($sql:expr, $row:ty) => {
            sqlx::query_as::<_, $row>($sql)
                .bind(from)
                .bind(to)
                .bind(tab.client_id)
                .bind(target.channel != Channel::Call)
                .bind(tab.role.as_str())
                .bind(tab.ordinal)
                .bind(channels[0])
                .bind(other)
                .bind(at - Duration::hours(24))
        };
    }
    let (sqlite, postgres) = (select(JOINED), select(ARRAYS));
    let sqlite_reading = |(revision, channels, instants, reply): SqliteReading| {
        Ok::<_, AppError>(Reading {
            revision,
            history: split_joined(&channels, &instants)?,
            reply,
        })
    };
    let postgres_reading = |(revision, channels, instants, reply): PostgresReading| {
        Ok::<_, AppError>(Reading {
            revision,
            history: zip_arrays(&channels, instants)?,
            reply,
        })
    };
    match source {
        Source::Pool(db) => match db.pool() {
            Pool::Sqlite(p) => sqlite_reading(bound!(&sqlite, SqliteReading).fetch_one(p).await?),
            Pool::Postgres(p) => {
                postgres_reading(bound!(&postgres, PostgresReading).fetch_one(p).await?)
            }
        },
        Source::Tx(tx) => match tx.conn() {
            TxConn::Sqlite(t) => {
                sqlite_reading(bound!(&sqlite, SqliteReading).fetch_one(&mut **t).await?)
            }
            TxConn::Postgres(t) => postgres_reading(
                bound!(&postgres, PostgresReading)
                    .fetch_one(&mut **t)
                    .await?,
            ),
        },
    }
}

/// The opt-outs of these addresses and the channels withheld on them (on any debtor's
/// contact point with that value): address → channel → why, in one statement. For a
/// sender that knows only the address (the dispatcher, click-to-call).
pub async fn opt_outs(db: &Db, addresses: &[String]) -> Result<OptOuts, AppError> {
    refusals(db, addresses, true).await
}

/// The opt-outs alone, for a caller that has the client's contact points, withheld
/// channels included, already read: a second probe of them would cost the composer a
/// good part of its check.
pub async fn asked_to_stop(db: &Db, addresses: &[String]) -> Result<OptOuts, AppError> {
    refusals(db, addresses, false).await
}

async fn refusals(db: &Db, addresses: &[String], points: bool) -> Result<OptOuts, AppError> {
    let mut out = OptOuts::default();
    if addresses.is_empty() {
        return Ok(out);
    }
    let marks = (1..=addresses.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut sql = format!(
        "SELECT TRUE, address, channel, at, source FROM contact_opt_outs WHERE address IN ({marks})"
    );
    if points {
        // Every kind is listed so the (kind, value) index can be probed by value.
        sql.push_str(&format!(
            " UNION ALL
             SELECT FALSE, value, withheld, created_at, '' FROM contact_points
             WHERE kind IN ('phone', 'email', 'whatsapp') AND value IN ({marks}) AND withheld <> ''"
        ));
    }
    let rows: Vec<(bool, String, String, DateTime<Utc>, String)> = on_db!(db, p => {
        let mut q = sqlx::query_as(&sql);
        for a in addresses {
            q = q.bind(a);
        }
        q.fetch_all(p).await
    })?;
    // An opt-out's sentence is kept over a withheld channel's whatever the rows' order.
    let (opted, withheld): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| r.0);
    for (_, address, channel, at, source) in opted {
        let channel: Channel = channel
            .parse()
            .map_err(|e: String| crate::server::db::corrupt("opt-out channel", e))?;
        out.add(address, channel, at, &source);
    }
    for (_, address, channels, ..) in withheld {
        out.withhold(&address, &parse_withheld(&channels));
    }
    Ok(out)
}

/// The opt-outs of every address of these debtors (all their tabs), by debtor, in one
/// query: a scheduler batch's. Every debtor asked for has an entry.
pub async fn clients_opt_outs(
    db: &Db,
    client_ids: &[i64],
) -> Result<HashMap<i64, OptOuts>, AppError> {
    let mut out: HashMap<i64, OptOuts> = client_ids
        .iter()
        .map(|id| (*id, OptOuts::default()))
        .collect();
    if client_ids.is_empty() {
        return Ok(out);
    }
    // Integers of our own, as in `histories`.
    let sql = format!(
        "SELECT cp.client_id, o.address, o.channel, o.at, o.source
         FROM contact_points cp JOIN contact_opt_outs o ON o.address = cp.value
         WHERE cp.client_id IN ({})",
        id_list(client_ids)
    );
    let rows: Vec<(i64, String, Channel, DateTime<Utc>, String)> =
        on_db!(db, p => sqlx::query_as(&sql).fetch_all(p).await)?;
    for (client_id, address, channel, at, source) in rows {
        out.entry(client_id)
            .or_default()
            .add(address, channel, at, &source);
    }
    let sql = format!(
        "SELECT client_id, value, withheld FROM contact_points
         WHERE client_id IN ({}) AND withheld <> ''",
        id_list(client_ids)
    );
    let rows: Vec<(i64, String, String)> =
        on_db!(db, p => sqlx::query_as(&sql).fetch_all(p).await)?;
    for (client_id, address, withheld) in rows {
        out.entry(client_id)
            .or_default()
            .withhold(&address, &parse_withheld(&withheld));
    }
    Ok(out)
}

fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// Opt-outs by address and channel, with the sentence that explains each.
#[derive(Clone, Debug, Default)]
pub struct OptOuts(HashMap<(String, Channel), String>);

impl OptOuts {
    fn add(&mut self, address: String, channel: Channel, at: DateTime<Utc>, source: &str) {
        let why = format!(
            "{address} pidió no recibir más por {} ({}, {source}).",
            channel.label(),
            at.format("%d/%m/%Y")
        );
        self.0.insert((address, channel), why);
    }

    /// Records the channels the debtor did not authorise on an address; an opt-out
    /// already read for the same channel keeps its own sentence.
    pub fn withhold(&mut self, address: &str, withheld: &[Channel]) {
        for channel in withheld.iter().flat_map(|c| opted_out_channels(*c)) {
            self.0
                .entry((address.to_string(), channel))
                .or_insert_with(|| {
                    format!(
                        "El deudor no autorizó {} en {address} (canales autorizados).",
                        channel.label()
                    )
                });
        }
    }

    pub fn reason(&self, address: &str, channel: Channel) -> Option<&str> {
        self.0
            .get(&(address.to_string(), channel))
            .map(String::as_str)
    }

    /// The channels each address refused, as the composer's contact points carry them.
    pub fn refused(&self, address: &str) -> Vec<(Channel, String)> {
        self.0
            .iter()
            .filter(|((a, _), _)| a == address)
            .map(|((_, c), why)| (*c, why.clone()))
            .collect()
    }
}

/// Judges a contact at `at` with the debtor's contacts already read.
pub fn judge(
    policies: &Policies,
    target: &Target<'_>,
    history: &[(Channel, DateTime<Utc>)],
    opt_outs: &OptOuts,
    reply: bool,
    at: DateTime<Utc>,
) -> Decision {
    let policy = policies.policy(target.country);
    let tz = policies.zone(target.time_zone);
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).naive_local();
    let past: Vec<PastContact> = history
        .iter()
        .map(|(channel, t)| PastContact {
            at: local(*t),
            channel: *channel,
        })
        .collect();
    let attempt = Attempt {
        at: local(at),
        channel: target.channel,
        reply,
    };
    let mut decision =
        governance::preflight(&policy, policies.holidays(target.country), &past, &attempt);
    if let Some(why) = opt_outs.reason(target.address, target.channel) {
        decision.add(CONSENT_RULE, Action::Block, why.to_string());
        decision.next_allowed = None;
    }
    if let Some(why) = disclosure(target.tab.role, target.text) {
        decision.add(DISCLOSURE_RULE, policy.reference_disclosure, why);
    }
    decision
}

/// The full preflight of one contact now, given the opt-outs the caller already read
/// for the channel's choice (they hold the target's address): reads the rest in one
/// statement and judges. The policies judged by come back for the caller's wording.
pub async fn check(
    db: &Db,
    org_tz: Tz,
    target: &Target<'_>,
    opt_outs: &OptOuts,
    at: DateTime<Utc>,
) -> Result<(Arc<Policies>, Decision), AppError> {
    let reading = read(Source::Pool(db), target, at).await?;
    let policies = Policies::at_revision(db, org_tz, reading.revision).await?;
    let decision = judge(
        &policies,
        target,
        &reading.history,
        opt_outs,
        reading.reply,
        at,
    );
    Ok((policies, decision))
}

/// Judges a contact again inside the transaction that will write it, with the debtor
/// locked: two sends racing for a debtor's last allowed contact of the day were both
/// allowed by their checks before either was written, and only one may leave. SQLite's
/// write transactions already run one at a time; PostgreSQL locks the debtor's row
/// until the send commits or rolls back.
pub async fn confirm(
    tx: &mut Tx,
    policies: &Policies,
    target: &Target<'_>,
    opt_outs: &OptOuts,
    at: DateTime<Utc>,
) -> Result<Decision, AppError> {
    if let TxConn::Postgres(t) = tx.conn() {
        sqlx::query("SELECT 1 FROM clients WHERE id = $1 FOR UPDATE")
            .bind(target.tab.client_id)
            .execute(&mut **t)
            .await?;
    }
    let reading = read(Source::Tx(tx), target, at).await?;
    Ok(judge(
        policies,
        target,
        &reading.history,
        opt_outs,
        reading.reply,
        at,
    ))
}

/// The next allowed moment of a decision as an instant.
pub fn next_instant(
    policies: &Policies,
    time_zone: &str,
    decision: &Decision,
) -> Option<DateTime<Utc>> {
    decision
        .next_allowed
        .map(|local| first_instant(policies.zone(time_zone), local))
}

/// Who asked for a decision.
#[derive(Clone, Copy, Debug)]
pub enum Asker<'a> {
    User { id: i64, override_reason: &'a str },
    Job(&'a str),
}

/// Stores a decision in the caller's transaction.
pub async fn record(
    tx: &mut Tx,
    tab: PartyRef,
    channel: Channel,
    decision: &Decision,
    asker: Asker<'_>,
    message_id: Option<i64>,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let (user_id, reason, job) = match asker {
        Asker::User {
            id,
            override_reason,
        } => (Some(id), override_reason, ""),
        Asker::Job(job) => (None, "", job),
    };
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO contact_decisions (client_id, party_role, party_ordinal, channel, verdict, rules,
            reasons, override_reason, user_id, job, message_id, decided_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
        .bind(tab.client_id).bind(tab.role.as_str()).bind(tab.ordinal).bind(channel.as_str())
        .bind(decision.verdict.as_str()).bind(decision.rules()).bind(decision.explain())
        .bind(reason.trim()).bind(user_id).bind(job).bind(message_id).bind(at)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Records that `address` asked for no more messages on `channel` (and its sibling
/// WhatsApp line), with a note in each tab the request landed in.
pub async fn opt_out(
    tx: &mut Tx,
    address: &str,
    channel: Channel,
    source: &str,
    tabs: &[PartyRef],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    for c in opted_out_channels(channel) {
        on_tx!(tx, conn => sqlx::query(
            "INSERT INTO contact_opt_outs (address, channel, at, source) VALUES ($1, $2, $3, $4)
             ON CONFLICT (address, channel) DO NOTHING")
            .bind(address).bind(c.as_str()).bind(now).bind(source)
            .execute(&mut *conn).await.map(|r| r.rows_affected()))?;
    }
    let text = format!(
        "Baja registrada: {address} pidió no recibir más mensajes por {} ({source}). Recaudo no enviará nada más a esa dirección por ese canal.",
        channel.label()
    );
    for tab in tabs {
        let note = super::NewMessage::note(*tab, &text, now);
        super::note(tx, &note, now).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joined_contacts_keep_the_exact_instant() {
        for micros in [
            1_795_453_200_123_456,
            1_795_453_200_000_000,
            1_795_453_200_120_000,
        ] {
            let at = DateTime::from_timestamp_micros(micros).unwrap();
            let written = at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false);
            assert_eq!(contact("sms", &written).unwrap(), (Channel::Sms, at));
            assert_eq!(utc_instant(&written), Some(at), "{written}");
        }
        let nanos = DateTime::parse_from_rfc3339("2026-11-23T15:00:00.123456789+00:00").unwrap();
        assert_eq!(
            utc_instant("2026-11-23T15:00:00.123456789+00:00"),
            Some(nanos.to_utc())
        );
        assert_eq!(
            contact("call", "2026-11-23 15:00:00").unwrap().1,
            DateTime::from_timestamp(1_795_446_000, 0).unwrap()
        );
        assert_eq!(
            contact("email", "2026-11-23T10:00:00-05:00").unwrap().1,
            DateTime::from_timestamp(1_795_446_000, 0).unwrap(),
            "another offset still reads"
        );
        for odd in [
            "2026-11-23T15:00:00",
            "2026-11-23T15:00:00.+00:00",
            "2026-13-23T15:00:00+00:00",
            "2026-11-23T15:00:00.1234567890+00:00",
            "2026-11-2xT15:00:00+00:00",
        ] {
            assert_eq!(utc_instant(odd), None, "{odd}");
        }
        for (channel, at) in [
            ("sms", ""),
            ("fax", "2026-11-23T15:00:00+00:00"),
            ("sms", "mañana"),
        ] {
            assert!(contact(channel, at).is_err(), "{channel} {at}");
        }
        let two = split_joined("sms,call", "2026-11-23 15:00:00,2026-11-23 16:00:00").unwrap();
        assert_eq!(two.len(), 2);
        assert_eq!(two[1].0, Channel::Call);
        assert!(split_joined("", "").unwrap().is_empty());
        assert!(
            split_joined("sms,call", "2026-11-23 15:00:00").is_err(),
            "out of step"
        );
    }
}
