//! Calls: registering an outcome and applying its effects, call tasks and the call
//! summary on each client row, and what the conversation shows of calls and money.

pub mod dial;
pub mod payments;
pub mod promises;
mod tray;

pub(crate) use tray::calls_due;
pub use tray::calls_tray;

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::alerts::Evidence;
use crate::domain::calls::{
    CallCalendar, CallReason, FlowStop, Gestion, OutcomeEntry, PaymentEntry, PaymentStatus, Phone,
    PromiseEntry, PromiseState,
};
use crate::domain::client::PartyRole;
use crate::domain::error::AppError;
use crate::domain::message::{AttachmentInput, AttachmentMeta, Channel};
use crate::domain::outcome::{AlertEvent, ContactClass, Effect, Outcome, OutcomeInput, Situation};
use crate::domain::user::Viewer;
use crate::server::clock::Clock;
use crate::server::db::{Db, Tx};
use crate::server::messages::{self, PartyRef};
use crate::server::{access, alerts};
use crate::{on_db, on_tx};

/// What registering an outcome created.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Registered {
    pub outcome_id: i64,
    pub promise_id: Option<i64>,
    pub payment_id: Option<i64>,
}

/// Rewrites the client's call summary from its open tasks: the soonest due date, and
/// "broken promise" whenever one is open (it puts the client at the top of the tray).
pub async fn refresh(tx: &mut Tx, client_id: i64) -> Result<(), AppError> {
    on_tx!(tx, c => sqlx::query(
        "UPDATE clients SET
            call_due_date = (SELECT MIN(t.due_date) FROM call_tasks t
                WHERE t.client_id = $1 AND t.closed_at IS NULL),
            call_reason = (SELECT t.reason FROM call_tasks t
                WHERE t.client_id = $1 AND t.closed_at IS NULL
                ORDER BY CASE WHEN t.reason = 'broken_promise' THEN 0 ELSE 1 END, t.due_date, t.id LIMIT 1)
         WHERE id = $1")
        .bind(client_id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
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
        on_tx!(tx, c => sqlx::query(
            "UPDATE call_tasks SET closed_at = $2, closed_by = $3
             WHERE client_id = $1 AND closed_at IS NULL AND reason = 'callback'")
            .bind(client_id).bind(now).bind(user_id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO call_tasks (client_id, due_date, reason, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5)")
        .bind(client_id).bind(due).bind(reason.as_str()).bind(now).bind(user_id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
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
    let row: Option<(PartyRole, i32, String)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT p.role, p.ordinal, cp.value FROM contact_points cp JOIN parties p ON p.id = cp.party_id
         WHERE cp.id = $1 AND cp.client_id = $2 AND cp.kind IN ('phone', 'whatsapp')")
        .bind(id).bind(client_id).fetch_optional(&mut *c).await)?;
    row.ok_or_else(|| AppError::invalid("contact_point_id", "Ese teléfono no es de este cliente."))
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

/// Who a promise or a declared payment is for, and who registered it in which outcome.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Declared {
    pub client_id: i64,
    pub outcome_id: Option<i64>,
    pub user_id: i64,
}

/// A payment as the debtor declares it.
pub(crate) struct DeclaredPayment<'a> {
    pub paid_on: NaiveDate,
    pub amount_cents: i64,
    pub method: &'a str,
    pub reference: &'a str,
    pub note: &'a str,
}

/// A promise to pay: it replaces the client's pending one (renegotiated, that one is
/// cancelled), suspends the main flow until its date and lifts a "won't / can't pay"
/// stop.
pub(crate) async fn create_promise(
    tx: &mut Tx,
    by: Declared,
    date: NaiveDate,
    amount_cents: i64,
    clock: Clock,
) -> Result<i64, AppError> {
    let Declared {
        client_id,
        outcome_id,
        user_id,
    } = by;
    let (today, now) = (clock.today, clock.now);
    on_tx!(tx, c => sqlx::query(
        "UPDATE promises SET state = 'cancelled', resolved_at = $2 WHERE client_id = $1 AND state = 'pending'")
            .bind(client_id).bind(now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    let (id,): (i64,) = on_tx!(tx, c => sqlx::query_as(
        "INSERT INTO promises (client_id, outcome_id, promised_date, amount_cents, currency, created_on, created_at, created_by)
         SELECT id, $2, $3, $4, currency, $5, $6, $7 FROM clients WHERE id = $1 RETURNING id")
        .bind(client_id).bind(outcome_id).bind(date).bind(amount_cents).bind(today).bind(now).bind(user_id)
        .fetch_one(&mut *c).await)?;
    refresh_flow(tx, client_id).await?;
    on_tx!(tx, c => sqlx::query(
        "UPDATE clients SET flow_stop = NULL WHERE id = $1 AND flow_stop IN ('wont_pay', 'cant_pay')")
        .bind(client_id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
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
pub(crate) async fn create_payment(
    tx: &mut Tx,
    by: Declared,
    payment: DeclaredPayment<'_>,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let Declared {
        client_id,
        outcome_id,
        user_id,
    } = by;
    let DeclaredPayment {
        paid_on,
        amount_cents,
        method,
        reference,
        note,
    } = payment;
    let (id,): (i64,) = on_tx!(tx, c => sqlx::query_as(
        "INSERT INTO payments (client_id, outcome_id, paid_on, amount_cents, currency, method, reference, note,
            declared_at, declared_by)
         SELECT id, $2, $3, $4, currency, $5, $6, $7, $8, $9 FROM clients WHERE id = $1 RETURNING id")
        .bind(client_id).bind(outcome_id).bind(paid_on).bind(amount_cents).bind(method.trim())
        .bind(reference.trim()).bind(note.trim()).bind(now).bind(user_id)
        .fetch_one(&mut *c).await)?;
    on_tx!(tx, c => sqlx::query(
        "UPDATE clients SET flow_stop = 'payment_to_verify' WHERE id = $1")
        .bind(client_id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
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
    on_tx!(tx, c => sqlx::query(
        "UPDATE clients SET flow_paused_until = (SELECT MAX(x.d) FROM (
            SELECT promised_date AS d FROM promises WHERE client_id = $1 AND state = 'pending'
            UNION ALL
            SELECT until_date AS d FROM outcomes WHERE client_id = $1 AND outcome = 'pause'
         ) x) WHERE id = $1")
        .bind(client_id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Registers a call's outcome for a client and applies what the catalogue says it does.
/// Everything happens in one transaction: a refused outcome saves nothing.
#[tracing::instrument(skip_all)]
pub async fn register(
    db: &Db,
    viewer: &Viewer,
    client_id: i64,
    input: OutcomeInput,
    calendar: &CallCalendar,
    clock: Clock,
) -> Result<Registered, AppError> {
    let (today, now) = (clock.today, clock.now);
    let v = input.validate(today, calendar).map_err(AppError::Invalid)?;
    access::ensure_visible(db, viewer, client_id, now).await?;
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
        on_tx!(&mut tx, c => sqlx::query(
            "UPDATE call_tasks SET closed_at = $3, closed_by = $4, outcome_id = $5
             WHERE client_id = $1 AND closed_at IS NULL AND due_date <= $2")
            .bind(client_id).bind(today).bind(now).bind(viewer.user_id).bind(outcome_id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    for effect in spec.effects {
        match *effect {
            Effect::StaysInTray => {}
            Effect::Reschedules => {
                let due = v.date.ok_or_else(|| {
                    AppError::internal("a rescheduling outcome validated without a date")
                })?;
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
                let (date, amount) = v.date.zip(v.amount_cents).ok_or_else(|| {
                    AppError::internal("a promise or payment validated without date and amount")
                })?;
                let by = Declared {
                    client_id,
                    outcome_id: Some(outcome_id),
                    user_id: viewer.user_id,
                };
                if v.payment {
                    let payment = DeclaredPayment {
                        paid_on: date,
                        amount_cents: amount,
                        method: &v.payment_method,
                        reference: &v.reference,
                        note: &v.note,
                    };
                    done.payment_id = Some(create_payment(&mut tx, by, payment, now).await?);
                } else {
                    done.promise_id = Some(create_promise(&mut tx, by, date, amount, clock).await?);
                }
            }
            Effect::PausesUntil => refresh_flow(&mut tx, client_id).await?,
            Effect::StopsMainFlow => {
                let stop = match spec.outcome {
                    Outcome::CantPay => FlowStop::CantPay,
                    _ => FlowStop::WontPay,
                };
                on_tx!(&mut tx, c => sqlx::query(
                    "UPDATE clients SET flow_stop = $2 WHERE id = $1")
            .bind(client_id).bind(stop.as_str()).execute(&mut *c).await.map(|r| r.rows_affected()))?;
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
        let tab = PartyRef::new(client_id, role, ordinal);
        messages::answer_pending(&mut tx, tab, Some(Channel::Call), viewer.user_id, now).await?;
    }
    refresh(&mut tx, client_id).await?;
    tx.announce(client_id);
    tx.commit().await?;
    Ok(done)
}

/// A promise or a payment to verify registered from the debt panel, outside a call.
#[tracing::instrument(skip_all)]
pub async fn declare(
    db: &Db,
    viewer: &Viewer,
    input: crate::domain::calls::DeclareInput,
    clock: Clock,
) -> Result<Registered, AppError> {
    input.validate(clock.today).map_err(AppError::Invalid)?;
    access::ensure_visible(db, viewer, input.client_id, clock.now).await?;
    declare_as(db, viewer.user_id, input, clock).await
}

/// Registers a declared payment or promise as `user_id` (an advisor, or the portal's
/// account for what the debtor declares there).
pub(crate) async fn declare_as(
    db: &Db,
    user_id: i64,
    input: crate::domain::calls::DeclareInput,
    clock: Clock,
) -> Result<Registered, AppError> {
    let v = input.validate(clock.today).map_err(AppError::Invalid)?;
    let mut tx = db.begin().await?;
    let mut done = Registered::default();
    let by = Declared {
        client_id: input.client_id,
        outcome_id: None,
        user_id,
    };
    if input.payment {
        let payment = DeclaredPayment {
            paid_on: v.date,
            amount_cents: v.amount_cents,
            method: &input.payment_method,
            reference: &input.reference,
            note: &input.note,
        };
        let id = create_payment(&mut tx, by, payment, clock.now).await?;
        store_files(&mut tx, input.client_id, None, Some(id), &input.attachments).await?;
        done.payment_id = Some(id);
    } else {
        done.promise_id = Some(create_promise(&mut tx, by, v.date, v.amount_cents, clock).await?);
    }
    tx.announce(input.client_id);
    tx.commit().await?;
    Ok(done)
}

/// A receipt or other file, and the outcome or payment it belongs to.
#[derive(sqlx::FromRow)]
struct FileRow {
    outcome_id: Option<i64>,
    payment_id: Option<i64>,
    #[sqlx(flatten)]
    meta: AttachmentMeta,
}

/// A promise as stored: its time still in UTC.
#[derive(sqlx::FromRow)]
struct PromiseRow {
    id: i64,
    outcome_id: Option<i64>,
    promised_date: NaiveDate,
    amount_cents: i64,
    currency: String,
    state: PromiseState,
    created_by_name: String,
    created_at: DateTime<Utc>,
}

/// Where the client stands in the tray and the main flow.
#[derive(sqlx::FromRow)]
struct CallColumns {
    call_due_date: Option<NaiveDate>,
    call_reason: Option<CallReason>,
    flow_paused_until: Option<NaiveDate>,
    flow_stop: Option<FlowStop>,
}

fn files_of(files: &[FileRow], pick: impl Fn(&FileRow) -> bool) -> Vec<AttachmentMeta> {
    files
        .iter()
        .filter(|f| pick(f))
        .map(|f| f.meta.clone())
        .collect()
}

#[derive(sqlx::FromRow)]
struct OutcomeRow {
    id: i64,
    situation: Situation,
    outcome: Outcome,
    contact_class: ContactClass,
    party_role: PartyRole,
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
    pub status: PaymentStatus,
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
    pub(crate) fn entry(self, clock: &Clock, files: Vec<AttachmentMeta>) -> PaymentEntry {
        PaymentEntry {
            id: self.id,
            client_id: self.client_id,
            outcome_id: self.outcome_id,
            paid_on: self.paid_on,
            amount_cents: self.amount_cents,
            currency: self.currency,
            method: self.method,
            reference: self.reference,
            note: self.note,
            status: self.status,
            declared_by_name: self.declared_by_name,
            at: clock.local(self.declared_at),
            reviewed_by_name: self.reviewed_by_name,
            reviewed_at: self.reviewed_at.map(|t| clock.local(t)),
            review_reason: self.review_reason,
            unapplied_cents: self.unapplied_cents,
            files,
        }
    }
}

/// The conversation's calls and money: phones, outcomes, promises and payments, newest
/// last, and where the client stands in the tray and the main flow on `today`.
#[tracing::instrument(skip_all)]
pub async fn gestion(db: &Db, client_id: i64, clock: Clock) -> Result<Gestion, AppError> {
    let local = |t: DateTime<Utc>| clock.local(t);
    let phones: Vec<Phone> = on_db!(db, p => sqlx::query_as(
        "SELECT cp.id AS contact_point_id, p.role AS party_role, p.ordinal AS party_ordinal,
            p.name AS party_name, cp.kind, cp.value, cp.failed_problem AS problem
         FROM contact_points cp JOIN parties p ON p.id = cp.party_id
         WHERE cp.client_id = $1 AND cp.kind IN ('phone', 'whatsapp')
         ORDER BY CASE p.role WHEN 'client' THEN 0 WHEN 'reference' THEN 1 ELSE 2 END, p.ordinal, cp.id")
        .bind(client_id).fetch_all(p).await)?;
    let mut seen = std::collections::HashSet::new();
    // A number stored as phone and as WhatsApp is dialled once.
    let phone_list: Vec<Phone> = phones
        .into_iter()
        .filter(|p| seen.insert((p.party_role, p.party_ordinal, p.value.clone())))
        .collect();
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
            situation: r.situation,
            outcome: r.outcome,
            class: r.contact_class,
            party_role: r.party_role,
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
            files: files_of(&files, |f| f.outcome_id == Some(r.id)),
        });
    }
    let promise_rows: Vec<PromiseRow> = on_db!(db, p => sqlx::query_as(
            "SELECT pr.id, pr.outcome_id, pr.promised_date, pr.amount_cents, pr.currency, pr.state,
                    u.name AS created_by_name, pr.created_at
             FROM promises pr JOIN users u ON u.id = pr.created_by
             WHERE pr.client_id = $1 ORDER BY pr.created_at, pr.id")
            .bind(client_id).fetch_all(p).await)?;
    let promises: Vec<PromiseEntry> = promise_rows
        .into_iter()
        .map(|r| PromiseEntry {
            id: r.id,
            outcome_id: r.outcome_id,
            promised_date: r.promised_date,
            amount_cents: r.amount_cents,
            currency: r.currency,
            state: r.state,
            created_by_name: r.created_by_name,
            at: local(r.created_at),
        })
        .collect();
    let payment_rows: Vec<PaymentRow> = on_db!(db, p => sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments p JOIN users d ON d.id = p.declared_by
         LEFT JOIN users r ON r.id = p.reviewed_by
         WHERE p.client_id = $1 ORDER BY p.declared_at, p.id"))
        .bind(client_id).fetch_all(p).await)?;
    let mut payments = Vec::with_capacity(payment_rows.len());
    for r in payment_rows {
        let id = r.id;
        payments.push(r.entry(&clock, files_of(&files, |f| f.payment_id == Some(id))));
    }
    let call: CallColumns = on_db!(db, p => sqlx::query_as(
        "SELECT call_due_date, call_reason, flow_paused_until, flow_stop FROM clients WHERE id = $1")
        .bind(client_id).fetch_one(p).await)?;
    Ok(Gestion {
        phones: phone_list,
        outcomes,
        promises,
        payments,
        call_due: call.call_due_date.zip(call.call_reason),
        // A suspension lasts through its day.
        flow_paused_until: call.flow_paused_until.filter(|d| *d >= clock.today),
        flow_stop: call.flow_stop,
        click_to_call: dial::places_calls(&crate::server::channels::load(db, Channel::Call).await?),
    })
}

/// A receipt or other management file, for a viewer who may read its client.
#[tracing::instrument(skip_all)]
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
    access::ensure_visible(db, viewer, client_id, now).await?;
    Ok((file_name, content_type, content))
}
