//! Demo data: the fixed demo users and a realistic portfolio. Generated clients go
//! through the same validation as the client form; the generator is deterministic so every
//! demo (and every benchmark) has the same data.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::domain::client::{
    ClientInput, ContactsInput, DebtInput, PartyRole, RelatedInput, ValidClient,
};
use crate::domain::error::AppError;
use crate::domain::user::{Assignee, Role, Viewer};
use crate::server::auth::hash_password;
use crate::server::clients::{insert_new, NewClient};
use crate::server::clock::Clock;
use crate::server::db::Db;
use crate::{on_db, on_tx};

pub const DEMO_PASSWORD: &str = "recaudo-demo";
pub const DEMO_DOMAIN: &str = "demo.recaudo";

/// (e-mail, name, role, supervisor's e-mail)
pub const DEMO_USERS: [(&str, &str, Role, Option<&str>); 7] = [
    (
        "admin@demo.recaudo",
        "Administración Recaudo",
        Role::Admin,
        None,
    ),
    (
        "supervisor1@demo.recaudo",
        "Laura Castillo",
        Role::Supervisor,
        None,
    ),
    (
        "supervisor2@demo.recaudo",
        "Jorge Medina",
        Role::Supervisor,
        None,
    ),
    (
        "asesor1@demo.recaudo",
        "Camila Rojas",
        Role::Advisor,
        Some("supervisor1@demo.recaudo"),
    ),
    (
        "asesor2@demo.recaudo",
        "Andrés Gómez",
        Role::Advisor,
        Some("supervisor1@demo.recaudo"),
    ),
    (
        "asesor3@demo.recaudo",
        "Valentina Díaz",
        Role::Advisor,
        Some("supervisor2@demo.recaudo"),
    ),
    (
        "asesor4@demo.recaudo",
        "Mateo Herrera",
        Role::Advisor,
        Some("supervisor2@demo.recaudo"),
    ),
];

/// Creates the demo users, or puts them back as they should be (role, team, password,
/// active). Returns their ids by e-mail.
pub async fn ensure_demo_users(
    db: &Db,
    now: DateTime<Utc>,
) -> Result<HashMap<&'static str, i64>, AppError> {
    let hash = hash_password(DEMO_PASSWORD.to_string()).await?;
    let mut ids: HashMap<&'static str, i64> = HashMap::new();
    let mut tx = db.begin().await?;
    for (email, name, role, supervisor) in DEMO_USERS {
        let supervisor_id = supervisor.map(|s| ids[s]);
        let (id,): (i64,) = on_tx!(&mut tx, c => sqlx::query_as(
            "INSERT INTO users (name, email, password_hash, role, supervisor_id, filter_unlocked, active, is_demo, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, FALSE, TRUE, TRUE, $6, $6)
             ON CONFLICT (email) DO UPDATE SET name = excluded.name, password_hash = excluded.password_hash,
                 role = excluded.role, supervisor_id = excluded.supervisor_id, active = TRUE, is_demo = TRUE,
                 updated_at = excluded.updated_at
             RETURNING id")
            .bind(name).bind(email).bind(&hash).bind(role.as_str()).bind(supervisor_id).bind(now)
            .fetch_one(&mut *c).await)?;
        ids.insert(email, id);
    }
    tx.commit().await?;
    Ok(ids)
}

pub async fn demo_users_exist(db: &Db) -> Result<bool, AppError> {
    let found: Option<(i64,)> = on_db!(db, p => sqlx::query_as("SELECT id FROM users WHERE is_demo LIMIT 1").fetch_optional(p).await)?;
    Ok(found.is_some())
}

pub async fn client_count(db: &Db) -> Result<i64, AppError> {
    let (n,): (i64,) =
        on_db!(db, p => sqlx::query_as("SELECT COUNT(*) FROM clients").fetch_one(p).await)?;
    Ok(n)
}

#[derive(Debug)]
pub struct SeedReport {
    pub users: usize,
    pub clients_created: usize,
    pub clients_existing: i64,
}

/// Seeds the demo users and, into a database without clients, `clients` demo clients.
pub async fn seed(db: &Db, clients: usize, clock: Clock) -> Result<SeedReport, AppError> {
    let now = clock.now;
    let ids = ensure_demo_users(db, now).await?;
    let existing = client_count(db).await?;
    if existing > 0 {
        return Ok(SeedReport {
            users: ids.len(),
            clients_created: 0,
            clients_existing: existing,
        });
    }
    let holders = demo_holders(&ids);
    let created = insert_generated(db, clients, &holders, clock).await?;
    let advisors: Vec<Viewer> = DEMO_USERS
        .iter()
        .filter(|(_, _, role, _)| *role == Role::Advisor)
        .map(|(email, name, role, _)| Viewer {
            user_id: ids[email],
            name: name.to_string(),
            email: email.to_string(),
            role: *role,
            filter_unlocked: false,
            has_clients: true,
        })
        .collect();
    demo_templates(db, ids["admin@demo.recaudo"], now).await?;
    crate::server::sandbox::demo_traffic(db, &advisors, now).await?;
    crate::server::sandbox::demo_calls(db, &advisors, clock).await?;
    crate::server::sandbox::demo_alerts(db, &advisors, clock).await?;
    db.refresh_statistics().await?;
    Ok(SeedReport {
        users: ids.len(),
        clients_created: created,
        clients_existing: 0,
    })
}

/// Templates for each channel, as an administrator would write them; the WhatsApp ones
/// approved, so that they can open a conversation.
async fn demo_templates(db: &Db, admin_id: i64, now: DateTime<Utc>) -> Result<(), AppError> {
    use crate::domain::message::Channel;
    use crate::domain::templates::{Purpose, TemplateInput};
    let admin = Viewer {
        user_id: admin_id,
        name: "Administración".into(),
        email: "admin@demo.recaudo".into(),
        role: Role::Admin,
        filter_unlocked: true,
        has_clients: false,
    };
    let templates = [
        ("Recordatorio de pago", Channel::WhatsApp, PartyRole::Client, Purpose::Flow, "",
         "Hola {{nombre}}, te recordamos que tienes un saldo vencido de {{deuda_vencida}} ({{dias_atraso}} días de atraso). Puedes pagar aquí: {{link_pago}}", true),
        ("Estado de cuenta", Channel::Email, PartyRole::Client, Purpose::Event, "Estado de cuenta de {{nombre_cliente}}",
         "Estimado/a {{nombre}}:\n\nEste es el detalle de su deuda:\n{{estado_cuenta}}\n\nPuede pagar en {{link_pago}}.\n\nAtentamente,\n{{asesor}}", false),
        ("Aviso de vencimiento", Channel::Sms, PartyRole::Client, Purpose::Campaign, "",
         "{{nombre}}, tu deuda de {{deuda_vencida}} vencio el {{vencimiento_mas_antiguo}}. Paga en {{link_pago}}", false),
        ("Mensaje a referencia", Channel::WhatsApp, PartyRole::Reference, Purpose::Flow, "",
         "Hola {{nombre}}, necesitamos comunicarnos con {{nombre_cliente}}. ¿Podrías pedirle que nos escriba?", true),
    ];
    for (name, channel, recipient, purpose, subject, body, approved) in templates {
        let input = TemplateInput {
            name: name.into(),
            channel,
            recipient,
            purpose,
            subject: subject.into(),
            body: body.into(),
            approved,
        };
        crate::server::templates::save(db, &admin, None, input, now).await?;
    }
    Ok(())
}

/// The demo portfolio is spread over the four advisors, with a few clients held by the
/// supervisors themselves and a few unassigned.
fn demo_holders(ids: &HashMap<&'static str, i64>) -> Vec<(Option<Assignee>, u32)> {
    let assignee = |email: &str, role: Role, supervisor: Option<&str>| Assignee {
        id: ids[email],
        name: email.to_string(),
        role,
        supervisor_id: supervisor.map(|s| ids[s]),
        active: true,
    };
    vec![
        (
            Some(assignee(
                "asesor1@demo.recaudo",
                Role::Advisor,
                Some("supervisor1@demo.recaudo"),
            )),
            23,
        ),
        (
            Some(assignee(
                "asesor2@demo.recaudo",
                Role::Advisor,
                Some("supervisor1@demo.recaudo"),
            )),
            23,
        ),
        (
            Some(assignee(
                "asesor3@demo.recaudo",
                Role::Advisor,
                Some("supervisor2@demo.recaudo"),
            )),
            23,
        ),
        (
            Some(assignee(
                "asesor4@demo.recaudo",
                Role::Advisor,
                Some("supervisor2@demo.recaudo"),
            )),
            23,
        ),
        (
            Some(assignee("supervisor1@demo.recaudo", Role::Supervisor, None)),
            3,
        ),
        (
            Some(assignee("supervisor2@demo.recaudo", Role::Supervisor, None)),
            3,
        ),
        (None, 2),
    ]
}

/// Generates and inserts `n` clients in batches, each batch in its own transaction.
pub async fn insert_generated(
    db: &Db,
    n: usize,
    holders: &[(Option<Assignee>, u32)],
    clock: Clock,
) -> Result<usize, AppError> {
    let today = clock.today;
    const BATCH: usize = 2_000;
    let mut rng = StdRng::seed_from_u64(20_261_123);
    let total_weight: u32 = holders.iter().map(|(_, w)| w).sum();
    let mut done = 0;
    while done < n {
        let size = BATCH.min(n - done);
        let mut batch: Vec<(ValidClient, Option<&Assignee>)> = Vec::with_capacity(size);
        for i in done..done + size {
            let mut pick = rng.gen_range(0..total_weight);
            let holder = holders
                .iter()
                .find(|(_, w)| {
                    if pick < *w {
                        true
                    } else {
                        pick -= w;
                        false
                    }
                })
                .and_then(|(a, _)| a.as_ref());
            let input = generate_client(&mut rng, i, today);
            let client = input.validate().map_err(|errors| {
                AppError::internal(format!("generated demo client is invalid: {errors:?}"))
            })?;
            batch.push((client, holder));
        }
        let items: Vec<NewClient> = batch
            .iter()
            .map(|(client, holder)| NewClient {
                client,
                advisor_id: holder.map(|h| h.id),
                supervisor_id: holder.and_then(Assignee::team_supervisor),
            })
            .collect();
        let mut tx = db.begin().await?;
        insert_new(&mut tx, &items, clock).await?;
        tx.commit().await?;
        done += size;
    }
    Ok(done)
}

const WOMEN: &[&str] = &[
    "María",
    "Ana",
    "Lucía",
    "Sofía",
    "Valeria",
    "Camila",
    "Daniela",
    "Gabriela",
    "Paula",
    "Isabel",
    "Natalia",
    "Mariana",
    "Carolina",
    "Verónica",
    "Patricia",
    "Adriana",
    "Lorena",
    "Mónica",
];
const MEN: &[&str] = &[
    "José",
    "Luis",
    "Carlos",
    "Juan",
    "Diego",
    "Jorge",
    "Andrés",
    "Miguel",
    "Fernando",
    "Ricardo",
    "Alejandro",
    "Sebastián",
    "Héctor",
    "Óscar",
    "Raúl",
    "Julián",
    "Esteban",
    "Iván",
];
const LAST_NAMES: &[&str] = &[
    "González",
    "Rodríguez",
    "Gómez",
    "Fernández",
    "López",
    "Díaz",
    "Martínez",
    "Pérez",
    "García",
    "Sánchez",
    "Romero",
    "Sosa",
    "Torres",
    "Álvarez",
    "Ruiz",
    "Ramírez",
    "Flores",
    "Benítez",
    "Acosta",
    "Medina",
    "Herrera",
    "Suárez",
    "Aguirre",
    "Giménez",
    "Gutiérrez",
    "Pereyra",
    "Rojas",
    "Molina",
    "Castro",
    "Ortiz",
    "Silva",
    "Núñez",
    "Luna",
    "Cabrera",
    "Ríos",
    "Morales",
    "Vargas",
    "Muñoz",
    "Castillo",
    "Jiménez",
    "Mendoza",
    "Cárdenas",
    "Quintero",
    "Salazar",
    "Ospina",
];
const COMPANY_WORDS: &[&str] = &[
    "Distribuidora",
    "Comercializadora",
    "Ferretería",
    "Transportes",
    "Inversiones",
    "Servicios",
    "Panadería",
    "Constructora",
    "Farmacia",
    "Agroindustrias",
    "Textiles",
    "Importadora",
];
const COMPANY_NAMES: &[&str] = &[
    "El Roble",
    "Los Andes",
    "La Esperanza",
    "Del Pacífico",
    "San Martín",
    "El Progreso",
    "Santa Fe",
    "La Montaña",
    "Del Valle",
    "Nueva Granada",
    "El Sol",
    "La Estrella",
    "Los Pinos",
];
const SUFFIXES: &[&str] = &["S.A.S.", "S.A.", "Ltda.", "S.R.L.", "S.A. de C.V."];
const SEGMENTS: &[&str] = &[
    "Tarjetas de crédito",
    "Consumo",
    "Microcrédito",
    "Vehículos",
    "Servicios",
    "Comercial",
];
const PRODUCTS: &[&str] = &[
    "Tarjeta Clásica",
    "Tarjeta Oro",
    "Préstamo personal",
    "Crédito vehicular",
    "Plan de servicios",
    "Factura comercial",
];
const RELATIONSHIPS: &[&str] = &[
    "Hermano",
    "Hermana",
    "Madre",
    "Padre",
    "Cónyuge",
    "Amigo",
    "Compañero de trabajo",
    "Tía",
];
const MAIL_DOMAINS: &[&str] = &[
    "correo.com",
    "gmail.com",
    "hotmail.com",
    "outlook.com",
    "yahoo.com",
];
/// (country, weight, currency, amount scale in currency units)
const COUNTRY_MIX: &[(&str, u32, &str, i64)] = &[
    ("CO", 45, "COP", 4_000),
    ("MX", 20, "MXN", 20),
    ("PE", 12, "PEN", 4),
    ("CL", 10, "CLP", 900),
    ("AR", 8, "ARS", 1_000),
    ("EC", 5, "USD", 1),
];

fn pick<'a>(rng: &mut StdRng, items: &'a [&'a str]) -> &'a str {
    items.choose(rng).expect("non-empty list")
}

/// A national mobile number as people write it in that country.
fn digits(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

fn mobile(rng: &mut StdRng, country: &str) -> String {
    match country {
        "CO" => format!(
            "3{}{} {}",
            rng.gen_range(0..3),
            digits(rng, 1),
            digits(rng, 7)
        ),
        "MX" => format!("55 {} {}", digits(rng, 4), digits(rng, 4)),
        "PE" | "CL" => format!("9{} {}", digits(rng, 4), digits(rng, 4)),
        "AR" => format!("11 {}-{}", digits(rng, 4), digits(rng, 4)),
        _ => format!("09{}", digits(rng, 8)),
    }
}

fn email_for(rng: &mut StdRng, name: &str, i: usize) -> String {
    let base: String = crate::domain::search::fold(name)
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(".");
    format!("{base}{}@{}", i % 997, pick(rng, MAIL_DOMAINS))
}

fn person_name(rng: &mut StdRng) -> (String, String) {
    let names = if rng.gen_bool(0.5) { WOMEN } else { MEN };
    let first = if rng.gen_bool(0.3) {
        let (a, b) = (pick(rng, names), pick(rng, names));
        if a == b {
            a.to_string()
        } else {
            format!("{a} {b}")
        }
    } else {
        pick(rng, names).to_string()
    };
    (
        first,
        format!("{} {}", pick(rng, LAST_NAMES), pick(rng, LAST_NAMES)),
    )
}

pub fn generate_client(rng: &mut StdRng, i: usize, today: NaiveDate) -> ClientInput {
    let total: u32 = COUNTRY_MIX.iter().map(|c| c.1).sum();
    let mut roll = rng.gen_range(0..total);
    let &(country, _, currency, scale) = COUNTRY_MIX
        .iter()
        .find(|c| {
            if roll < c.1 {
                true
            } else {
                roll -= c.1;
                false
            }
        })
        .expect("weights cover the roll");
    let company = rng.gen_bool(0.12);
    let mut input = ClientInput::blank();
    input.country = country.into();
    input.time_zone = String::new();
    input.segment = pick(rng, SEGMENTS).into();
    input.document_number = format!("{}", 10_000_000 + i * 7 + rng.gen_range(0..7));
    let display = if company {
        input.kind = "company".into();
        input.business_name = format!(
            "{} {} {}",
            pick(rng, COMPANY_WORDS),
            pick(rng, COMPANY_NAMES),
            pick(rng, SUFFIXES)
        );
        input.business_name.clone()
    } else {
        let (first, last) = person_name(rng);
        input.first_name = first;
        input.last_name = last;
        format!("{} {}", input.first_name, input.last_name)
    };
    input.contacts = ContactsInput {
        phones: (0..rng.gen_range(1..3))
            .map(|_| mobile(rng, country))
            .collect(),
        emails: if rng.gen_bool(0.8) {
            vec![email_for(rng, &display, i)]
        } else {
            vec![]
        },
        whatsapps: Vec::new(),
        ..ContactsInput::default()
    };
    if rng.gen_bool(0.7) {
        input.contacts.whatsapps = vec![input.contacts.phones[0].clone()];
    }
    // Some debtors did not authorise SMS on their first phone (Ley 2300's "canales
    // autorizados"): the composer greys it out and the flows skip it. Chosen by index so
    // the rest of the generated portfolio stays as it was.
    if i % 13 == 5 {
        input.contacts.phones_withheld = vec![vec![crate::domain::message::Channel::Sms]];
    }
    let mut related = Vec::new();
    for (role, ordinal, chance) in [
        (PartyRole::Reference, 1, 0.75),
        (PartyRole::Reference, 2, 0.35),
        (PartyRole::Guarantor, 1, 0.3),
        (PartyRole::Guarantor, 2, 0.05),
    ] {
        let mut slot = RelatedInput::empty(role, ordinal);
        if rng.gen_bool(chance) {
            let (first, last) = person_name(rng);
            slot.name = format!("{first} {last}");
            slot.relationship = pick(rng, RELATIONSHIPS).into();
            slot.contacts.phones = vec![mobile(rng, country)];
            if rng.gen_bool(0.4) {
                slot.contacts.emails = vec![email_for(rng, &slot.name, i + ordinal as usize)];
            }
            if rng.gen_bool(0.5) {
                slot.contacts.whatsapps = vec![slot.contacts.phones[0].clone()];
            }
        }
        related.push(slot);
    }
    input.related = related;
    // Days overdue spread from "not yet due" to more than a year, weighted to early arrears.
    let oldest_offset: i64 = match rng.gen_range(0..100) {
        0..=14 => -rng.gen_range(1..45),
        15..=54 => rng.gen_range(1..31),
        55..=79 => rng.gen_range(31..91),
        80..=93 => rng.gen_range(91..181),
        _ => rng.gen_range(181..500),
    };
    let orders = rng.gen_range(1..4);
    input.debts = (0..orders)
        .map(|k| {
            let due = today - Duration::days(oldest_offset - 30 * k as i64);
            let issue = due - Duration::days(30);
            // Round amounts, as instalments usually are; a few with cents.
            let units = scale * rng.gen_range(20..2_500);
            let cents = if rng.gen_bool(0.2) {
                rng.gen_range(1..100)
            } else {
                0
            };
            let amount = units * 100 + cents;
            let paid = match rng.gen_range(0..10) {
                0 => amount,
                1..=2 => amount / rng.gen_range(2..5),
                _ => 0,
            };
            DebtInput {
                number: format!("{}-{:06}-{}", &country, i, k + 1),
                product: pick(rng, PRODUCTS).into(),
                issue_date: issue.to_string(),
                due_date: due.to_string(),
                amount: crate::domain::money::cents_to_input(amount),
                paid: crate::domain::money::cents_to_input(paid),
                currency: currency.into(),
            }
        })
        .collect();
    input
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_clients_are_valid_varied_and_deterministic() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let mut rng = StdRng::seed_from_u64(1);
        let clients: Vec<ValidClient> = (0..500)
            .map(|i| generate_client(&mut rng, i, today).validate().unwrap())
            .collect();
        let docs: std::collections::HashSet<_> =
            clients.iter().map(|c| &c.document_number).collect();
        assert_eq!(docs.len(), clients.len(), "documents are unique");
        assert!(clients
            .iter()
            .any(|c| c.summary(today).overdue_total_cents == 0));
        assert!(clients.iter().any(|c| crate::domain::debt::days_overdue(
            c.summary(today).oldest_unpaid_due_date,
            today
        ) > 180));
        assert!(clients
            .iter()
            .any(|c| c.parties.iter().any(|p| p.role == PartyRole::Guarantor)));
        assert!(clients
            .iter()
            .any(|c| c.kind == crate::domain::client::ClientKind::Company));
        let mut again = StdRng::seed_from_u64(1);
        assert_eq!(
            generate_client(&mut again, 0, today).validate().unwrap(),
            clients[0]
        );
    }

    #[test]
    fn demo_teams_are_as_documented() {
        let sup = |email: &str| DEMO_USERS.iter().find(|u| u.0 == email).unwrap().3;
        assert_eq!(
            sup("asesor1@demo.recaudo"),
            Some("supervisor1@demo.recaudo")
        );
        assert_eq!(
            sup("asesor2@demo.recaudo"),
            Some("supervisor1@demo.recaudo")
        );
        assert_eq!(
            sup("asesor3@demo.recaudo"),
            Some("supervisor2@demo.recaudo")
        );
        assert_eq!(
            sup("asesor4@demo.recaudo"),
            Some("supervisor2@demo.recaudo")
        );
        assert!(DEMO_USERS.iter().all(|u| u.0.ends_with(DEMO_DOMAIN)));
    }
}
