//! The composer's rules on the server, on SQLite and PostgreSQL: bad input is refused
//! with nothing half-sent, channels follow the organisation's settings and failed
//! contact points, templates render for their recipient and obey the WhatsApp window,
//! channel credentials stay on the server, and the sandbox can play a debtor's answer.

use std::time::{Duration, Instant};

use crate::common::*;
use recaudo::domain::alerts::ContactProblem;
use recaudo::domain::calls::DeclareInput;
use recaudo::domain::channels::{ChannelSettingInput, ProviderKind};
use recaudo::domain::client::{PartyRole, RelatedInput};
use recaudo::domain::compose::{DocumentRef, ReplyTarget};
use recaudo::domain::contact::ContactKind;
use recaudo::domain::conversation::ReplyInput;
use recaudo::domain::error::AppError;
use recaudo::domain::message::{AttachmentInput, Channel, MAX_ATTACHMENT_BYTES};
use recaudo::domain::templates::{Purpose, TemplateInput};
use recaudo::domain::user::{Role, Viewer};
use recaudo::on_db;
use recaudo::server::config::Sending;
use recaudo::server::conversations::compose;
use recaudo::server::db::Db;
use recaudo::server::{alerts, calls, channels, conversations, templates};

struct Setup {
    admin: Viewer,
    a: Viewer,
    id: i64,
    other: i64,
}

async fn setup(db: &Db) -> Setup {
    let admin = user(db, "admin@x.co", Role::Admin, None).await;
    let admin = viewer(db, &admin).await;
    let a = user(db, "a@x.co", Role::Advisor, None).await;
    let mut input = client_input("3001", "Ana", "Pérez", Some(&a));
    input.debts = vec![debt("F-1", "2026-06-01", "100000", "0")];
    let mut reference = RelatedInput::empty(PartyRole::Reference, 1);
    reference.name = "Marta Pérez".into();
    reference.contacts.emails = vec!["marta@correo.co".into()];
    input.related = vec![reference];
    // Several contacts the same day: Colombia's caps would decide this test.
    let id = client(db, &admin, &ungoverned(input)).await;
    let other = client(db, &admin, &client_input("3002", "Luis", "Gómez", Some(&a))).await;
    Setup {
        a: viewer(db, &a).await,
        admin,
        id,
        other,
    }
}

fn text(id: i64, channel: Channel, body: &str) -> ReplyInput {
    let subject = if channel == Channel::Email {
        "Su cuenta"
    } else {
        ""
    };
    ReplyInput::text(id, PartyRole::Client, channel, subject, body)
}

fn file(name: &str, content_type: &str, bytes: usize) -> AttachmentInput {
    AttachmentInput {
        file_name: name.into(),
        content_type: content_type.into(),
        content: vec![b'x'; bytes],
    }
}

async fn count(db: &Db, sql: &str) -> i64 {
    let (n,): (i64,) = on_db!(db, p => sqlx::query_as(sql).fetch_one(p).await).unwrap();
    n
}

/// The fields of a refusal; panics on anything else.
fn refused(r: Result<i64, AppError>) -> Vec<(String, String)> {
    match r {
        Err(AppError::Invalid(f)) => f.into_iter().map(|e| (e.field, e.message)).collect(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn send(db: &Db, v: &Viewer, input: ReplyInput) -> Result<i64, AppError> {
    conversations::reply(db, v, input, &sending(), clock()).await
}

async fn bad_input_is_refused_and_nothing_is_half_sent(db: Db) {
    let s = setup(&db).await;
    let a = &s.a;
    let mut big = text(s.id, Channel::Email, "Adjunto");
    big.attachments = vec![file(
        "extracto.pdf",
        "application/pdf",
        MAX_ATTACHMENT_BYTES + 1,
    )];
    let e = refused(send(&db, a, big).await);
    assert_eq!(e[0].0, "attachments.0");
    assert!(e[0].1.contains("el máximo es 10 MB"), "{}", e[0].1);

    let mut exe = text(s.id, Channel::Email, "Adjunto");
    exe.attachments = vec![file("factura.exe", "application/x-msdownload", 10)];
    assert!(refused(send(&db, a, exe).await)[0]
        .1
        .contains("no está permitido"));

    let e = refused(send(&db, a, text(s.id, Channel::Sms, "Hola {{saldo}}")).await);
    assert_eq!(e[0].0, "body");
    assert!(e[0].1.starts_with("Etiqueta desconocida: «{{saldo}}»"));

    let long = "Recordatorio de pago. ".repeat(25);
    let e = refused(send(&db, a, text(s.id, Channel::Sms, &long)).await);
    assert_eq!(
        e,
        [(
            "body".to_string(),
            "El SMS ocupa 4 partes; el máximo configurado es 3.".to_string()
        )]
    );

    let mut sms_file = text(s.id, Channel::Sms, "Hola");
    sms_file.attachments = vec![file("a.pdf", "application/pdf", 10)];
    assert_eq!(
        refused(send(&db, a, sms_file).await)[0].1,
        "Los SMS no llevan adjuntos."
    );

    let e = refused(send(&db, a, text(s.id, Channel::WhatsApp, "Hola")).await);
    assert_eq!(e[0].0, "template", "no inbound yet: the window is closed");

    let mut bad_cc = text(s.id, Channel::Email, "Hola");
    bad_cc.cc = vec!["no-es-correo".into()];
    assert_eq!(refused(send(&db, a, bad_cc).await)[0].0, "cc");

    // A receipt of another client cannot ride along.
    let receipt = DeclareInput {
        client_id: s.other,
        payment: true,
        date: "2026-11-20".into(),
        amount: "1000".into(),
        attachments: vec![file("recibo.pdf", "application/pdf", 20)],
        ..DeclareInput::default()
    };
    calls::declare(&db, a, receipt, clock()).await.unwrap();
    let (foreign,): (i64,) =
        on_db!(&db, p => sqlx::query_as("SELECT id FROM management_files").fetch_one(p).await)
            .unwrap();
    let mut stolen = text(s.id, Channel::Email, "Hola");
    stolen.documents = vec![DocumentRef::ManagementFile(foreign)];
    assert_eq!(refused(send(&db, a, stolen).await)[0].0, "documents");

    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM messages WHERE direction = 'outbound'"
        )
        .await,
        0
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM outbox").await, 0);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM message_attachments").await,
        0
    );
}

async fn channels_follow_the_settings_and_failed_points(db: Db) {
    let s = setup(&db).await;
    let a = &s.a;
    on_db!(&db, p => sqlx::query("UPDATE channel_settings SET active = FALSE WHERE channel = 'sms'")
        .execute(p).await.map(drop)).unwrap();
    on_db!(&db, p => sqlx::query("UPDATE channel_settings SET visible = FALSE WHERE channel = 'whatsapp_business'")
        .execute(p).await.map(drop)).unwrap();
    let e = refused(send(&db, a, text(s.id, Channel::Sms, "Hola")).await);
    assert_eq!(
        e[0],
        (
            "channel".to_string(),
            "SMS no está activo para la organización.".to_string()
        )
    );

    let ctx = compose::context(&db, a, s.id, &sending(), clock())
        .await
        .unwrap();
    let client = ctx
        .parties
        .iter()
        .find(|p| p.role == PartyRole::Client)
        .unwrap();
    let shown: Vec<Channel> = client.options.iter().map(|o| o.channel).collect();
    assert_eq!(
        shown,
        [
            Channel::WhatsApp,
            Channel::Email,
            Channel::Sms,
            Channel::Call
        ]
    );
    assert_eq!(
        client.default_channel,
        Some(Channel::Email),
        "no inbound: e-mail"
    );
    assert_eq!(client.window_until, None);
    assert_eq!(client.copy_suggestions.len(), 1);
    assert_eq!(client.copy_suggestions[0].email, "marta@correo.co");
    assert_eq!(
        ctx.sandbox_channels.len(),
        5,
        "demo mode: the sandbox delivers every channel"
    );

    // Outside demo mode an unconfigured channel cannot send.
    let real = Sending {
        demo: false,
        ..sending()
    };
    let e = refused(
        conversations::reply(&db, a, text(s.id, Channel::Email, "Hola"), &real, clock()).await,
    );
    assert!(
        e[0].1.contains("no tiene proveedor configurado"),
        "{}",
        e[0].1
    );

    // A bounced address greys e-mail for this client, with the reason.
    alerts::contact_failed(
        &db,
        ContactKind::Email,
        "ana.3001@correo.co",
        ContactProblem::EmailNotFound,
        None,
        now(),
    )
    .await
    .unwrap();
    let e = refused(send(&db, a, text(s.id, Channel::Email, "Hola")).await);
    assert_eq!(
        e[0].1,
        "ana.3001@correo.co está marcado: Correo no encontrado."
    );
    let ctx = compose::context(&db, a, s.id, &sending(), clock())
        .await
        .unwrap();
    assert_eq!(ctx.parties[0].default_channel, Some(Channel::WhatsApp));
}

async fn templates_render_for_their_recipient_and_obey_the_window(db: Db) {
    let s = setup(&db).await;
    let template = |name: &str, channel, recipient, approved, body: &str| TemplateInput {
        name: name.into(),
        channel,
        recipient,
        purpose: Purpose::Flow,
        subject: if channel == Channel::Email {
            "Cuenta de {{nombre_cliente}}".into()
        } else {
            String::new()
        },
        body: body.into(),
        approved,
    };
    let reminder = template(
        "Recordatorio",
        Channel::WhatsApp,
        PartyRole::Client,
        true,
        "Hola {{nombre}}, debes {{deuda_vencida}}: {{link_pago}}",
    );
    assert!(matches!(
        templates::save(&db, &s.a, None, reminder.clone(), now()).await,
        Err(AppError::Forbidden)
    ));
    let approved = templates::save(&db, &s.admin, None, reminder.clone(), now())
        .await
        .unwrap();
    match templates::save(&db, &s.admin, None, reminder, now()).await {
        Err(AppError::Invalid(f)) => {
            assert_eq!(f[0].message, "Ya hay una plantilla con ese nombre.")
        }
        other => panic!("{other:?}"),
    }
    match templates::save(
        &db,
        &s.admin,
        None,
        template("Mala", Channel::Sms, PartyRole::Client, false, "{{saldo}}"),
        now(),
    )
    .await
    {
        Err(AppError::Invalid(f)) => assert!(f[0].message.starts_with("Etiqueta desconocida")),
        other => panic!("{other:?}"),
    }
    let draft = templates::save(
        &db,
        &s.admin,
        None,
        template(
            "Borrador",
            Channel::WhatsApp,
            PartyRole::Client,
            false,
            "Hola",
        ),
        now(),
    )
    .await
    .unwrap();
    let for_reference = templates::save(
        &db,
        &s.admin,
        None,
        template(
            "Referencia",
            Channel::WhatsApp,
            PartyRole::Reference,
            true,
            "Hola",
        ),
        now(),
    )
    .await
    .unwrap();

    // Outside the window: the approved template goes, with this client's values.
    let mut by_template = text(s.id, Channel::WhatsApp, "");
    by_template.template_id = Some(approved);
    let id = send(&db, &s.a, by_template.clone()).await.unwrap();
    let (body, template_id): (String, Option<i64>) = on_db!(&db, p => sqlx::query_as(
        "SELECT body, template_id FROM messages WHERE id = $1").bind(id).fetch_one(p).await)
    .unwrap();
    assert!(
        body.starts_with("Hola Ana Pérez, debes COP 100.000,00: http://127.0.0.1:3000/pago/"),
        "{body}"
    );
    assert_eq!(template_id, Some(approved));
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM outbox WHERE state = 'pending'").await,
        1
    );

    by_template.template_id = Some(draft);
    assert_eq!(
        refused(send(&db, &s.a, by_template.clone()).await)[0].0,
        "template"
    );
    by_template.template_id = Some(for_reference);
    let e = refused(send(&db, &s.a, by_template).await);
    assert!(
        e[0].1.contains("es para escribir a: Referencia"),
        "{}",
        e[0].1
    );

    // An e-mail with copies and a document of the client's records.
    let receipt = DeclareInput {
        client_id: s.id,
        payment: true,
        date: "2026-11-20".into(),
        amount: "1000".into(),
        attachments: vec![file("recibo.pdf", "application/pdf", 20)],
        ..DeclareInput::default()
    };
    calls::declare(&db, &s.a, receipt, clock()).await.unwrap();
    let ctx = compose::context(&db, &s.a, s.id, &sending(), clock())
        .await
        .unwrap();
    assert_eq!(ctx.documents.len(), 1);
    let mut mail = text(s.id, Channel::Email, "Adjunto su recibo. {{estado_cuenta}}");
    mail.cc = vec!["Marta@Correo.co".into(), "marta@correo.co".into()];
    mail.bcc = vec!["auditoria@empresa.co".into()];
    mail.documents = vec![ctx.documents[0].reference];
    mail.attachments = vec![file("nota.txt", "text/plain", 5)];
    let id = send(&db, &s.a, mail).await.unwrap();
    let (cc, bcc, body): (String, String, String) = on_db!(&db, p => sqlx::query_as(
        "SELECT cc, bcc, body FROM messages WHERE id = $1").bind(id).fetch_one(p).await)
    .unwrap();
    assert_eq!(
        (cc.as_str(), bcc.as_str()),
        ("marta@correo.co", "auditoria@empresa.co")
    );
    assert!(
        body.contains("- F-1: COP 100.000,00 por pagar, vence el 01/06/2026"),
        "{body}"
    );
    let files: Vec<(String,)> = on_db!(&db, p => sqlx::query_as(
        "SELECT file_name FROM message_attachments WHERE message_id = $1 ORDER BY id").bind(id).fetch_all(p).await).unwrap();
    assert_eq!(
        files,
        [("nota.txt".to_string(),), ("recibo.pdf".to_string(),)]
    );

    // The live preview shows the text for a real client, and names a bad tag.
    let p = templates::preview(
        &db,
        &s.admin,
        "",
        "Hola {{nombre}}",
        Some(s.id),
        &sending(),
        clock(),
    )
    .await
    .unwrap();
    assert_eq!(
        (p.client_name.as_str(), p.body.as_str()),
        ("Ana Pérez", "Hola Ana Pérez")
    );
    assert!(matches!(
        templates::preview(&db, &s.admin, "", "{{x}}", None, &sending(), clock()).await,
        Err(AppError::Invalid(_))
    ));
}

async fn channel_credentials_stay_on_the_server(db: Db) {
    let s = setup(&db).await;
    let input = ChannelSettingInput {
        webhook_secret: "firma-de-webhook-muy-larga".into(),
        ..provider_setting(
            Channel::Sms,
            Some(ProviderKind::Relay),
            "https://sms.example.com",
            "RECAUDO",
            "sk_live_supersecreto_1234",
        )
    };
    assert!(matches!(
        channels::save(&db, &s.a, input.clone(), false, now()).await,
        Err(AppError::Forbidden)
    ));
    assert!(matches!(
        channels::views(&db, &s.a, "").await,
        Err(AppError::Forbidden)
    ));
    channels::save(&db, &s.admin, input.clone(), false, now())
        .await
        .unwrap();
    let views = channels::views(&db, &s.admin, "https://app.example")
        .await
        .unwrap();
    let sms = views.iter().find(|v| v.channel == Channel::Sms).unwrap();
    assert_eq!(sms.secret_hint.as_deref(), Some("…1234"));
    assert_eq!(
        sms.webhook_url,
        "https://app.example/api/webhooks/relay/sms"
    );
    let shown = serde_json::to_string(&views).unwrap();
    assert!(!shown.contains("supersecreto") && !shown.contains("firma-de-webhook"));
    let audit = count(&db, "SELECT COUNT(*) FROM audit_log WHERE action = 'channel.settings' AND detail LIKE '%secreto%'").await;
    assert_eq!(audit, 0, "the audit trail keeps no secret");

    // Saving again with the secrets left empty keeps them.
    let kept = ChannelSettingInput {
        secret: String::new(),
        webhook_secret: String::new(),
        sender: "COBROS".into(),
        ..input
    };
    channels::save(&db, &s.admin, kept, false, now())
        .await
        .unwrap();
    let stored = channels::load_all(&db).await.unwrap();
    let sms = stored.iter().find(|c| c.channel == Channel::Sms).unwrap();
    assert_eq!(
        (sms.secret.as_str(), sms.sender.as_str()),
        ("sk_live_supersecreto_1234", "COBROS")
    );

    // The sandbox delivers nothing: it is chosen only in demo mode, and one chosen then
    // sends nothing once the demo is over.
    let sandbox = provider_setting(Channel::Sms, Some(ProviderKind::Sandbox), "", "", "");
    let refused = channels::save(&db, &s.admin, sandbox.clone(), false, now()).await;
    assert!(
        matches!(&refused, Err(e) if e.field_message("provider").is_some()),
        "{refused:?}"
    );
    channels::save(&db, &s.admin, sandbox, true, now())
        .await
        .unwrap();
    let stored = channels::load_all(&db).await.unwrap();
    let sms = stored.iter().find(|c| c.channel == Channel::Sms).unwrap();
    assert_eq!(
        channels::effective_provider(sms, true),
        Some(ProviderKind::Sandbox)
    );
    assert_eq!(channels::effective_provider(sms, false), None);
}

async fn the_sandbox_plays_the_debtor_answering(db: Db) {
    let s = setup(&db).await;
    let base = serve(db.clone()).await;
    let target = ReplyTarget {
        client_id: s.id,
        party_role: PartyRole::Client,
        party_ordinal: 1,
        channel: Channel::WhatsApp,
    };
    compose::simulate_reply(
        &db,
        &s.a,
        target,
        &sending(),
        format!("{base}/api/webhooks/sandbox"),
        clock(),
    )
    .await
    .unwrap();
    let started = Instant::now();
    loop {
        let n = count(&db, "SELECT COUNT(*) FROM messages WHERE direction = 'inbound' AND pending AND channel = 'whatsapp'").await;
        if n == 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the answer never came"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let real = Sending {
        demo: false,
        ..sending()
    };
    assert!(matches!(
        compose::simulate_reply(&db, &s.a, target, &real, base, clock()).await,
        Err(AppError::Invalid(_))
    ));
}

on_both_engines!(
    bad_input_is_refused_and_nothing_is_half_sent,
    channels_follow_the_settings_and_failed_points,
    templates_render_for_their_recipient_and_obey_the_window,
    channel_credentials_stay_on_the_server,
    the_sandbox_plays_the_debtor_answering,
);
