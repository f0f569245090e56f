//! The scope matrix. Every server function the server registered has an entry here
//! that says what it takes; a new server function without one fails the test. Each
//! one that takes the id of a record, or lists records, is called by an advisor of
//! one team and by the supervisor of that team with the records of the other team:
//! refused with "No encontrado" or "Forbidden", or answered without them, and never
//! with a trace of them in the body. An administrator then makes the same calls and
//! reaches the records, so that a refusal cannot come from a request that was wrong
//! to begin with. The plain HTTP endpoints that serve data are in the matrix too.

use std::collections::BTreeSet;

use crate::common::*;
use recaudo::domain::alerts::{AlertKind, LiftInput};
use recaudo::domain::automation::{
    AutomationSettings, CampaignInput, ContactHours, EventRuleInput, FlowInput, Trigger,
};
use recaudo::domain::calls::{DeclareInput, ReviewInput};
use recaudo::domain::client::PartyRole;
use recaudo::domain::compose::ReplyTarget;
use recaudo::domain::conversation::{DismissTarget, InboundMessage, ReplyInput};
use recaudo::domain::governance::Policy;
use recaudo::domain::indicators::IndicatorQuery;
use recaudo::domain::interactions::InteractionQuery;
use recaudo::domain::listing::{ClientListQuery, InboxQuery};
use recaudo::domain::message::{AttachmentInput, Channel};
use recaudo::domain::outcome::{Outcome, OutcomeInput, Situation};
use recaudo::domain::segments::{Rule, SegmentInput};
use recaudo::domain::templates::{Purpose, TemplateInput};
use recaudo::domain::user::UserInput;
use recaudo::on_db;
use recaudo::server::db::Db;
use recaudo::server::{clients, conversations, seed};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The other team's records the calls name, and what would betray them in a body.
struct Records {
    client_id: i64,
    document: String,
    phone: String,
    phone_id: i64,
    advisor_id: i64,
    supervisor_id: i64,
    /// An advisor of the first team: whom its supervisor may assign clients to.
    own_advisor_id: i64,
    payment_id: i64,
    management_file_id: i64,
    attachment_id: i64,
    unregistered_id: i64,
    template_id: i64,
    user_id: i64,
    client_input: Value,
}

impl Records {
    fn betrayed_by(&self, body: &str) -> bool {
        body.contains(&self.document) || body.contains(&self.phone)
    }
}

/// What a server function takes, and so how the matrix calls it.
enum Entry {
    /// The id of a record of a client (or a client's own): refused outside the
    /// viewer's clients.
    Record(fn(&Records) -> Value),
    /// A record named by what the user types (a document): one outside the viewer's
    /// clients reads as no such record, beside that field.
    Typed(fn(&Records) -> Value, &'static str),
    /// A list, or a filter naming other users' clients: answered, without them.
    List(fn(&Records) -> Value),
    /// Administrators only: refused to everyone else, whatever it names.
    Admin(fn(&Records) -> Value),
    /// Takes no record: public (the login, the portal's token), or the viewer's own
    /// session and settings. The reason is the entry.
    Unscoped(&'static str),
}

fn entry(name: &str) -> Option<Entry> {
    use Entry::*;
    Some(match name {
        "login" | "logout" | "current_session" => Unscoped("the viewer's own session"),
        "download_status" => {
            Unscoped("the viewer's own downloads, by the token their page chose (tests/it/http.rs)")
        }
        "portal_open" | "portal_visit" | "portal_viewed_debt" | "portal_declare" => {
            Unscoped("the payment link's token is the credential (tests/it/portal.rs)")
        }
        "calls_calendar" | "report_choices" | "list_assignees" | "contact_policies"
        | "contact_policy" => Unscoped("organisation-wide settings every user reads"),
        "list_templates" => Unscoped("the organisation's templates, which every user sends"),
        "save_contact_policy" => {
            Admin(|_| json!({ "policy": Policy::shipped("CL", &ContactHours::default()) }))
        }
        "reset_contact_policy" => Admin(|_| json!({ "country": "CL" })),
        "add_holiday" => {
            Admin(|_| json!({ "country": "CO", "day": "2027-05-05", "name": "Matriz" }))
        }
        "delete_holiday" => Admin(|_| json!({ "country": "CO", "day": "2027-05-05" })),
        "save_template" => Admin(|_| {
            let input = TemplateInput {
                name: "Matriz".into(),
                channel: Channel::Sms,
                recipient: PartyRole::Client,
                purpose: Purpose::ALL[0],
                subject: String::new(),
                body: "Hola {{nombre}}".into(),
                approved: true,
            };
            json!({ "id": null, "input": input })
        }),
        "delete_template" => Admin(|r| json!({ "id": r.template_id })),
        "get_client" => Record(|r| json!({ "id": r.client_id })),
        "save_client" => Record(|r| json!({ "id": r.client_id, "input": r.client_input })),
        "assign_clients" => {
            Record(|r| json!({ "ids": [r.client_id], "advisor_id": r.own_advisor_id }))
        }
        "get_conversation" | "get_composer" => Record(|r| json!({ "client_id": r.client_id })),
        "conversation_presence" => {
            Record(|r| json!({ "client_id": r.client_id, "beat": "Typing" }))
        }
        "register_outcome" => Record(|r| {
            let input = OutcomeInput {
                situation: Situation::OutboundNotContacted.as_str().into(),
                outcome: Outcome::NoAnswer.as_str().into(),
                ..OutcomeInput::default()
            };
            json!({ "client_id": r.client_id, "input": input })
        }),
        "declare" => Record(|r| {
            let input = DeclareInput {
                client_id: r.client_id,
                payment: false,
                // The server runs on the real clock.
                date: (chrono::Utc::now().date_naive() + chrono::Duration::days(30)).to_string(),
                amount: "10.000".into(),
                ..DeclareInput::default()
            };
            json!({ "input": input })
        }),
        "review_payment" => Record(|r| {
            let input = ReviewInput {
                payment_id: r.payment_id,
                approve: false,
                reason: "No se ve en el banco".into(),
            };
            json!({ "input": input })
        }),
        "lift_alert" => Record(|r| {
            let input = LiftInput {
                client_id: r.client_id,
                kind: AlertKind::Contactability,
                contact_point_id: Some(r.phone_id),
                reason: "Verificado por teléfono".into(),
            };
            json!({ "input": input })
        }),
        "click_to_call" => Record(|r| json!({ "contact_point_id": r.phone_id })),
        "reply" => Record(|r| {
            let input = ReplyInput::text(r.client_id, PartyRole::Client, Channel::Sms, "", "Hola");
            json!({ "input": input })
        }),
        "simulate_reply" => Record(|r| json!({ "target": target(r) })),
        "contact_check" => Record(|r| json!({ "target": target(r), "text": "Hola" })),
        "dismiss" => Record(|r| {
            let target = DismissTarget {
                client_id: r.client_id,
                party_role: None,
                up_to_message_id: None,
            };
            json!({ "target": target })
        }),
        "link_message" => Typed(
            |r| {
                json!({ "message_id": r.unregistered_id, "document_number": r.document,
                        "party_role": PartyRole::Client, "party_ordinal": 1 })
            },
            "document_number",
        ),
        "preview_template" => Record(
            |r| json!({ "subject": "", "body": "Hola {{nombre}}", "client_id": r.client_id }),
        ),
        "list_clients" => List(|_| {
            let query = ClientListQuery {
                all_clients: true,
                ..ClientListQuery::default()
            };
            json!({ "query": query })
        }),
        "inbox" | "calls_tray" => List(|_| json!({ "query": InboxQuery::default() })),
        "payments_to_verify" | "list_unregistered" => List(|_| json!({})),
        "list_interactions" => List(|r| {
            let query = InteractionQuery {
                advisor_id: Some(r.advisor_id),
                supervisor_id: Some(r.supervisor_id),
                ..InteractionQuery::default()
            };
            json!({ "query": query })
        }),
        "load_indicators" => List(|r| {
            let query = IndicatorQuery {
                advisor_id: Some(r.advisor_id),
                supervisor_id: Some(r.supervisor_id),
                ..IndicatorQuery::default()
            };
            json!({ "query": query })
        }),
        "list_users"
        | "login_alerts"
        | "channel_settings"
        | "list_segments"
        | "segment_choices"
        | "list_flows"
        | "list_events"
        | "list_campaigns"
        | "load_automation_settings"
        | "run_scheduler" => Admin(|_| json!({})),
        "get_user" => Admin(|r| json!({ "id": r.user_id })),
        "save_user" => Admin(|r| json!({ "id": r.user_id, "input": UserInput::default() })),
        "import_portfolio" => Admin(|_| json!({ "csv": "" })),
        "probe_channel" => Admin(|_| json!({ "channel": Channel::Sms })),
        "save_channel_setting" => {
            Admin(|_| json!({ "input": provider_setting(Channel::Sms, None, "", "", "") }))
        }
        "count_segment" => Admin(|_| json!({ "rule": Rule::default() })),
        "save_segment" => Admin(|_| {
            let input = SegmentInput {
                name: "Matriz".into(),
                rule: Rule::default(),
            };
            json!({ "id": null, "input": input })
        }),
        "delete_segment" | "delete_flow" | "delete_event" | "cancel_campaign" => {
            Admin(|r| json!({ "id": r.template_id }))
        }
        "save_flow" => Admin(|_| {
            let input = FlowInput {
                name: "Matriz".into(),
                segment_id: None,
                position: 0,
                active: false,
                steps: Vec::new(),
            };
            json!({ "id": null, "input": input })
        }),
        "save_event" => Admin(|r| {
            let input = EventRuleInput {
                name: "Matriz".into(),
                trigger: Trigger::ALL[0],
                days_before: 1,
                template_id: Some(r.template_id),
                active: false,
            };
            json!({ "id": null, "input": input })
        }),
        "create_campaign" => Admin(|r| {
            let input = CampaignInput {
                name: "Matriz".into(),
                segment_id: None,
                template_id: Some(r.template_id),
                scheduled_at: String::new(),
            };
            json!({ "input": input })
        }),
        "save_automation_settings" => Admin(|_| {
            let input = AutomationSettings {
                contact: Default::default(),
                fallback_enabled: false,
                fallback_body: String::new(),
            };
            json!({ "input": input })
        }),
        _ => return None,
    })
}

fn target(r: &Records) -> ReplyTarget {
    ReplyTarget {
        client_id: r.client_id,
        party_role: PartyRole::Client,
        party_ordinal: 1,
        channel: Channel::Sms,
    }
}

/// The other team's client, with a payment to verify, a file, an attachment, a phone;
/// and a message from an unknown sender.
async fn records(db: &Db) -> Records {
    let admin = demo_viewer(db, "admin@demo.recaudo").await;
    let (client_id, document, advisor_id, supervisor_id): (i64, String, i64, i64) =
        on_db!(db, p => sqlx::query_as(
        "SELECT c.id, c.document_number, c.advisor_id, u.supervisor_id FROM clients c
         JOIN users u ON u.id = c.advisor_id JOIN payments p ON p.client_id = c.id
         JOIN management_files f ON f.payment_id = p.id
         WHERE u.email = 'asesor3@demo.recaudo' AND p.status = 'to_verify'
         ORDER BY c.id LIMIT 1")
        .fetch_one(p).await)
        .unwrap();
    let (phone_id, phone): (i64, String) = on_db!(db, p => sqlx::query_as(
        "SELECT id, value FROM contact_points WHERE client_id = $1 ORDER BY kind = 'phone' DESC, id LIMIT 1")
        .bind(client_id).fetch_one(p).await)
    .unwrap();
    let (payment_id, management_file_id): (i64, i64) = on_db!(db, p => sqlx::query_as(
        "SELECT p.id, f.id FROM payments p JOIN management_files f ON f.payment_id = p.id
         WHERE p.client_id = $1 AND p.status = 'to_verify' ORDER BY p.id LIMIT 1")
        .bind(client_id).fetch_one(p).await)
    .unwrap();
    // An e-mail with an attachment to a client of the same team who has an address.
    let (mail_client,): (i64,) = on_db!(db, p => sqlx::query_as(
        "SELECT c.id FROM clients c JOIN users u ON u.id = c.advisor_id
         JOIN parties y ON y.client_id = c.id AND y.role = 'client'
         JOIN contact_points e ON e.party_id = y.id AND e.kind = 'email'
         WHERE u.email = 'asesor3@demo.recaudo' ORDER BY c.id LIMIT 1")
        .fetch_one(p).await)
    .unwrap();
    let mut reply = ReplyInput::text(
        mail_client,
        PartyRole::Client,
        Channel::Email,
        "Cuenta",
        "Adjunto",
    );
    reply.attachments = vec![AttachmentInput {
        file_name: "estado.pdf".into(),
        content_type: "application/pdf".into(),
        content: b"%PDF-1.4 estado".to_vec(),
    }];
    let sent = conversations::reply(db, &admin, reply, &sending(), clock()).await;
    let message_id = sent.unwrap_or_else(|e| panic!("the attachment's message: {e:?}"));
    let (attachment_id,): (i64,) = on_db!(db, p => sqlx::query_as(
        "SELECT id FROM message_attachments WHERE message_id = $1").bind(message_id).fetch_one(p).await)
    .unwrap();
    let stranger = InboundMessage::new(Channel::Sms, "+573009998877", "¿Quién me escribe?", now());
    conversations::ingest(db, stranger, now()).await.unwrap();
    let (unregistered_id,): (i64,) = on_db!(db, p => sqlx::query_as(
        "SELECT id FROM messages WHERE client_id IS NULL ORDER BY id DESC LIMIT 1").fetch_one(p).await)
    .unwrap();
    let (template_id,): (i64,) = on_db!(db, p => sqlx::query_as(
        "SELECT id FROM templates ORDER BY id LIMIT 1").fetch_one(p).await)
    .unwrap();
    let client = clients::get(db, &admin, client_id, clock()).await.unwrap();
    let (own_advisor_id,): (i64,) = on_db!(db, p => sqlx::query_as(
        "SELECT id FROM users WHERE email = 'asesor1@demo.recaudo'").fetch_one(p).await)
    .unwrap();
    Records {
        client_id,
        document,
        phone,
        phone_id,
        advisor_id,
        supervisor_id,
        own_advisor_id,
        payment_id,
        management_file_id,
        attachment_id,
        unregistered_id,
        template_id,
        user_id: advisor_id,
        client_input: serde_json::to_value(client.to_input()).unwrap(),
    }
}

fn refused(status: StatusCode) -> bool {
    matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND)
}

async fn every_server_function_keeps_to_the_viewers_scope(db: Db) {
    seed::seed(&db, 60, clock()).await.unwrap();
    let records = records(&db).await;
    let app = start(db).await;
    let signed_in = |email: &'static str| {
        let app = &app;
        async move {
            let (client, logged) = app.login(email, seed::DEMO_PASSWORD).await;
            logged.unwrap();
            client
        }
    };
    // The first team's advisor and supervisor; the records are the second team's.
    let outsiders = [
        ("asesor1", signed_in("asesor1@demo.recaudo").await),
        ("supervisor1", signed_in("supervisor1@demo.recaudo").await),
    ];
    let admin = signed_in("admin@demo.recaudo").await;

    let registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.trim_start_matches("/api/").to_string())
        .collect();
    assert!(registered.len() > 60, "{registered:?}");
    let missing: Vec<&String> = registered.iter().filter(|n| entry(n).is_none()).collect();
    assert!(
        missing.is_empty(),
        "server functions without an entry in the scope matrix: {missing:?}"
    );

    let mut reached = Vec::new();
    for name in &registered {
        let (body, admin_only, typed) = match entry(name).unwrap() {
            Entry::Unscoped(why) => {
                assert!(!why.is_empty(), "{name}: say why it takes no record");
                continue;
            }
            Entry::Record(body) => (body(&records), false, None),
            Entry::Typed(body, field) => (body(&records), false, Some(field)),
            Entry::Admin(body) => (body(&records), true, None),
            Entry::List(body) => {
                for (who, client) in &outsiders {
                    let (status, text) = app.raw(client, name, &body(&records).to_string()).await;
                    assert_ne!(status, StatusCode::BAD_REQUEST, "{name} as {who}: {text}");
                    assert!(
                        !records.betrayed_by(&text),
                        "{name} as {who} shows the other team's client: {text}"
                    );
                }
                continue;
            }
        };
        for (who, client) in &outsiders {
            let (status, text) = app.raw(client, name, &body.to_string()).await;
            let expected = match (admin_only, typed) {
                (true, _) => status == StatusCode::FORBIDDEN,
                (false, Some(field)) => {
                    status == StatusCode::UNPROCESSABLE_ENTITY
                        && serde_json::from_str::<recaudo::domain::error::AppError>(&text)
                            .is_ok_and(|e| e.field_message(field).is_some())
                }
                (false, None) => refused(status),
            };
            assert!(expected, "{name} as {who} answered {status}: {text}");
            assert!(!records.betrayed_by(&text), "{name} as {who}: {text}");
        }
        reached.push((name.clone(), body, admin_only));
    }
    // Last, as they change what the refused calls were about. An administrators' call
    // may name nothing that exists (the id of a template as a segment's): it only
    // must not be refused.
    for (name, body, admin_only) in reached {
        let (status, text) = app.raw(&admin, &name, &body.to_string()).await;
        let reached = if admin_only {
            status != StatusCode::FORBIDDEN
        } else {
            !refused(status)
        };
        assert!(
            reached && status != StatusCode::BAD_REQUEST,
            "{name} as the administrator answered {status}: {text}"
        );
    }

    // The plain endpoints that serve data.
    let get = |client: &reqwest::Client, path: String| {
        let (client, base) = (client.clone(), app.base.clone());
        async move {
            let res = client.get(format!("{base}{path}")).send().await.unwrap();
            (res.status(), res.text().await.unwrap_or_default())
        }
    };
    let scoped = [
        format!("/api/attachments/{}", records.attachment_id),
        format!("/api/management-files/{}", records.management_file_id),
    ];
    for (who, client) in &outsiders {
        for path in &scoped {
            let (status, text) = get(client, path.clone()).await;
            assert!(refused(status), "{path} as {who} answered {status}: {text}");
        }
        for path in [
            "/api/clients/export?todos=1".to_string(),
            "/api/interactions/export".to_string(),
        ] {
            let (status, text) = get(client, path.clone()).await;
            assert_eq!(status, StatusCode::OK, "{path} as {who}");
            assert!(
                !records.betrayed_by(&text),
                "{path} as {who} holds the other team's client"
            );
        }
    }
    for path in &scoped[..2] {
        let (status, _) = get(&admin, path.clone()).await;
        assert_eq!(status, StatusCode::OK, "{path} as the administrator");
    }
}

on_both_engines!(every_server_function_keeps_to_the_viewers_scope);

/// Every value of a body, one at a time, at the extremes a careless or hostile client
/// sends: numbers at the ends of their range, texts as far dates and huge figures.
fn extremes(body: &Value) -> Vec<Value> {
    fn leaves(v: &Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, Value)>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    path.push(k.clone());
                    leaves(v, path, out);
                    path.pop();
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    path.push(i.to_string());
                    leaves(v, path, out);
                    path.pop();
                }
            }
            other => out.push((path.clone(), other.clone())),
        }
    }
    let mut found = Vec::new();
    leaves(body, &mut Vec::new(), &mut found);
    let mut out = Vec::new();
    for (path, value) in found {
        let replacements: Vec<Value> = match value {
            Value::Number(_) | Value::Null => vec![json!(i64::MAX), json!(i64::MIN), json!(-1)],
            Value::String(_) => vec![
                json!("9999-12-31"),
                json!("+262142-12-31"),
                json!("0000-01-01T00:00"),
                json!("99999999999999999999999999"),
                json!("-1"),
            ],
            _ => continue,
        };
        for r in replacements {
            let mut changed = body.clone();
            let pointer = format!("/{}", path.join("/"));
            if let Some(slot) = changed.pointer_mut(&pointer) {
                *slot = r;
                out.push(changed);
            }
        }
    }
    out
}

async fn no_server_function_fails_on_extreme_values(db: Db) {
    seed::seed(&db, 60, clock()).await.unwrap();
    let records = records(&db).await;
    let app = start(db).await;
    let (admin, logged) = app.login("admin@demo.recaudo", seed::DEMO_PASSWORD).await;
    logged.unwrap();
    let registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.trim_start_matches("/api/").to_string())
        .collect();
    let mut calls = 0;
    for name in &registered {
        let body = match entry(name) {
            Some(Entry::Record(body) | Entry::List(body) | Entry::Admin(body)) => body(&records),
            Some(Entry::Typed(body, _)) => body(&records),
            _ => continue,
        };
        for variant in extremes(&body) {
            let (status, text) = app.raw(&admin, name, &variant.to_string()).await;
            calls += 1;
            assert_ne!(
                status,
                StatusCode::INTERNAL_SERVER_ERROR,
                "{name} {variant}: {text}"
            );
        }
    }
    assert!(calls > 200, "{calls} calls");
}

on_both_engines!(no_server_function_fails_on_extreme_values);
