//! E-mail through a real mail system on loopback (Postfix and Dovecot, started per test),
//! on SQLite and PostgreSQL: a reply with copies and a file goes out over authenticated
//! SMTP as proper MIME; the debtor's answer, from another mailbox, comes back over IMAP
//! into the right conversation with its HTML made inert; our next message threads under
//! it; a bounce that Postfix generates flags the address; a wrong password fails clearly.

use crate::common::mail::{MailServer, MAIL_PASSWORD, OFFICE};
use crate::common::*;
use recaudo::domain::alerts::ContactProblem;
use recaudo::domain::channels::{ChannelSettingInput, ProviderKind};
use recaudo::domain::client::PartyRole;
use recaudo::domain::contact::ContactKind;
use recaudo::domain::conversation::ReplyInput;
use recaudo::domain::error::AppError;
use recaudo::domain::message::{AttachmentInput, Channel, DeliveryStatus, Direction};
use recaudo::domain::user::{Role, Viewer};
use recaudo::on_db;
use recaudo::server::channels::dispatcher::Dispatcher;
use recaudo::server::channels::email::imap;
use recaudo::server::channels::providers::Providers;
use recaudo::server::config::Sending;
use recaudo::server::db::Db;
use recaudo::server::messages::outbox::Policy;
use recaudo::server::{channels, clients, conversations};

fn mail_setting(mail: &MailServer, password: &str) -> ChannelSettingInput {
    ChannelSettingInput {
        inbound_url: mail.imap_url(),
        ..provider_setting(
            Channel::Email,
            Some(ProviderKind::Smtp),
            &mail.smtp_url(),
            &format!("Cobranzas ACME <{OFFICE}>"),
            password,
        )
    }
}

fn dispatcher(db: &Db) -> Dispatcher {
    Dispatcher::new(
        db.clone(),
        Policy {
            base_delay: chrono::Duration::milliseconds(100),
            ..Policy::default()
        },
        Providers {
            origin: Some("https://recaudo.test".into()),
            ..Providers::new(std::time::Duration::from_secs(10), false, silent_sandbox())
        },
    )
}

fn real() -> Sending {
    Sending {
        demo: false,
        ..sending()
    }
}

fn email(client: i64, subject: &str, body: &str) -> ReplyInput {
    ReplyInput::text(client, PartyRole::Client, Channel::Email, subject, body)
}

/// Sends from the composer and runs the outbox until the message is sent or failed.
async fn send(db: &Db, a: &Viewer, input: ReplyInput) -> i64 {
    let id = conversations::reply(db, a, input, &real(), clock())
        .await
        .unwrap();
    drain(dispatcher(db)).await;
    id
}

async fn email_setting(db: &Db) -> channels::ChannelSetting {
    channels::load_all(db)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.channel == Channel::Email)
        .unwrap()
}

async fn message_row(db: &Db, id: i64) -> (String, Option<String>) {
    on_db!(db, p => sqlx::query_as("SELECT status, provider_message_id FROM messages WHERE id = $1")
        .bind(id).fetch_one(p).await)
    .unwrap()
}

/// The value of a header in a raw message (first occurrence, unfolded).
fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw.split("\r\n\r\n").next().unwrap_or(raw);
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

async fn setup(db: &Db) -> (Viewer, Viewer, i64) {
    let admin = user(db, "admin@x.co", Role::Admin, None).await;
    let admin = viewer(db, &admin).await;
    let a = user(db, "a@x.co", Role::Advisor, None).await;
    let mut input = client_input("4101", "Ana", "Pérez", Some(&a));
    input.contacts.emails = vec!["ana@deudores.test".into()];
    let id = client(db, &admin, &input).await;
    (admin, viewer(db, &a).await, id)
}

async fn mail_goes_out_threads_and_comes_back(db: Db) {
    let mail = MailServer::start();
    let (admin, a, id) = setup(&db).await;
    channels::save(
        &db,
        &admin,
        mail_setting(&mail, MAIL_PASSWORD),
        false,
        now(),
    )
    .await
    .unwrap();

    let mut input = email(
        id,
        "Recordatorio de pago",
        "Hola Ana:\nPuede pagar aquí: https://pagos.acme.test/pago/1\n\nSaludos",
    );
    input.cc = vec!["juan@deudores.test".into()];
    input.bcc = vec!["pedro@deudores.test".into()];
    input.attachments = vec![AttachmentInput {
        file_name: "estado-de-cuenta.pdf".into(),
        content_type: "application/pdf".into(),
        content: b"%PDF-1.4 estado".to_vec(),
    }];
    let first = send(&db, &a, input).await;
    let (status, provider_id) = message_row(&db, first).await;
    assert_eq!(status, "sent");
    let provider_id = provider_id.unwrap();
    assert_eq!(provider_id, format!("recaudo-{first}@recaudo.test"));

    // What the debtor's mail client receives.
    let raw = mail.wait_for("ana@deudores.test", 1).await.remove(0);
    assert_eq!(
        header(&raw, "From").as_deref(),
        Some(format!("\"Cobranzas ACME\" <{OFFICE}>").as_str())
    );
    assert_eq!(header(&raw, "To").as_deref(), Some("ana@deudores.test"));
    assert_eq!(header(&raw, "Cc").as_deref(), Some("juan@deudores.test"));
    assert_eq!(header(&raw, "Bcc"), None, "blind copies stay blind");
    assert_eq!(
        header(&raw, "Message-ID").as_deref(),
        Some(format!("<{provider_id}>").as_str())
    );
    assert!(header(&raw, "Content-Type")
        .unwrap()
        .starts_with("multipart/mixed"));
    let unsubscribe = header(&raw, "List-Unsubscribe").unwrap();
    let token = unsubscribe
        .strip_prefix("<https://recaudo.test/baja/")
        .and_then(|t| t.strip_suffix('>'))
        .unwrap_or_else(|| panic!("{unsubscribe}"));
    let key = recaudo::server::channels::email::unsubscribe::key(&db)
        .await
        .unwrap();
    assert_eq!(
        recaudo::server::channels::email::unsubscribe::check(&key, token).as_deref(),
        Some("ana@deudores.test")
    );
    assert_eq!(
        header(&raw, "List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(raw.contains("multipart/alternative"));
    assert!(raw.contains("Content-Type: text/plain"));
    assert!(raw.contains("Content-Type: text/html"));
    assert!(raw.contains("filename=\"estado-de-cuenta.pdf\""));
    mail.wait_for("juan@deudores.test", 1).await;
    mail.wait_for("pedro@deudores.test", 1).await;

    // Ana answers from her office mailbox, which no client has: the headers place it.
    mail.deliver(
        "ana.oficina@empresa.test",
        OFFICE,
        &format!(
            "From: Ana Pérez <ana.oficina@empresa.test>
To: {OFFICE}
Subject: Re: Recordatorio de pago
Message-ID: <respuesta-1@empresa.test>
In-Reply-To: <{provider_id}>
References: <{provider_id}>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary=\"XX\"

--XX
Content-Type: text/plain; charset=utf-8

Pago el viernes.
--XX
Content-Type: text/html; charset=utf-8

<p onclick=\"robar()\">Pago el <b>viernes</b>.<script>alert(1)</script><img src=\"https://espia.test/p.gif\" alt=\"firma\"></p>
--XX--
"
        ),
    )
    .await;
    mail.wait_for(OFFICE, 1).await;
    let setting = email_setting(&db).await;
    let report = imap::poll(&db, &setting, now()).await.unwrap();
    assert_eq!((report.read, report.taken_in), (1, 1), "{report:?}");
    assert_eq!(report.changed, [id]);
    let again = imap::poll(&db, &setting, now()).await.unwrap();
    assert_eq!(again.read, 0, "a message is read once");
    assert_eq!(
        recaudo::server::channels::email::receive(&db, mail.mailbox(OFFICE)[0].as_bytes(), now())
            .await
            .unwrap()
            .changed(),
        &[] as &[i64],
        "the same Message-ID is stored once"
    );
    let conversation = conversations::conversation(&db, &a, id, clock())
        .await
        .unwrap();
    let answer = conversation
        .messages
        .iter()
        .find(|m| m.direction == Direction::Inbound)
        .expect("the answer is in Ana's conversation");
    assert_eq!(answer.party_role, PartyRole::Client);
    assert_eq!(answer.subject, "Re: Recordatorio de pago");
    assert_eq!(answer.body, "Pago el viernes.");
    assert_eq!(answer.address, "ana.oficina@empresa.test");
    assert!(answer.pending);
    assert_eq!(
        answer.body_html,
        "<p>Pago el <b>viernes</b>.<img alt=\"firma\"></p>"
    );

    // Our next message follows the thread.
    let second = send(
        &db,
        &a,
        email(id, "Re: Recordatorio de pago", "Gracias, lo esperamos."),
    )
    .await;
    let raw = mail.wait_for("ana@deudores.test", 2).await.remove(1);
    assert_eq!(
        header(&raw, "In-Reply-To").as_deref(),
        Some("<respuesta-1@empresa.test>")
    );
    assert_eq!(
        header(&raw, "References").as_deref(),
        Some(format!("<{provider_id}> <respuesta-1@empresa.test>").as_str())
    );
    assert_eq!(message_row(&db, second).await.0, "sent");
}

async fn a_bounce_fails_the_message_and_flags_the_address(db: Db) {
    let mail = MailServer::start();
    let (admin, a, _) = setup(&db).await;
    channels::save(
        &db,
        &admin,
        mail_setting(&mail, MAIL_PASSWORD),
        false,
        now(),
    )
    .await
    .unwrap();
    let advisor = recaudo::server::users::find_by_email(&db, "a@x.co")
        .await
        .unwrap()
        .unwrap();
    let mut input = client_input("4102", "Nadie", "Rebote", Some(&advisor));
    input.contacts.emails = vec!["nadie@rebote.test".into()];
    let id = client(&db, &admin, &input).await;
    let sent = send(&db, &a, email(id, "Aviso", "Su saldo vence hoy")).await;
    assert_eq!(message_row(&db, sent).await.0, "sent", "Postfix took it");

    // Postfix bounces it to our mailbox with a delivery-status report.
    let bounce = mail.wait_for(OFFICE, 1).await.remove(0);
    assert!(bounce.contains("message/delivery-status"));
    let report = imap::poll(&db, &email_setting(&db).await, now())
        .await
        .unwrap();
    assert_eq!((report.read, report.bounces), (1, 1), "{report:?}");
    assert_eq!(report.changed, [id]);
    assert_eq!(message_row(&db, sent).await.0, "failed");
    let again = recaudo::server::channels::email::receive(&db, bounce.as_bytes(), now())
        .await
        .unwrap();
    assert_eq!(
        again,
        recaudo::server::channels::email::Taken::Bounce(Vec::new()),
        "a report read twice flags nothing again"
    );
    let conversation = conversations::conversation(&db, &a, id, clock())
        .await
        .unwrap();
    let failed = conversation.messages.iter().find(|m| m.id == sent).unwrap();
    assert!(
        failed
            .history
            .iter()
            .any(|h| h.status == DeliveryStatus::Failed && h.detail.starts_with("Rebote 5.1.1")),
        "{:?}",
        failed.history
    );
    let detail = clients::get(&db, &a, id, clock()).await.unwrap();
    let point = detail.parties[0]
        .contacts
        .iter()
        .find(|c| c.kind == ContactKind::Email)
        .unwrap();
    assert_eq!(point.problem, Some(ContactProblem::EmailNotFound));
    assert!(
        conversations::conversation(&db, &a, id, clock())
            .await
            .unwrap()
            .messages
            .iter()
            .all(|m| m.direction == Direction::Outbound),
        "a bounce is not a message from the debtor"
    );
}

async fn wrong_credentials_fail_clearly(db: Db) {
    let mail = MailServer::start();
    let (admin, a, id) = setup(&db).await;
    channels::save(&db, &admin, mail_setting(&mail, "otra-clave"), false, now())
        .await
        .unwrap();
    let probing = Providers::new(std::time::Duration::from_secs(10), false, silent_sandbox());
    match channels::probe(&db, &admin, Channel::Email, &probing).await {
        Err(AppError::Invalid(errors)) => {
            assert!(errors[0].message.contains("SMTP"), "{}", errors[0].message)
        }
        other => panic!("a wrong password passed the probe: {other:?}"),
    }
    let sent = send(&db, &a, email(id, "Aviso", "Hola")).await;
    assert_eq!(message_row(&db, sent).await.0, "failed");
    assert!(mail.mailbox("ana@deudores.test").is_empty());
    let err = imap::poll(&db, &email_setting(&db).await, now())
        .await
        .unwrap_err();
    assert!(err.contains("rechazó el usuario o la contraseña"), "{err}");

    channels::save(
        &db,
        &admin,
        mail_setting(&mail, MAIL_PASSWORD),
        false,
        now(),
    )
    .await
    .unwrap();
    let ok = channels::probe(&db, &admin, Channel::Email, &probing)
        .await
        .unwrap();
    assert!(ok.contains("SMTP") && ok.contains("INBOX"), "{ok}");
}

on_both_engines!(
    mail_goes_out_threads_and_comes_back,
    a_bounce_fails_the_message_and_flags_the_address,
    wrong_credentials_fail_clearly,
);
