//! Contact governance through the real services: the composer's verdict and a
//! scheduler pass agree; an opt-out by webhook stops what follows at once; a blocked
//! automated send leaves at the next allowed time; every decision is audited; the
//! settings page's policies and holidays are what the preflight reads.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use crate::common::*;
use recaudo::domain::automation::{
    AutomationSettings, CampaignInput, ContactHours, EventRuleInput, Trigger,
};
use recaudo::domain::calls::{CallReason, DeclareInput};
use recaudo::domain::client::PartyRole;
use recaudo::domain::compose::ReplyTarget;
use recaudo::domain::conversation::{InboundMessage, ReplyInput};
use recaudo::domain::error::AppError;
use recaudo::domain::governance::{Action, Policy, Verdict};
use recaudo::domain::listing::InboxQuery;
use recaudo::domain::message::Channel;
use recaudo::domain::segments::{Condition, Op, Rule, SegmentInput, Variable};
use recaudo::domain::templates::{Purpose, TemplateInput};
use recaudo::domain::user::{Role, Viewer};
use recaudo::on_db;
use recaudo::server::automation::{self, scheduler};
use recaudo::server::channels::dispatcher::Dispatcher;
use recaudo::server::channels::email::unsubscribe;
use recaudo::server::channels::providers::Providers;
use recaudo::server::clock::Clock;
use recaudo::server::conversations::{self, compose};
use recaudo::server::db::Db;
use recaudo::server::messages::outbox::Policy as OutboxPolicy;
use recaudo::server::messages::preflight;
use recaudo::server::{calls, clients, governance, segments, templates};

struct World {
    admin: Viewer,
    advisor: Viewer,
}

async fn world(db: &Db) -> World {
    let admin = user(db, "admin@x.co", Role::Admin, None).await;
    let admin = viewer(db, &admin).await;
    let advisor = user(db, "asesor@x.co", Role::Advisor, None).await;
    let advisor = viewer(db, &advisor).await;
    // The organisation's own hours open all day, every day: the debtors' policies
    // alone decide, as the composer sees them.
    automation::save_settings(
        db,
        &admin,
        AutomationSettings {
            contact: ContactHours::parse("1111111", "00:00", "23:59").unwrap(),
            fallback_enabled: false,
            fallback_body: "Aviso".into(),
        },
        now(),
    )
    .await
    .unwrap();
    World { admin, advisor }
}

/// A debtor of the advisor in `country`, with its own zone.
async fn debtor(db: &Db, w: &World, doc: &str, country: &str, zone: &str) -> i64 {
    let advisor = recaudo::server::users::get(db, w.advisor.user_id)
        .await
        .unwrap();
    let mut input = client_input(doc, "Ana", &format!("Cliente {doc}"), Some(&advisor));
    input.country = country.into();
    input.time_zone = zone.into();
    input.segment = format!("G{doc}");
    if country != "CO" {
        input.contacts.phones = vec![format!("+569{}", &doc[doc.len() - 8..])];
    }
    input.debts = vec![debt(&format!("F-{doc}"), "2026-10-01", "250000", "0")];
    client(db, &w.admin, &input).await
}

fn at(zone: chrono_tz::Tz, local: &str) -> DateTime<Utc> {
    let t = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap();
    zone.from_local_datetime(&t)
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

fn clock_at(now: DateTime<Utc>) -> Clock {
    Clock::at(now, tz())
}

async fn sms_template(db: &Db, w: &World, name: &str) -> i64 {
    templates::save(
        db,
        &w.admin,
        None,
        TemplateInput {
            name: name.into(),
            channel: Channel::Sms,
            recipient: PartyRole::Client,
            purpose: Purpose::Campaign,
            subject: String::new(),
            body: "{{nombre}}, le recordamos su pago.".into(),
            approved: true,
        },
        now(),
    )
    .await
    .unwrap()
}

/// A campaign over a one-client segment, run by one scheduler pass at `now`; returns
/// the message written: (due of its outbox row, status, held, occurred_at).
async fn campaign_to(
    db: &Db,
    w: &World,
    client_id: i64,
    template: i64,
    now: DateTime<Utc>,
) -> (Option<DateTime<Utc>>, String, bool, DateTime<Utc>) {
    let doc: (String,) =
        on_db!(db, p => sqlx::query_as("SELECT document_number FROM clients WHERE id = $1")
        .bind(client_id).fetch_one(p).await)
        .unwrap();
    let rule = Rule::Condition(Condition {
        variable: Variable::Portfolio,
        op: Op::Eq,
        value: format!("G{}", doc.0),
    });
    let segment = segments::save(
        db,
        &w.admin,
        None,
        SegmentInput {
            name: format!("Solo {} {}", doc.0, now.timestamp()),
            rule,
        },
        now,
    )
    .await
    .unwrap();
    automation::create_campaign(
        db,
        &w.admin,
        CampaignInput {
            name: format!("Campaña {} {}", doc.0, now.timestamp()),
            segment_id: Some(segment),
            template_id: Some(template),
            scheduled_at: String::new(),
        },
        clock_at(now),
    )
    .await
    .unwrap();
    scheduler::run_once(db, &sending(), clock_at(now))
        .await
        .unwrap();
    on_db!(db, p => sqlx::query_as(
        "SELECT o.due_at, m.status, m.held, m.occurred_at FROM messages m
         LEFT JOIN outbox o ON o.message_id = m.id
         WHERE m.client_id = $1 AND m.origin = 'campaign' ORDER BY m.id DESC LIMIT 1")
        .bind(client_id).fetch_one(p).await)
    .unwrap()
}

/// Runs an SMS campaign to the debtor the next day, asserts that its message is held
/// back as failed, and returns how many outbox rows go to `address`.
async fn campaign_is_held(db: &Db, w: &World, client_id: i64, address: &str) -> i64 {
    let template = sms_template(db, w, "Recordatorio").await;
    let later = now() + Duration::days(1);
    let (_, status, held, _) = campaign_to(db, w, client_id, template, later).await;
    assert_eq!((status.as_str(), held), ("failed", true));
    let (queued,): (i64,) = on_db!(db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM outbox o JOIN messages m ON m.id = o.message_id WHERE m.address = $1")
        .bind(address).fetch_one(p).await)
    .unwrap();
    queued
}

async fn composer_verdict(
    db: &Db,
    w: &World,
    client_id: i64,
    channel: Channel,
    now: DateTime<Utc>,
) -> (Verdict, String) {
    let c = compose::contact_check(
        db,
        &w.advisor,
        ReplyTarget {
            client_id,
            party_role: PartyRole::Client,
            party_ordinal: 1,
            channel,
        },
        "",
        &sending(),
        clock_at(now),
    )
    .await
    .unwrap();
    (c.verdict, c.message)
}

/// The same contacts through the composer and through a scheduler pass: where the
/// composer allows, the pass queues it at once; where it blocks for the hours, the
/// pass queues it for the next allowed time the composer names; where it blocks for a
/// cap, the pass holds it.
async fn the_composer_and_the_scheduler_agree(db: Db) {
    let w = world(&db).await;
    let template = sms_template(&db, &w, "Recordatorio").await;
    let bogota = chrono_tz::America::Bogota;
    let santiago = chrono_tz::America::Santiago;
    // (country, zone, local time of the attempt, expected next allowed local time)
    let cases: &[(&str, chrono_tz::Tz, &str, Option<&str>)] = &[
        ("CO", bogota, "2026-11-23 18:59", None),
        ("CO", bogota, "2026-11-23 19:00", Some("2026-11-24 07:00")),
        ("CO", bogota, "2026-11-28 15:00", Some("2026-11-30 07:00")),
        ("CO", bogota, "2026-11-29 10:00", Some("2026-11-30 07:00")),
        ("CO", bogota, "2026-12-08 10:00", Some("2026-12-09 07:00")),
        ("CL", santiago, "2026-11-28 19:59", None),
        ("CL", santiago, "2026-11-28 20:00", Some("2026-11-30 08:00")),
        ("CL", santiago, "2026-12-08 09:00", Some("2026-12-09 08:00")),
    ];
    for (i, (country, zone, local, next)) in cases.iter().enumerate() {
        let doc = format!("7{:09}", 100 + i);
        let id = debtor(&db, &w, &doc, country, zone.name()).await;
        let now = at(*zone, local);
        let (verdict, message) = composer_verdict(&db, &w, id, Channel::Sms, now).await;
        let (due, status, held, occurred) = campaign_to(&db, &w, id, template, now).await;
        assert!(!held, "{local}: hours delay, never hold: {status}");
        match next {
            None => {
                assert_eq!(verdict, Verdict::Allow, "{local}: {message}");
                assert_eq!(due, Some(now), "{local}");
            }
            Some(n) => {
                assert_eq!(verdict, Verdict::Block, "{local}: {message}");
                let expected = at(*zone, n);
                assert_eq!(due, Some(expected), "{local}: {message}");
                assert_eq!(
                    occurred, expected,
                    "a waiting message is dated when it leaves"
                );
                let shown = expected
                    .with_timezone(zone)
                    .format("%d/%m %H:%M")
                    .to_string();
                assert!(message.contains(&shown), "{local}: {message} names {shown}");
            }
        }
    }
    // A cap: a Colombian debtor already written today is blocked in the composer and
    // held by the pass, with the reason in the conversation.
    let id = debtor(&db, &w, "7000000200", "CO", "America/Bogota").await;
    let monday = at(bogota, "2026-11-23 10:00");
    let first = ReplyInput::text(
        id,
        PartyRole::Client,
        Channel::Email,
        "Su cuenta",
        "Buenos días",
    );
    conversations::reply(&db, &w.advisor, first, &sending(), clock_at(monday))
        .await
        .unwrap();
    let later = monday + Duration::hours(2);
    let (verdict, message) = composer_verdict(&db, &w, id, Channel::Sms, later).await;
    assert_eq!(verdict, Verdict::Block);
    assert!(message.contains("Un contacto al día"), "{message}");
    let (due, status, held, _) = campaign_to(&db, &w, id, template, later).await;
    assert_eq!((due, status.as_str(), held), (None, "failed", true));
    let why: (String,) = on_db!(db, p => sqlx::query_as(
        "SELECT s.detail FROM message_statuses s JOIN messages m ON m.id = s.message_id
         WHERE m.client_id = $1 AND m.origin = 'campaign' AND s.status = 'failed'")
        .bind(id).fetch_one(p).await)
    .unwrap();
    assert!(why.0.contains("Un contacto al día"), "{}", why.0);
    // The server judges again on send whatever the browser showed.
    let second = ReplyInput::text(id, PartyRole::Client, Channel::Sms, "", "Hola de nuevo");
    let refused = conversations::reply(&db, &w.advisor, second, &sending(), clock_at(later)).await;
    assert!(
        matches!(&refused, Err(AppError::Invalid(e)) if e[0].field == "policy"),
        "{refused:?}"
    );
}

/// "BAJA" by WhatsApp is stored within a second of the webhook, the conversation shows
/// it, the composer greys the channel and the very next pass writes nothing there.
async fn an_opt_out_by_webhook_stops_what_follows(db: Db) {
    let w = world(&db).await;
    let id = debtor(&db, &w, "7000000300", "CO", "America/Bogota").await;
    let phone: (String,) = on_db!(db, p => sqlx::query_as(
        "SELECT value FROM contact_points WHERE client_id = $1 AND kind = 'phone'")
        .bind(id).fetch_one(p).await)
    .unwrap();
    let started = std::time::Instant::now();
    conversations::ingest(
        &db,
        InboundMessage::new(Channel::Sms, &phone.0, "BAJA", now()),
        now(),
    )
    .await
    .unwrap();
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(1), "{took:?}");
    let stored: (String, String) = on_db!(db, p => sqlx::query_as(
        "SELECT channel, source FROM contact_opt_outs WHERE address = $1")
        .bind(&phone.0).fetch_one(p).await)
    .unwrap();
    assert_eq!(stored.0, "sms");
    let conversation = conversations::conversation(&db, &w.advisor, id, clock())
        .await
        .unwrap();
    assert!(
        conversation
            .messages
            .iter()
            .any(|m| m.body.starts_with("Baja registrada")),
        "the conversation shows the opt-out"
    );
    let ctx = compose::context(&db, &w.advisor, id, &sending(), clock())
        .await
        .unwrap();
    let sms = ctx.parties[0]
        .options
        .iter()
        .find(|o| o.channel == Channel::Sms)
        .unwrap();
    assert!(
        sms.blocked
            .as_deref()
            .unwrap_or("")
            .contains("pidió no recibir"),
        "{sms:?}"
    );
    let queued = campaign_is_held(&db, &w, id, &phone.0).await;
    assert_eq!(queued, 0, "nothing queued to the address after its opt-out");
}

/// A channel the debtor did not authorise on a contact point (Ley 2300's "canales
/// autorizados") is greyed out in the composer, held by a scheduler pass and refused by
/// the dispatcher's check, until the client's form authorises it again.
async fn a_channel_not_authorised_is_never_used(db: Db) {
    let w = world(&db).await;
    let id = debtor(&db, &w, "7000000800", "CO", "America/Bogota").await;
    let before = clients::get(&db, &w.admin, id, clock()).await.unwrap();
    let phone = before.parties[0].contacts[0].clone();
    let mut edit = before.to_input();
    edit.contacts.phones_withheld = vec![vec![Channel::Sms]];
    clients::update(&db, &w.admin, id, valid(&edit), clock())
        .await
        .unwrap();
    let after = clients::get(&db, &w.admin, id, clock()).await.unwrap();
    let kept = &after.parties[0].contacts[0];
    assert_eq!(
        (kept.id, kept.withheld.as_slice()),
        (phone.id, &[Channel::Sms][..])
    );

    let sms_option = |ctx: &recaudo::domain::compose::ComposerContext| {
        ctx.parties[0]
            .options
            .iter()
            .find(|o| o.channel == Channel::Sms)
            .unwrap()
            .blocked
            .clone()
    };
    let ctx = compose::context(&db, &w.advisor, id, &sending(), clock())
        .await
        .unwrap();
    let why = sms_option(&ctx).unwrap_or_default();
    assert!(why.contains("no autorizó SMS"), "{why}");
    let refused = preflight::opt_outs(&db, std::slice::from_ref(&phone.value))
        .await
        .unwrap();
    assert!(refused.reason(&phone.value, Channel::Sms).is_some());
    assert!(refused.reason(&phone.value, Channel::Call).is_none());

    let queued = campaign_is_held(&db, &w, id, &phone.value).await;
    assert_eq!(queued, 0, "nothing queued on a channel not authorised");

    // With calls not authorised on its only phone either, the client's call waits in
    // Llamadas marked with the reason.
    let mut tx = db.begin().await.unwrap();
    calls::schedule(&mut tx, id, today(), CallReason::Flow, None, now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let in_tray = || async {
        calls::calls_tray(&db, &w.advisor, &InboxQuery::default(), clock())
            .await
            .unwrap()
            .rows
            .into_iter()
            .find(|r| r.id == id)
            .expect("the call is due today")
            .call_blocked
            .unwrap_or_default()
    };
    assert!(!in_tray().await.contains("Ningún teléfono"), "SMS only");
    let mut edit = after.to_input();
    edit.contacts.phones_withheld = vec![vec![Channel::Sms, Channel::Call]];
    clients::update(&db, &w.admin, id, valid(&edit), clock())
        .await
        .unwrap();
    let why = in_tray().await;
    assert!(
        why.starts_with("Ningún teléfono admite llamadas") && why.contains("no autorizó Llamada"),
        "{why}"
    );

    let mut edit = after.to_input();
    edit.contacts.phones_withheld = Vec::new();
    clients::update(&db, &w.admin, id, valid(&edit), clock())
        .await
        .unwrap();
    let ctx = compose::context(&db, &w.advisor, id, &sending(), clock())
        .await
        .unwrap();
    assert_eq!(sms_option(&ctx), None, "authorised again");
    assert!(
        !in_tray().await.contains("Ningún teléfono"),
        "callable again"
    );
}

/// Two advisors send at the same moment to a Colombian debtor not yet contacted today:
/// both checks pass before either send is written, and only one may leave (one contact
/// a day). The send's own transaction judges again with the debtor locked.
async fn two_sends_racing_for_the_last_contact_leave_once(db: Db) {
    let w = world(&db).await;
    let monday = at(chrono_tz::America::Bogota, "2026-11-23 10:00");
    for round in 0..3 {
        let id = debtor(
            &db,
            &w,
            &format!("700000090{round}"),
            "CO",
            "America/Bogota",
        )
        .await;
        let (db, advisor) = (&db, &w.advisor);
        let send = |text: &'static str| async move {
            let input = ReplyInput::text(id, PartyRole::Client, Channel::Sms, "", text);
            conversations::reply(db, advisor, input, &sending(), clock_at(monday)).await
        };
        let (a, b) = tokio::join!(send("Primer aviso"), send("Segundo aviso"));
        let sent = [&a, &b].iter().filter(|r| r.is_ok()).count();
        assert_eq!(sent, 1, "round {round}: {a:?} {b:?}");
        let refused = if a.is_err() { a } else { b };
        assert!(
            matches!(&refused, Err(AppError::Invalid(e)) if e[0].field == "policy"
                && e[0].message.contains("Un contacto al día")),
            "{refused:?}"
        );
        let (written,): (i64,) = on_db!(db, p => sqlx::query_as(
            "SELECT COUNT(*) FROM messages WHERE client_id = $1 AND direction = 'outbound'")
            .bind(id).fetch_one(p).await)
        .unwrap();
        assert_eq!(written, 1);
    }
}

/// Decisions are stored with the rule, the user or the job, and the time; a warning
/// goes out only with a reason, which is kept.
async fn decisions_are_audited(db: Db) {
    let w = world(&db).await;
    let id = debtor(&db, &w, "7000000400", "PE", "America/Lima").await;
    let mut pe = Policy::shipped("PE", &ContactHours::default());
    pe.hours_action = Action::Warn;
    pe.source = "Política de la organización".into();
    governance::save(&db, &w.admin, pe, now()).await.unwrap();
    let night = at(chrono_tz::America::Lima, "2026-11-23 21:00");
    let body = |reason: &str| ReplyInput {
        override_reason: reason.into(),
        ..ReplyInput::text(
            id,
            PartyRole::Client,
            Channel::Sms,
            "",
            "Le escribimos por su cuenta",
        )
    };
    let asked = conversations::reply(&db, &w.advisor, body(""), &sending(), clock_at(night)).await;
    assert!(
        matches!(&asked, Err(AppError::Invalid(e)) if e[0].field == "override_reason"),
        "{asked:?}"
    );
    let message = conversations::reply(
        &db,
        &w.advisor,
        body("El deudor pidió que lo llamen de noche"),
        &sending(),
        clock_at(night),
    )
    .await
    .unwrap();
    // A reference never reads the debt: refused, and the refusal is a decision.
    let reference = ReplyInput {
        party_role: PartyRole::Reference,
        ..ReplyInput::text(
            id,
            PartyRole::Reference,
            Channel::Sms,
            "",
            "Le enviamos el estado de cuenta",
        )
    };
    let refused = conversations::reply(&db, &w.advisor, reference, &sending(), clock()).await;
    assert!(refused.is_err(), "{refused:?}");
    /// (verdict, rules, override reason, user, message)
    type Decided = (String, String, String, Option<i64>, Option<i64>);
    let rows: Vec<Decided> = on_db!(db, p => sqlx::query_as(
        "SELECT verdict, rules, override_reason, user_id, message_id FROM contact_decisions
         WHERE client_id = $1 ORDER BY id")
        .bind(id).fetch_all(p).await)
    .unwrap();
    assert_eq!(rows[0].0, "warn");
    assert_eq!(rows[0].1, "Horario");
    assert_eq!(rows[0].2, "El deudor pidió que lo llamen de noche");
    assert_eq!(rows[0].3, Some(w.advisor.user_id));
    assert_eq!(rows[0].4, Some(message));
    let audit: (i64,) = on_db!(db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'contact_policy.save' AND subject = 'country:PE'")
        .fetch_one(p).await)
    .unwrap();
    assert_eq!(audit.0, 1);
}

/// Today becomes a Colombian holiday, added through `db`.
async fn civic_day_today(db: &Db, w: &World) {
    governance::add_holiday(
        db,
        &w.admin,
        "CO",
        &today().to_string(),
        "Día cívico",
        now(),
    )
    .await
    .unwrap();
}

/// A holiday an administrator adds closes the day for that country's debtors; an
/// unknown country or a bad date is refused with the field named.
async fn holidays_are_data(db: Db) {
    let w = world(&db).await;
    let id = debtor(&db, &w, "7000000500", "CO", "America/Bogota").await;
    let (verdict, _) = composer_verdict(&db, &w, id, Channel::Email, now()).await;
    assert_eq!(verdict, Verdict::Allow);
    civic_day_today(&db, &w).await;
    let (verdict, message) = composer_verdict(&db, &w, id, Channel::Email, now()).await;
    assert_eq!(verdict, Verdict::Block);
    assert!(message.contains("festivo"), "{message}");
    let again =
        governance::add_holiday(&db, &w.admin, "CO", &today().to_string(), "Otro", now()).await;
    assert!(matches!(&again, Err(AppError::Invalid(e)) if e[0].field == "holiday_day"));
    let bad = governance::add_holiday(&db, &w.admin, "CO", "mañana", "", now()).await;
    let Err(AppError::Invalid(e)) = bad else {
        panic!("{bad:?}")
    };
    let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["holiday_day", "holiday_name"]);
    assert!(
        governance::add_holiday(&db, &w.advisor, "CO", "2027-02-01", "X", now())
            .await
            .is_err()
    );
    let detail = governance::detail(&db, &w.admin, "CL", clock())
        .await
        .unwrap();
    assert!(detail
        .holidays
        .iter()
        .any(|h| h.day == NaiveDate::from_ymd_opt(2027, 9, 18).unwrap()));
    assert!(detail.policy.source.contains("art. 37"));
}

/// The unsubscribe link every e-mail carries records the opt-out, and a message queued
/// to the address before it is refused by the dispatcher instead of leaving.
async fn an_email_unsubscribe_stops_what_is_queued(db: Db) {
    let w = world(&db).await;
    let id = debtor(&db, &w, "7000000500", "CO", "America/Bogota").await;
    let (address,): (String,) = on_db!(db, p => sqlx::query_as(
        "SELECT value FROM contact_points WHERE client_id = $1 AND kind = 'email'")
        .bind(id).fetch_one(p).await)
    .unwrap();
    let input = ReplyInput::text(id, PartyRole::Client, Channel::Email, "Su cuenta", "Hola");
    let queued = conversations::reply(&db, &w.advisor, input, &sending(), clock())
        .await
        .unwrap();
    let key = unsubscribe::key(&db).await.unwrap();
    let forged = unsubscribe::token(&key, "otra@correo.co").replacen('-', "-00", 1);
    assert!(matches!(
        unsubscribe::apply(&db, &forged, now()).await,
        Err(AppError::Invalid(_))
    ));
    let token = unsubscribe::token(&key, &address);
    assert_eq!(
        unsubscribe::apply(&db, &token, now()).await.unwrap(),
        address
    );
    assert_eq!(
        unsubscribe::apply(&db, &token, now()).await.unwrap(),
        address,
        "asking twice changes nothing"
    );
    let sandbox = Providers::new(std::time::Duration::from_secs(5), true, silent_sandbox());
    drain(Dispatcher::new(
        db.clone(),
        OutboxPolicy::default(),
        sandbox,
    ))
    .await;
    let (status,): (String,) = on_db!(db, p => sqlx::query_as(
        "SELECT status FROM messages WHERE id = $1").bind(queued).fetch_one(p).await)
    .unwrap();
    assert_eq!(status, "failed");
    let (detail,): (String,) = on_db!(db, p => sqlx::query_as(
        "SELECT detail FROM message_statuses WHERE message_id = $1 AND status = 'failed'")
        .bind(queued).fetch_one(p).await)
    .unwrap();
    assert!(detail.starts_with("No enviado:"), "{detail}");
    let notes: (i64,) = on_db!(db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM messages WHERE client_id = $1 AND body LIKE 'Baja registrada%'")
        .bind(id).fetch_one(p).await)
    .unwrap();
    assert_eq!(notes.0, 1, "one note, however often the link is used");
}

/// A pass reads the policy's inputs once for a batch of debtors: a second message to
/// a debtor in the same batch still counts the first, so Colombia's one contact a day
/// holds it.
async fn a_second_message_in_one_pass_counts_the_first(db: Db) {
    let w = world(&db).await;
    let id = debtor(&db, &w, "7000000300", "CO", "America/Bogota").await;
    let template = sms_template(&db, &w, "Pago recibido").await;
    automation::save_event(
        &db,
        &w.admin,
        None,
        EventRuleInput {
            name: "Pago a verificar".into(),
            trigger: Trigger::PaymentToVerify,
            days_before: 0,
            template_id: Some(template),
            active: true,
        },
        now(),
    )
    .await
    .unwrap();
    let monday = at(chrono_tz::America::Bogota, "2026-11-23 10:00");
    for amount in ["1000", "2000"] {
        let payment = DeclareInput {
            client_id: id,
            payment: true,
            date: "2026-11-20".into(),
            amount: amount.into(),
            ..DeclareInput::default()
        };
        calls::declare(&db, &w.advisor, payment, clock_at(monday))
            .await
            .unwrap();
    }
    let report = scheduler::run_once(&db, &sending(), clock_at(monday + Duration::minutes(1)))
        .await
        .unwrap();
    assert_eq!(report.event_messages, 2, "{}", report.describe());
    let written: Vec<(bool, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT held, status FROM messages WHERE client_id = $1 AND origin = 'event' ORDER BY id")
        .bind(id).fetch_all(p).await)
    .unwrap();
    assert_eq!(written.len(), 2);
    assert!(!written[0].0, "the first leaves: {written:?}");
    assert!(written[1].0, "the second is held: {written:?}");
    let (rules,): (String,) = on_db!(db, p => sqlx::query_as(
        "SELECT rules FROM contact_decisions WHERE client_id = $1 AND job = 'event'")
        .bind(id).fetch_one(p).await)
    .unwrap();
    assert!(rules.contains("Un contacto al día"), "{rules}");
}

/// An answer to what the debtor wrote on a channel in the last 24 hours is information
/// they asked for: the caps do not count it (Colombia's policy says so), on that channel
/// only and only for a day.
async fn an_answer_to_the_debtor_passes_the_caps(db: Db) {
    let w = world(&db).await;
    let bogota = chrono_tz::America::Bogota;
    let id = debtor(&db, &w, "7000000500", "CO", "America/Bogota").await;
    let phone: (String,) = on_db!(db, p => sqlx::query_as(
        "SELECT value FROM contact_points WHERE client_id = $1 AND kind = 'phone'")
        .bind(id).fetch_one(p).await)
    .unwrap();
    let monday = at(bogota, "2026-11-23 10:00");
    let first = ReplyInput::text(id, PartyRole::Client, Channel::Email, "Su cuenta", "Hola");
    conversations::reply(&db, &w.advisor, first, &sending(), clock_at(monday))
        .await
        .unwrap();
    let noon = at(bogota, "2026-11-23 12:00");
    let (verdict, message) = composer_verdict(&db, &w, id, Channel::Sms, noon).await;
    assert_eq!(verdict, Verdict::Block, "one contact a day: {message}");
    let wrote = at(bogota, "2026-11-23 11:00");
    let question = InboundMessage::new(Channel::Sms, &phone.0, "¿Cuánto debo?", wrote);
    conversations::ingest(&db, question, wrote).await.unwrap();
    let (verdict, message) = composer_verdict(&db, &w, id, Channel::Sms, noon).await;
    assert_eq!(verdict, Verdict::Allow, "an answer by SMS: {message}");
    let (verdict, message) = composer_verdict(&db, &w, id, Channel::Email, noon).await;
    assert_eq!(
        verdict,
        Verdict::Block,
        "the debtor did not write by e-mail: {message}"
    );
    let within = at(bogota, "2026-11-24 10:59");
    let (verdict, message) = composer_verdict(&db, &w, id, Channel::Sms, within).await;
    assert_eq!(verdict, Verdict::Allow, "still within the day: {message}");
    let after = at(bogota, "2026-11-24 11:01");
    let (verdict, message) = composer_verdict(&db, &w, id, Channel::Sms, after).await;
    assert_eq!(
        verdict,
        Verdict::Block,
        "a second medium this week: {message}"
    );
}

/// Each process keeps the policies in memory; a holiday added through another process
/// (another connection pool on the same database) counts at this one's next check.
async fn a_change_in_another_process_counts_at_once(t: TestDb) {
    let db = t.db.clone();
    let w = world(&db).await;
    let id = debtor(&db, &w, "7000000400", "CO", "America/Bogota").await;
    let (verdict, message) = composer_verdict(&db, &w, id, Channel::Email, now()).await;
    assert_eq!(verdict, Verdict::Allow, "{message}");
    let other = Db::connect(&t.url()).await.unwrap();
    civic_day_today(&other, &w).await;
    other.close().await;
    let (verdict, message) = composer_verdict(&db, &w, id, Channel::Email, now()).await;
    assert_eq!(verdict, Verdict::Block, "{message}");
    assert!(message.contains("festivo"), "{message}");
}

mod a_change_in_another_process_counts_at_once {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::a_change_in_another_process_counts_at_once(crate::common::TestDb::sqlite().await)
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(t) = crate::common::TestDb::postgres().await {
            super::a_change_in_another_process_counts_at_once(t).await;
        }
    }
}

on_both_engines!(
    a_second_message_in_one_pass_counts_the_first,
    the_composer_and_the_scheduler_agree,
    an_opt_out_by_webhook_stops_what_follows,
    an_email_unsubscribe_stops_what_is_queued,
    decisions_are_audited,
    holidays_are_data,
    an_answer_to_the_debtor_passes_the_caps,
    a_channel_not_authorised_is_never_used,
    two_sends_racing_for_the_last_contact_leave_once,
);
