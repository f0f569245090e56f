//! Sandbox traffic: realistic conversations produced through the same ingestion and
//! reply services the channels and the composer use. The demo seed runs it once; the
//! `simulate` command adds more inbound messages to a running database.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::domain::alerts::ContactProblem;
use crate::domain::calls::{CallCalendar, CallReason, PromisePolicy};
use crate::domain::client::PartyRole;
use crate::domain::contact::{parse_withheld, ContactKind};
use crate::domain::conversation::{InboundMessage, ReplyInput};
use crate::domain::error::AppError;
use crate::domain::governance::opted_out_channels;
use crate::domain::message::{AttachmentInput, Channel, DeliveryStatus, VisitState};
use crate::domain::outcome::{Outcome, OutcomeInput, Situation};
use crate::domain::user::{Role, Viewer};
use crate::on_db;
use crate::server::clock::Clock;
use crate::server::config::Sending;
use crate::server::db::Db;
use crate::server::{alerts, calls, conversations, messages};

const INBOUND_TEXTS: &[&str] = &[
    "Buenos días, ¿me pueden enviar el estado de cuenta?",
    "Ya hice el pago por transferencia, les adjunto el comprobante.",
    "Este mes no puedo pagar, ¿hay alguna opción de refinanciar?",
    "¿Cuál es el link para pagar?",
    "Pago el viernes sin falta.",
    "No reconozco esta deuda, por favor verifiquen.",
    "Hola, recibí su mensaje. ¿Con quién hablo?",
    "Soy la referencia, le paso el recado.",
];

const OUTBOUND_TEXTS: &[&str] = &[
    "Hola, le recordamos que tiene un saldo vencido. Puede pagar en el enlace de pago.",
    "Gracias por comunicarse. Le envío el estado de cuenta actualizado.",
    "Quedamos atentos a su comprobante de pago.",
];

/// What is written to a reference: a third party reads nothing about the debt.
const REFERENCE_TEXTS: &[&str] = &[
    "Buenos días, le escribimos de parte de la entidad. ¿Podría pedirle a su referido que se comunique con nosotros?",
    "Gracias por su ayuda. Quedamos atentos a que nos contacte.",
];

/// A demo send the contact policy refused (a debtor's hours or caps) is left out of
/// the history instead of stopping the seed.
fn unless_refused(sent: Result<i64, AppError>) -> Result<Option<i64>, AppError> {
    match sent {
        Ok(id) => Ok(Some(id)),
        Err(AppError::Invalid(errors))
            if errors
                .iter()
                .any(|e| e.field == "policy" || e.field == "override_reason") =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// One party's address usable on some channel.
#[derive(Clone, Debug)]
struct Reachable {
    client_id: i64,
    role: PartyRole,
    ordinal: i32,
    kind: String,
    value: String,
    /// The channels not authorised on this value, on any of the client's points.
    withheld: Vec<Channel>,
}

impl Reachable {
    fn serves(&self, channel: Channel) -> bool {
        let kind_serves = match channel {
            Channel::Email => self.kind == "email",
            Channel::Note => false,
            _ => self.kind != "email",
        };
        kind_serves && !self.withheld.contains(&channel)
    }
}

async fn reachable(db: &Db, advisor_id: i64) -> Result<Vec<Reachable>, AppError> {
    let rows: Vec<(Reachable, String)> =
        on_db!(db, p => sqlx::query_as::<_, (i64, PartyRole, i32, String, String, String)>(
        "SELECT c.id, p.role, p.ordinal, cp.kind, cp.value, cp.withheld FROM clients c
         JOIN parties p ON p.client_id = c.id JOIN contact_points cp ON cp.party_id = p.id
         WHERE c.advisor_id = $1 ORDER BY c.id, p.role, p.ordinal, cp.id LIMIT 3000")
        .bind(advisor_id).fetch_all(p).await)?
        .into_iter()
        .map(|(client_id, role, ordinal, kind, value, withheld)| {
            let point = Reachable {
                client_id,
                role,
                ordinal,
                kind,
                value,
                withheld: Vec::new(),
            };
            (point, withheld)
        })
        .collect();
    // An address refused on one point is refused on every point with that value.
    let mut withheld: HashMap<(i64, String), Vec<Channel>> = HashMap::new();
    for (r, column) in &rows {
        let channels = parse_withheld(column)
            .into_iter()
            .flat_map(opted_out_channels);
        withheld
            .entry((r.client_id, r.value.clone()))
            .or_default()
            .extend(channels);
    }
    Ok(rows
        .into_iter()
        .map(|(mut r, _)| {
            r.withheld = withheld
                .get(&(r.client_id, r.value.clone()))
                .cloned()
                .unwrap_or_default();
            r
        })
        .collect())
}

fn inbound(
    channel: Channel,
    from: &str,
    body: &str,
    at: DateTime<Utc>,
    rng: &mut StdRng,
) -> InboundMessage {
    InboundMessage {
        subject: if channel == Channel::Email {
            "Consulta sobre mi deuda".into()
        } else {
            String::new()
        },
        provider_message_id: Some(format!("sandbox-{}", rng.gen::<u64>())),
        ..InboundMessage::new(channel, from, body, at)
    }
}

/// Writes an answered exchange (our message, a reply from the party, our answer) and
/// then, when `pending`, one more inbound that stays unanswered.
async fn conversation(
    db: &Db,
    advisor: &Viewer,
    r: &Reachable,
    channel: Channel,
    pending: bool,
    now: DateTime<Utc>,
    rng: &mut StdRng,
) -> Result<(), AppError> {
    // Mornings in the Americas (14:00–18:00 UTC), when the debtors' policies let
    // advisors write; a day the policy closes loses its outbound messages.
    let day = now.date_naive() - Duration::days(rng.gen_range(2..12));
    let start = day.and_hms_opt(14, 0, 0).unwrap_or_default().and_utc()
        + Duration::minutes(rng.gen_range(0..240));
    let texts = if r.role == PartyRole::Reference {
        REFERENCE_TEXTS
    } else {
        OUTBOUND_TEXTS
    };
    let out = |body: &str| ReplyInput {
        party_ordinal: r.ordinal,
        ..ReplyInput::text(
            r.client_id,
            r.role,
            channel,
            if channel == Channel::Email {
                "Estado de su cuenta"
            } else {
                ""
            },
            body,
        )
    };
    let sending = demo_sending();
    let at = |t: DateTime<Utc>| Clock::at(t, chrono_tz::UTC);
    let sendable = channel != Channel::Call;
    // On WhatsApp a business may open a conversation only with an approved template,
    // so there the exchange starts with the debtor.
    let opens = sendable && !matches!(channel, Channel::WhatsApp | Channel::WhatsAppBusiness);
    let opened = if opens {
        unless_refused(conversations::reply(db, advisor, out(texts[0]), &sending, at(start)).await)?
    } else {
        None
    };
    if let Some(id) = opened {
        for (i, status) in [
            DeliveryStatus::Sent,
            DeliveryStatus::Delivered,
            DeliveryStatus::Read,
        ]
        .into_iter()
        .enumerate()
        {
            let when = start + Duration::minutes(1 + i as i64 * 7);
            messages::status::record(db, id, status, "", when).await?;
        }
    }
    let text = if sendable {
        INBOUND_TEXTS.choose(rng).copied().unwrap_or_default()
    } else {
        "Llamada entrante no atendida."
    };
    let answered_at = start + Duration::hours(2);
    conversations::ingest(
        db,
        inbound(channel, &r.value, text, start + Duration::hours(1), rng),
        now,
    )
    .await?;
    if sendable {
        let reply = out(texts[1]);
        let sent = conversations::reply(db, advisor, reply, &sending, at(answered_at)).await;
        if let Some(id) = unless_refused(sent)? {
            messages::status::record(db, id, DeliveryStatus::Sent, "", answered_at).await?;
        }
    }
    if pending {
        let at = now - Duration::minutes(rng.gen_range(5..60 * 20));
        conversations::ingest(db, inbound(channel, &r.value, text, at, rng), now).await?;
    }
    Ok(())
}

/// How the demo's history is written: through the sandbox, its texts carrying no links.
fn demo_sending() -> Sending {
    Sending {
        origin: String::new(),
        sms_max_segments: 10,
        demo: true,
        portal_link_days: 30,
    }
}

/// Gives every advisor pending conversations on every inbound channel and in every tab
/// (client, reference, guarantor), answered ones, and some payment-portal visits; and
/// leaves a few messages from unknown senders in "No registrados".
pub async fn demo_traffic(
    db: &Db,
    advisors: &[Viewer],
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let mut rng = StdRng::seed_from_u64(20_261_123);
    let mut written = 0;
    let wanted: Vec<(PartyRole, Channel)> = Channel::INBOUND
        .into_iter()
        .map(|c| (PartyRole::Client, c))
        .chain([
            (PartyRole::Reference, Channel::WhatsApp),
            (PartyRole::Reference, Channel::Sms),
            (PartyRole::Guarantor, Channel::WhatsApp),
            (PartyRole::Guarantor, Channel::Email),
        ])
        .collect();
    for advisor in advisors.iter().filter(|a| a.role == Role::Advisor) {
        let all = reachable(db, advisor.user_id).await?;
        let mut used = std::collections::HashSet::new();
        // First the coverage: one pending conversation per wanted (tab, channel).
        for (role, channel) in &wanted {
            let pick = all
                .iter()
                .find(|r| r.role == *role && r.serves(*channel) && !used.contains(&r.client_id));
            if let Some(r) = pick {
                used.insert(r.client_id);
                conversation(db, advisor, r, *channel, true, now, &mut rng).await?;
                written += 1;
            }
        }
        // Then a realistic mix: most answered, some pending.
        let mut rest: Vec<&Reachable> = all
            .iter()
            .filter(|r| r.role == PartyRole::Client && !used.contains(&r.client_id))
            .collect();
        rest.dedup_by_key(|r| r.client_id);
        for r in rest.into_iter().take(40) {
            let channel = *Channel::INBOUND
                .iter()
                .filter(|c| **c != Channel::Call && r.serves(**c))
                .collect::<Vec<_>>()
                .choose(&mut rng)
                .copied()
                .unwrap_or(&Channel::Sms);
            let pending = rng.gen_bool(0.35);
            conversation(db, advisor, r, channel, pending, now, &mut rng).await?;
            written += 1;
            if rng.gen_bool(0.2) {
                visit(db, r.client_id, now, &mut rng).await?;
            }
        }
    }
    for i in 0..3 {
        let at = now - Duration::hours(3 + i);
        let from = format!("+5731099900{i:02}");
        conversations::ingest(
            db,
            inbound(
                Channel::WhatsApp,
                &from,
                "Hola, me llegó un mensaje de ustedes pero no tengo deudas.",
                at,
                &mut rng,
            ),
            now,
        )
        .await?;
    }
    Ok(written)
}

async fn visit(
    db: &Db,
    client_id: i64,
    now: DateTime<Utc>,
    rng: &mut StdRng,
) -> Result<(), AppError> {
    let at = now - Duration::hours(rng.gen_range(1..24 * 6));
    let mut states = vec![
        (VisitState::Opened, at),
        (VisitState::ViewedDebt, at + Duration::seconds(40)),
    ];
    if rng.gen_bool(0.5) {
        states.push((VisitState::StartedPayment, at + Duration::seconds(95)));
        states.push((
            if rng.gen_bool(0.5) {
                VisitState::Paid
            } else {
                VisitState::Abandoned
            },
            at + Duration::seconds(200),
        ));
    }
    messages::visits::record(db, client_id, "Paga aquí", None, &states).await?;
    Ok(())
}

/// `recaudo simulate-failure`: a channel's failure event for an address, as the
/// channel adapters will report it. Returns how many clients were flagged.
pub async fn simulate_failure(
    db: &Db,
    address: &str,
    problem: &str,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let problem: ContactProblem = problem.parse().map_err(|_| {
        AppError::invalid(
            "problem",
            "Usa email_not_found, whatsapp_unavailable o wrong_phone.",
        )
    })?;
    let kind = match problem {
        ContactProblem::EmailNotFound => ContactKind::Email,
        ContactProblem::WhatsAppUnavailable => ContactKind::WhatsApp,
        ContactProblem::WrongPhone => ContactKind::Phone,
    };
    let clients = alerts::contact_failed(db, kind, address, problem, None, now).await?;
    Ok(clients.len())
}

/// Gives every advisor flagged clients, through the same services: one that won't pay,
/// one that can't, one asking to refinance, and one whose e-mail bounced. They are
/// past the clients `demo_calls` puts in the tray.
pub async fn demo_alerts(db: &Db, advisors: &[Viewer], clock: Clock) -> Result<(), AppError> {
    let now = clock.now;
    let calendar = CallCalendar::default();
    for advisor in advisors.iter().filter(|a| a.role == Role::Advisor) {
        let ids: Vec<(i64,)> = on_db!(db, p => sqlx::query_as(
            "SELECT id FROM clients WHERE advisor_id = $1 ORDER BY id LIMIT 4 OFFSET 12")
            .bind(advisor.user_id).fetch_all(p).await)?;
        let [(wont,), (cant,), (refinance,), (bounced,)] = ids[..] else {
            continue;
        };
        for (id, situation, result, note) in [
            (
                wont,
                Situation::OutboundContacted,
                Outcome::WontPay,
                "Dice que la deuda no es suya.",
            ),
            (
                cant,
                Situation::OutboundContacted,
                Outcome::CantPay,
                "Quedó sin empleo este mes.",
            ),
            (
                refinance,
                Situation::Inbound,
                Outcome::Refinancing,
                "Pide refinanciar a 12 cuotas.",
            ),
        ] {
            let input = OutcomeInput {
                note: note.into(),
                ..outcome(situation, result)
            };
            calls::register(db, advisor, id, input, &calendar, clock).await?;
        }
        let email: Option<(String,)> = on_db!(db, p => sqlx::query_as(
            "SELECT value FROM contact_points WHERE client_id = $1 AND kind = 'email' ORDER BY id LIMIT 1")
            .bind(bounced).fetch_optional(p).await)?;
        if let Some((email,)) = email {
            let problem = ContactProblem::EmailNotFound;
            alerts::contact_failed(db, ContactKind::Email, &email, problem, None, now).await?;
        }
    }
    Ok(())
}

/// `recaudo simulate`: `count` inbound messages from random registered addresses (and
/// now and then an unknown one), as if they had just arrived.
pub async fn simulate(db: &Db, count: usize, now: DateTime<Utc>) -> Result<usize, AppError> {
    let mut rng = StdRng::from_entropy();
    let addresses: Vec<(String, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT kind, value FROM contact_points ORDER BY id LIMIT 5000").fetch_all(p).await)?;
    let mut landed = 0;
    for _ in 0..count {
        let unknown = addresses.is_empty() || rng.gen_bool(0.05);
        let (channel, from) = if unknown {
            (
                Channel::Sms,
                format!("+57310{:07}", rng.gen_range(0..10_000_000)),
            )
        } else {
            let (kind, value) = addresses.choose(&mut rng).cloned().unwrap_or_default();
            let channel = if kind == "email" {
                Channel::Email
            } else {
                *[Channel::WhatsApp, Channel::Sms, Channel::WhatsAppBusiness]
                    .choose(&mut rng)
                    .unwrap_or(&Channel::Sms)
            };
            (channel, value)
        };
        let text = INBOUND_TEXTS.choose(&mut rng).copied().unwrap_or_default();
        let done =
            conversations::ingest(db, inbound(channel, &from, text, now, &mut rng), now).await?;
        landed += done.client_ids.len();
    }
    Ok(landed)
}

fn outcome(situation: Situation, outcome: Outcome) -> OutcomeInput {
    OutcomeInput {
        situation: situation.as_str().into(),
        outcome: outcome.as_str().into(),
        ..OutcomeInput::default()
    }
}

/// Gives every advisor a working day in the Llamadas tray, through the same services
/// the Gestión form uses: calls due today (and one left over from yesterday), a call
/// already tried without answer, pending promises (one due today), a broken promise
/// back at the top of the tray, and payments to verify (one with its receipt).
pub async fn demo_calls(db: &Db, advisors: &[Viewer], clock: Clock) -> Result<(), AppError> {
    let (today, now) = (clock.today, clock.now);
    let calendar = CallCalendar::default();
    let policy = PromisePolicy::default();
    let day = |n: i64| today + Duration::days(n);
    for advisor in advisors.iter().filter(|a| a.role == Role::Advisor) {
        let ids: Vec<(i64,)> = on_db!(db, p => sqlx::query_as(
            "SELECT id FROM clients WHERE advisor_id = $1 ORDER BY id LIMIT 12")
            .bind(advisor.user_id).fetch_all(p).await)?;
        let ids: Vec<i64> = ids.into_iter().map(|(id,)| id).collect();
        if ids.len() < 12 {
            continue;
        }
        let mut tx = db.begin().await?;
        for (i, id) in ids[..5].iter().enumerate() {
            let (due, reason) = match i {
                0 => (day(-1), CallReason::Callback),
                _ => (today, CallReason::Flow),
            };
            calls::schedule(&mut tx, *id, due, reason, Some(advisor.user_id), now).await?;
        }
        calls::schedule(&mut tx, ids[5], day(1), CallReason::Flow, None, now).await?;
        // Promised ten days ago for five days ago, with nothing paid: the job breaks it.
        let by = calls::Declared {
            client_id: ids[6],
            outcome_id: None,
            user_id: advisor.user_id,
        };
        let ten_days_ago = Clock {
            now: now - Duration::days(10),
            today: day(-10),
            ..clock
        };
        calls::create_promise(&mut tx, by, day(-5), 8_000_000, ten_days_ago).await?;
        tx.commit().await?;
        let register = |id: i64, input: OutcomeInput| {
            calls::register(db, advisor, id, input, &calendar, clock)
        };
        register(
            ids[4],
            outcome(Situation::OutboundNotContacted, Outcome::NoAnswer),
        )
        .await?;
        for (id, due, amount) in [(ids[7], day(5), "150000"), (ids[8], today, "90000")] {
            let input = OutcomeInput {
                date: due.to_string(),
                amount: amount.into(),
                note: "Se compromete a pagar por transferencia.".into(),
                ..outcome(Situation::OutboundContacted, Outcome::PromiseOrToVerify)
            };
            register(id, input).await?;
        }
        for (id, receipt) in [(ids[9], true), (ids[10], false)] {
            let input = OutcomeInput {
                date: day(-1).to_string(),
                amount: "120000".into(),
                payment_method: "Transferencia".into(),
                reference: format!("TRX-{id}"),
                attachments: if receipt {
                    vec![AttachmentInput {
                        file_name: "comprobante.txt".into(),
                        content_type: "text/plain".into(),
                        content: format!("Transferencia TRX-{id} por 120.000").into_bytes(),
                    }]
                } else {
                    Vec::new()
                },
                ..outcome(Situation::Inbound, Outcome::PaymentMade)
            };
            register(id, input).await?;
        }
    }
    calls::promises::settle(db, policy, clock).await?;
    Ok(())
}
