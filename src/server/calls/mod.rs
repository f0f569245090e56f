//! Calls: registering an outcome and applying its effects, call tasks and the call
//! summary on each client row, and what the conversation shows of calls and money.

pub mod dial;
pub mod payments;
pub mod promises;
mod tray;

pub(crate) use tray::calls_due;
pub use tray::calls_tray;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::domain::alerts::Evidence;
use crate::domain::calls::{
    CallCalendar, CallReason, FlowStop, Gestion, OutcomeEntry, PaymentEntry, Phone, PromiseEntry,
};
use crate::domain::client::PartyRole;
use crate::domain::conversation::{AttachmentInput, AttachmentMeta};
use crate::domain::error::AppError;
use crate::domain::outcome::{AlertEvent, ContactClass, Effect, Outcome, OutcomeInput};
use crate::domain::user::Viewer;
use crate::server::alerts;
use crate::server::clients;
use crate::server::conversations::summary;
use crate::server::db::{decode, Db, Tx};
use crate::{on_db, on_tx};

/// What registering an outcome created.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Registered {
    pub outcome_id: i64,
    pub promise_id: Option<i64>,
    pub payment_id: Option<i64>,
}

async fn exec(tx: &mut Tx, q: &str, binds: impl FnOnce(Binder) -> Binder) -> Result<u64, AppError> {
    let b = binds(Binder::default());
    let n = on_tx!(tx, c => {
        let mut query = sqlx::query(q);
        for v in b.0 {
            query = match v {
                Bind::I(x) => query.bind(x),
                Bind::OptI(x) => query.bind(x),
                Bind::S(x) => query.bind(x),
                Bind::D(x) => query.bind(x),
                Bind::T(x) => query.bind(x),
            };
        }
        query.execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    Ok(n)
}

/// Values for [`exec`]: one statement text for both engines, bound in order.
#[derive(Default)]
struct Binder(Vec<Bind>);

enum Bind {
    I(i64),
    OptI(Option<i64>),
    S(String),
    D(NaiveDate),
    T(DateTime<Utc>),
}

impl Binder {
    fn i(mut self, v: i64) -> Self {
        self.0.push(Bind::I(v));
        self
    }
    fn opt_i(mut self, v: Option<i64>) -> Self {
        self.0.push(Bind::OptI(v));
        self
    }
    fn s(mut self, v: impl Into<String>) -> Self {
        self.0.push(Bind::S(v.into()));
        self
    }
    fn d(mut self, v: NaiveDate) -> Self {
        self.0.push(Bind::D(v));
        self
    }
    fn t(mut self, v: DateTime<Utc>) -> Self {
        self.0.push(Bind::T(v));
        self
    }
}

/// Rewrites the client's call summary from its open tasks: the soonest due date, and
/// "broken promise" whenever one is open (it puts the client at the top of the tray).
pub async fn refresh(tx: &mut Tx, client_id: i64) -> Result<(), AppError> {
    exec(
        tx,
        "UPDATE clients SET
            call_due_date = (SELECT MIN(t.due_date) FROM call_tasks t
                WHERE t.client_id = $1 AND t.closed_at IS NULL),
            call_reason = (SELECT t.reason FROM call_tasks t
                WHERE t.client_id = $1 AND t.closed_at IS NULL
                ORDER BY CASE WHEN t.reason = 'broken_promise' THEN 0 ELSE 1 END, t.due_date, t.id LIMIT 1)
         WHERE id = $1",
        |b| b.i(client_id),
    )
    .await?;
    Ok(())
}

/// Puts a call in the tray for `due`. A client has one open callback at a time: a new
/// one replaces the one scheduled before.
pub async fn schedule(
    tx: &mut Tx,
    client_id: i64,
    due: NaiveDate,
    reason: CallReason,
    user_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if reason == CallReason::Callback {
        exec(
            tx,
            "UPDATE call_tasks SET closed_at = $2, closed_by = $3
             WHERE client_id = $1 AND closed_at IS NULL AND reason = 'callback'",
            |b| b.i(client_id).t(now).opt_i(user_id),
        )
        .await?;
    }
    exec(
        tx,
        "INSERT INTO call_tasks (client_id, due_date, reason, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5)",
        |b| {
            b.i(client_id)
                .d(due)
                .s(reason.as_str())
                .t(now)
                .opt_i(user_id)
        },
    )
    .await?;
    refresh(tx, client_id).await
}

/// The phone an outcome names: it must be one of this client's parties' numbers.
async fn called_phone(
    tx: &mut Tx,
    client_id: i64,
    contact_point_id: Option<i64>,
) -> Result<(PartyRole, i32, String), AppError> {
    let Some(id) = contact_point_id else {
        return Ok((PartyRole::Client, 1, String::new()));
    };
    let row: Option<(String, i32, String)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT p.role, p.ordinal, cp.value FROM contact_points cp JOIN parties p ON p.id = cp.party_id
         WHERE cp.id = $1 AND cp.client_id = $2 AND cp.kind IN ('phone', 'whatsapp')")
        .bind(id).bind(client_id).fetch_optional(&mut *c).await)?;
    let (role, ordinal, value) = row.ok_or_else(|| {
        AppError::invalid("contact_point_id", "Ese teléfono no es de este cliente.")
    })?;
    Ok((decode("party role", &role)?, ordinal, value))
}

async fn store_files(
    tx: &mut Tx,
    client_id: i64,
    outcome_id: Option<i64>,
    payment_id: Option<i64>,
    files: &[AttachmentInput],
) -> Result<(), AppError> {
    for f in files {
        on_tx!(tx, c => sqlx::query(
            "INSERT INTO management_files (client_id, outcome_id, payment_id, file_name, content_type, size_bytes, content)
             VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(client_id).bind(outcome_id).bind(payment_id).bind(f.file_name.trim())
            .bind(&f.content_type).bind(f.content.len() as i64).bind(&f.content)
            .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// A promise to pay: it replaces the client's pending one (renegotiated, that one is
/// cancelled), suspends the main flow until its date and lifts a "won't / can't pay"
/// stop.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn create_promise(
    tx: &mut Tx,
    client_id: i64,
    outcome_id: Option<i64>,
    date: NaiveDate,
    amount_cents: i64,
    user_id: i64,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    exec(
        tx,
        "UPDATE promises SET state = 'cancelled', resolved_at = $2 WHERE client_id = $1 AND state = 'pending'",
        |b| b.i(client_id).t(now),
    )
    .await?;
    let (id,): (i64,) = on_tx!(tx, c => sqlx::query_as(
        "INSERT INTO promises (client_id, outcome_id, promised_date, amount_cents, currency, created_on, created_at, created_by)
         SELECT id, $2, $3, $4, currency, $5, $6, $7 FROM clients WHERE id = $1 RETURNING id")
        .bind(client_id).bind(outcome_id).bind(date).bind(amount_cents).bind(today).bind(now).bind(user_id)
        .fetch_one(&mut *c).await)?;
    refresh_flow(tx, client_id).await?;
    exec(
        tx,
        "UPDATE clients SET flow_stop = NULL WHERE id = $1 AND flow_stop IN ('wont_pay', 'cant_pay')",
        |b| b.i(client_id),
    )
    .await?;
    let source = alerts::Source {
        user_id: Some(user_id),
        outcome_id,
        ..alerts::Source::default()
    };
    alerts::record(tx, client_id, Evidence::PromiseMade, source, now).await?;
    Ok(id)
}

/// A payment the debtor declares: it waits for verification, and the main flow stops
/// meanwhile.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn create_payment(
    tx: &mut Tx,
    client_id: i64,
    outcome_id: Option<i64>,
    paid_on: NaiveDate,
    amount_cents: i64,
    method: &str,
    reference: &str,
    note: &str,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let (id,): (i64,) = on_tx!(tx, c => sqlx::query_as(
        "INSERT INTO payments (client_id, outcome_id, paid_on, amount_cents, currency, method, reference, note,
            declared_at, declared_by)
         SELECT id, $2, $3, $4, currency, $5, $6, $7, $8, $9 FROM clients WHERE id = $1 RETURNING id")
        .bind(client_id).bind(outcome_id).bind(paid_on).bind(amount_cents).bind(method.trim())
        .bind(reference.trim()).bind(note.trim()).bind(now).bind(user_id)
        .fetch_one(&mut *c).await)?;
    exec(
        tx,
        "UPDATE clients SET flow_stop = 'payment_to_verify' WHERE id = $1",
        |b| b.i(client_id),
    )
    .await?;
    let source = alerts::Source {
        user_id: Some(user_id),
        outcome_id,
        ..alerts::Source::default()
    };
    alerts::record(tx, client_id, Evidence::PaymentToVerify, source, now).await?;
    Ok(id)
}

/// Rewrites how long the main flow stays suspended: until the latest of the pending
/// promises' dates and the "Pausar comunicaciones" until-dates. A past day suspends
/// nothing.
pub(crate) async fn refresh_flow(tx: &mut Tx, client_id: i64) -> Result<(), AppError> {
    exec(
        tx,
        "UPDATE clients SET flow_paused_until = (SELECT MAX(x.d) FROM (
            SELECT promised_date AS d FROM promises WHERE client_id = $1 AND state = 'pending'
            UNION ALL
            SELECT until_date AS d FROM outcomes WHERE client_id = $1 AND outcome = 'pause'
         ) x) WHERE id = $1",
        |b| b.i(client_id),
    )
    .await?;
    Ok(())
}

/// Registers a call's outcome for a client and applies what the catalogue says it does.
/// Everything happens in one transaction: a refused outcome saves nothing.
#[allow(clippy::too_many_arguments)]
pub async fn register(
    db: &Db,
    viewer: &Viewer,
    client_id: i64,
    input: OutcomeInput,
    today: NaiveDate,
    calendar: &CallCalendar,
    now: DateTime<Utc>,
) -> Result<Registered, AppError> {
    let v = input.validate(today, calendar).map_err(AppError::Invalid)?;
    clients::ensure_visible(db, viewer, client_id, now).await?;
    let spec = v.spec;
    let mut tx = db.begin().await?;
    let (role, ordinal, phone) = called_phone(&mut tx, client_id, input.contact_point_id).await?;
    let (outcome_id,): (i64,) = on_tx!(&mut tx, c => sqlx::query_as(
        "INSERT INTO outcomes (client_id, situation, outcome, contact_class, party_role, party_ordinal, phone,
            contact_point_id, date, amount_cents, currency, payment_method, reference, until_date, code, reason,
            note, user_id, occurred_at)
         SELECT id, $2, $3, $4, $5, $6, $7, $8, $9, $10, CASE WHEN $10 IS NULL THEN NULL ELSE currency END,
            $11, $12, $13, $14, $15, $16, $17, $18 FROM clients WHERE id = $1 RETURNING id")
        .bind(client_id).bind(spec.situation.as_str()).bind(spec.outcome.as_str()).bind(spec.class.as_str())
        .bind(role.as_str()).bind(ordinal).bind(&phone).bind(input.contact_point_id).bind(v.date)
        .bind(v.amount_cents).bind(&v.payment_method).bind(&v.reference).bind(v.until_date).bind(&v.code)
        .bind(&v.reason).bind(&v.note).bind(viewer.user_id).bind(now)
        .fetch_one(&mut *c).await)?;
    let mut done = Registered {
        outcome_id,
        ..Registered::default()
    };
    // The call is made: the tasks due up to today leave the tray, unless the outcome
    // asks for another attempt. Done first, so a callback for today stays.
    if !spec.effects.contains(&Effect::StaysInTray) {
        exec(
            &mut tx,
            "UPDATE call_tasks SET closed_at = $3, closed_by = $4, outcome_id = $5
             WHERE client_id = $1 AND closed_at IS NULL AND due_date <= $2",
            |b| {
                b.i(client_id)
                    .d(today)
                    .t(now)
                    .i(viewer.user_id)
                    .i(outcome_id)
            },
        )
        .await?;
    }
    for effect in spec.effects {
        match *effect {
            Effect::StaysInTray => {}
            Effect::Reschedules => {
                let due = v.date.ok_or(AppError::Internal)?;
                schedule(
                    &mut tx,
                    client_id,
                    due,
                    CallReason::Callback,
                    Some(viewer.user_id),
                    now,
                )
                .await?;
            }
            Effect::PromiseOrPaymentToVerify | Effect::PaymentToVerify => {
                let (date, amount) = v.date.zip(v.amount_cents).ok_or(AppError::Internal)?;
                if v.payment {
                    done.payment_id = Some(
                        create_payment(
                            &mut tx,
                            client_id,
                            Some(outcome_id),
                            date,
                            amount,
                            &v.payment_method,
                            &v.reference,
                            &v.note,
                            viewer.user_id,
                            now,
                        )
                        .await?,
                    );
                } else {
                    done.promise_id = Some(
                        create_promise(
                            &mut tx,
                            client_id,
                            Some(outcome_id),
                            date,
                            amount,
                            viewer.user_id,
                            today,
                            now,
                        )
                        .await?,
                    );
                }
            }
            Effect::PausesUntil => refresh_flow(&mut tx, client_id).await?,
            Effect::StopsMainFlow => {
                let stop = match spec.outcome {
                    Outcome::CantPay => FlowStop::CantPay,
                    _ => FlowStop::WontPay,
                };
                exec(
                    &mut tx,
                    "UPDATE clients SET flow_stop = $2 WHERE id = $1",
                    |b| b.i(client_id).s(stop.as_str()),
                )
                .await?;
            }
            Effect::Alert(e) => {
                let point = (e == AlertEvent::WrongPhone)
                    .then_some(input.contact_point_id)
                    .flatten();
                if let Some(evidence) = Evidence::from_outcome(e, point) {
                    let source = alerts::Source {
                        user_id: Some(viewer.user_id),
                        outcome_id: Some(outcome_id),
                        ..alerts::Source::default()
                    };
                    alerts::record(&mut tx, client_id, evidence, source, now).await?;
                }
            }
        }
    }
    if matches!(
        spec.class,
        ContactClass::RightParty | ContactClass::ThirdParty
    ) {
        alerts::reached(&mut tx, client_id, now).await?;
    }
    store_files(
        &mut tx,
        client_id,
        Some(outcome_id),
        done.payment_id,
        &input.attachments,
    )
    .await?;
    if spec.situation == crate::domain::outcome::Situation::Inbound {
        // The debtor's call is answered by this very conversation.
        exec(
            &mut tx,
            "UPDATE messages SET pending = FALSE, handling = 'replied', handled_at = $2, handled_by = $3
             WHERE client_id = $1 AND pending AND channel = 'call' AND party_role = $4 AND party_ordinal = $5",
            |b| {
                b.i(client_id)
                    .t(now)
                    .i(viewer.user_id)
                    .s(role.as_str())
                    .i(i64::from(ordinal))
            },
        )
        .await?;
        summary::refresh(&mut tx, client_id).await?;
    }
    refresh(&mut tx, client_id).await?;
    tx.commit().await?;
    Ok(done)
}

/// A promise or a payment to verify registered from the debt panel, outside a call.
pub async fn declare(
    db: &Db,
    viewer: &Viewer,
    input: crate::domain::calls::DeclareInput,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Registered, AppError> {
    input.validate(today).map_err(AppError::Invalid)?;
    clients::ensure_visible(db, viewer, input.client_id, now).await?;
    declare_as(db, viewer.user_id, input, today, now).await
}

/// Registers a declared payment or promise as `user_id` (an advisor, or the portal's
/// account for what the debtor declares there).
pub(crate) async fn declare_as(
    db: &Db,
    user_id: i64,
    input: crate::domain::calls::DeclareInput,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Registered, AppError> {
    let v = input.validate(today).map_err(AppError::Invalid)?;
    let mut tx = db.begin().await?;
    let mut done = Registered::default();
    if input.payment {
        let id = create_payment(
            &mut tx,
            input.client_id,
            None,
            v.date,
            v.amount_cents,
            &input.payment_method,
            &input.reference,
            &input.note,
            user_id,
            now,
        )
        .await?;
        store_files(&mut tx, input.client_id, None, Some(id), &input.attachments).await?;
        done.payment_id = Some(id);
    } else {
        done.promise_id = Some(
            create_promise(
                &mut tx,
                input.client_id,
                None,
                v.date,
                v.amount_cents,
                user_id,
                today,
                now,
            )
            .await?,
        );
    }
    tx.commit().await?;
    Ok(done)
}

/// A management file: (id, outcome, payment, name, type, size).
type FileRow = (i64, Option<i64>, Option<i64>, String, String, i64);

/// A phone: (contact point, role, slot, party name, kind, number, flagged problem).
type PhoneRow = (i64, String, i32, String, String, String, Option<String>);

/// A promise: (id, outcome, date, amount, currency, state, by, at).
type PromiseRow = (
    i64,
    Option<i64>,
    NaiveDate,
    i64,
    String,
    String,
    String,
    DateTime<Utc>,
);

/// The client's call and flow columns.
type CallColumns = (
    Option<NaiveDate>,
    Option<String>,
    Option<NaiveDate>,
    Option<String>,
);

fn files_of(files: &[FileRow], pick: impl Fn(&FileRow) -> bool) -> Vec<AttachmentMeta> {
    files
        .iter()
        .filter(|f| pick(f))
        .map(|f| AttachmentMeta {
            id: f.0,
            file_name: f.3.clone(),
            content_type: f.4.clone(),
            size_bytes: f.5,
        })
        .collect()
}

#[derive(sqlx::FromRow)]
struct OutcomeRow {
    id: i64,
    situation: String,
    outcome: String,
    contact_class: String,
    party_role: String,
    phone: String,
    date: Option<NaiveDate>,
    amount_cents: Option<i64>,
    currency: Option<String>,
    payment_method: String,
    reference: String,
    until_date: Option<NaiveDate>,
    code: String,
    reason: String,
    note: String,
    user_name: String,
    occurred_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct PaymentRow {
    pub id: i64,
    pub client_id: i64,
    pub outcome_id: Option<i64>,
    pub paid_on: NaiveDate,
    pub amount_cents: i64,
    pub currency: String,
    pub method: String,
    pub reference: String,
    pub note: String,
    pub status: String,
    pub declared_by_name: String,
    pub declared_at: DateTime<Utc>,
    pub reviewed_by_name: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub review_reason: String,
    pub unapplied_cents: i64,
}

pub(crate) const PAYMENT_COLUMNS: &str =
    "p.id, p.client_id, p.outcome_id, p.paid_on, p.amount_cents,
    p.currency, p.method, p.reference, p.note, p.status, d.name AS declared_by_name, p.declared_at,
    r.name AS reviewed_by_name, p.reviewed_at, p.review_reason, p.unapplied_cents";

impl PaymentRow {
    pub(crate) fn entry(
        self,
        tz: Tz,
        files: Vec<AttachmentMeta>,
    ) -> Result<PaymentEntry, AppError> {
        Ok(PaymentEntry {
            id: self.id,
            client_id: self.client_id,
            outcome_id: self.outcome_id,
            paid_on: self.paid_on,
            amount_cents: self.amount_cents,
            currency: self.currency,
            method: self.method,
            reference: self.reference,
            note: self.note,
            status: decode("payment status", &self.status)?,
            declared_by_name: self.declared_by_name,
            at: self.declared_at.with_timezone(&tz).naive_local(),
            reviewed_by_name: self.reviewed_by_name,
            reviewed_at: self.reviewed_at.map(|t| t.with_timezone(&tz).naive_local()),
            review_reason: self.review_reason,
            unapplied_cents: self.unapplied_cents,
            files,
        })
    }
}

/// The conversation's calls and money: phones, outcomes, promises and payments, newest
/// last, and where the client stands in the tray and the main flow on `today`.
pub async fn gestion(
    db: &Db,
    client_id: i64,
    today: NaiveDate,
    tz: Tz,
) -> Result<Gestion, AppError> {
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).naive_local();
    let phones: Vec<PhoneRow> = on_db!(db, p => sqlx::query_as(
        "SELECT cp.id, p.role, p.ordinal, p.name, cp.kind, cp.value, cp.failed_problem
         FROM contact_points cp JOIN parties p ON p.id = cp.party_id
         WHERE cp.client_id = $1 AND cp.kind IN ('phone', 'whatsapp')
         ORDER BY CASE p.role WHEN 'client' THEN 0 WHEN 'reference' THEN 1 ELSE 2 END, p.ordinal, cp.id")
        .bind(client_id).fetch_all(p).await)?;
    let mut seen = std::collections::HashSet::new();
    let mut phone_list = Vec::new();
    for (id, role, ordinal, name, kind, value, problem) in phones {
        // A number stored as phone and as WhatsApp is dialled once.
        if !seen.insert((role.clone(), ordinal, value.clone())) {
            continue;
        }
        phone_list.push(Phone {
            contact_point_id: id,
            party_role: decode("party role", &role)?,
            party_ordinal: ordinal,
            party_name: name,
            kind: decode("contact kind", &kind)?,
            value,
            problem: problem.map(|p| decode("contact problem", &p)).transpose()?,
        });
    }
    let files: Vec<FileRow> = on_db!(db, p => sqlx::query_as(
        "SELECT id, outcome_id, payment_id, file_name, content_type, size_bytes FROM management_files
         WHERE client_id = $1 ORDER BY id")
        .bind(client_id).fetch_all(p).await)?;
    let rows: Vec<OutcomeRow> = on_db!(db, p => sqlx::query_as(
        "SELECT o.id, o.situation, o.outcome, o.contact_class, o.party_role, o.phone, o.date, o.amount_cents,
                o.currency, o.payment_method, o.reference, o.until_date, o.code, o.reason, o.note,
                u.name AS user_name, o.occurred_at
         FROM outcomes o JOIN users u ON u.id = o.user_id
         WHERE o.client_id = $1 ORDER BY o.occurred_at, o.id")
        .bind(client_id).fetch_all(p).await)?;
    let mut outcomes = Vec::with_capacity(rows.len());
    for r in rows {
        outcomes.push(OutcomeEntry {
            id: r.id,
            situation: decode("situation", &r.situation)?,
            outcome: decode("outcome", &r.outcome)?,
            class: decode("contact class", &r.contact_class)?,
            party_role: decode("party role", &r.party_role)?,
            phone: r.phone,
            date: r.date,
            amount_cents: r.amount_cents,
            currency: r.currency,
            payment_method: r.payment_method,
            reference: r.reference,
            until_date: r.until_date,
            code: r.code,
            reason: r.reason,
            note: r.note,
            user_name: r.user_name,
            at: local(r.occurred_at),
            files: files_of(&files, |f| f.1 == Some(r.id)),
        });
    }
    let promise_rows: Vec<PromiseRow> = on_db!(db, p => sqlx::query_as(
            "SELECT pr.id, pr.outcome_id, pr.promised_date, pr.amount_cents, pr.currency, pr.state,
                    u.name, pr.created_at
             FROM promises pr JOIN users u ON u.id = pr.created_by
             WHERE pr.client_id = $1 ORDER BY pr.created_at, pr.id")
            .bind(client_id).fetch_all(p).await)?;
    let mut promises = Vec::with_capacity(promise_rows.len());
    for (id, outcome_id, promised_date, amount_cents, currency, state, who, at) in promise_rows {
        promises.push(PromiseEntry {
            id,
            outcome_id,
            promised_date,
            amount_cents,
            currency,
            state: decode("promise state", &state)?,
            created_by_name: who,
            at: local(at),
        });
    }
    let payment_rows: Vec<PaymentRow> = on_db!(db, p => sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments p JOIN users d ON d.id = p.declared_by
         LEFT JOIN users r ON r.id = p.reviewed_by
         WHERE p.client_id = $1 ORDER BY p.declared_at, p.id"))
        .bind(client_id).fetch_all(p).await)?;
    let mut payments = Vec::with_capacity(payment_rows.len());
    for r in payment_rows {
        let id = r.id;
        payments.push(r.entry(tz, files_of(&files, |f| f.2 == Some(id)))?);
    }
    let (call_due_date, call_reason, paused, stop): CallColumns = on_db!(db, p => sqlx::query_as(
        "SELECT call_due_date, call_reason, flow_paused_until, flow_stop FROM clients WHERE id = $1")
        .bind(client_id).fetch_one(p).await)?;
    let call_due = match (call_due_date, call_reason) {
        (Some(d), Some(r)) => Some((d, decode("call reason", &r)?)),
        _ => None,
    };
    Ok(Gestion {
        phones: phone_list,
        outcomes,
        promises,
        payments,
        call_due,
        // A suspension lasts through its day.
        flow_paused_until: paused.filter(|d| *d >= today),
        flow_stop: stop
            .as_deref()
            .map(|s| decode("flow stop", s))
            .transpose()?,
        click_to_call: dial::places_calls(
            &crate::server::channels::load(db, crate::domain::conversation::Channel::Call).await?,
        ),
    })
}

/// A receipt or other management file, for a viewer who may read its client.
pub async fn file(
    db: &Db,
    viewer: &Viewer,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(String, String, Vec<u8>), AppError> {
    let row: Option<(i64, String, String, Vec<u8>)> = on_db!(db, p => sqlx::query_as(
        "SELECT client_id, file_name, content_type, content FROM management_files WHERE id = $1")
        .bind(id).fetch_optional(p).await)?;
    let (client_id, file_name, content_type, content) = row.ok_or(AppError::NotFound)?;
    clients::ensure_visible(db, viewer, client_id, now).await?;
    Ok((file_name, content_type, content))
}
