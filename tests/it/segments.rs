//! Segments on SQLite and PostgreSQL: the SQL a rule tree compiles to holds exactly the
//! clients the in-memory evaluator picks, on random trees over random portfolios; and
//! the builder's service (checks, live count, names, deletion while in use).

use crate::common::*;
use chrono::{Duration, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use recaudo::domain::automation::{FlowInput, FlowStepInput};
use recaudo::domain::error::AppError;
use recaudo::domain::segments::{
    Condition, Connector, Op, Rule, SegmentInput, SegmentOptions, ValueKind, Variable,
};
use recaudo::domain::user::Role;
use recaudo::on_db;
use recaudo::server::automation;
use recaudo::server::db::Db;
use recaudo::server::segments;

const CLIENTS: usize = 48;
const TREES: usize = 250;

/// A portfolio with every variable spread out: summary columns, debts with products,
/// promises in every state, failed contact points.
async fn random_portfolio(db: &Db, rng: &mut StdRng) -> Vec<i64> {
    let admin = user(db, "admin@x.co", Role::Admin, None).await;
    let admin = viewer(db, &admin).await;
    let sup = user(db, "sup@x.co", Role::Supervisor, None).await;
    let a = user(db, "a@x.co", Role::Advisor, Some(&sup)).await;
    let b = user(db, "b@x.co", Role::Advisor, None).await;
    let products = ["Tarjeta", "Préstamo", "Leasing"];
    let mut ids = Vec::new();
    for i in 0..CLIENTS {
        let doc = format!("{}", 10_000 + i);
        let advisor = match rng.gen_range(0..3) {
            0 => Some(&a),
            1 => Some(&b),
            _ => None,
        };
        let mut input = client_input(&doc, "Ana", &format!("Cliente {i}"), advisor);
        input.debts = (0..rng.gen_range(0..3))
            .map(|k| {
                let due = today() + Duration::days(rng.gen_range(-120..40));
                let amount = 100_000 * rng.gen_range(1..5);
                let paid = if rng.gen_bool(0.3) { amount } else { 0 };
                let mut d = debt(
                    &format!("F-{i}-{k}"),
                    &due.to_string(),
                    &amount.to_string(),
                    &paid.to_string(),
                );
                d.product = products[rng.gen_range(0..3)].into();
                d
            })
            .collect();
        let id = client(db, &admin, &input).await;
        let portfolio = ["Mora temprana", "Castigo", ""][rng.gen_range(0..3)];
        let country = ["CO", "PE", "MX"][rng.gen_range(0..3)];
        let kind = ["person", "company"][rng.gen_range(0..2)];
        let alert_key: i64 = rng.gen_range(0..128);
        let pending: i64 = if rng.gen_bool(0.3) {
            rng.gen_range(1..3)
        } else {
            0
        };
        let last = (rng.gen_bool(0.7)).then(|| now() - Duration::hours(rng.gen_range(0..24 * 90)));
        on_db!(db, p => sqlx::query(
            "UPDATE clients SET segment = $1, country = $2, kind = $3, alert_key = $4, pending_count = $5,
                last_activity_at = $6 WHERE id = $7")
            .bind(portfolio).bind(country).bind(kind).bind(alert_key).bind(pending).bind(last).bind(id)
            .execute(p).await.map(drop))
        .unwrap();
        for k in 0..rng.gen_range(0..3) {
            let state = ["pending", "kept", "broken", "cancelled"][rng.gen_range(0..4)];
            let created = now() - Duration::days(rng.gen_range(1..60)) + Duration::seconds(k);
            on_db!(db, p => sqlx::query(
                "INSERT INTO promises (client_id, promised_date, amount_cents, currency, state, created_on, created_at, created_by)
                 VALUES ($1, $2, 1000, 'COP', $3, $2, $4, $5)")
                .bind(id).bind(today()).bind(state).bind(created).bind(admin.user_id)
                .execute(p).await.map(drop))
            .unwrap();
        }
        if rng.gen_bool(0.4) {
            let problem =
                ["wrong_phone", "whatsapp_unavailable", "email_not_found"][rng.gen_range(0..3)];
            let kind = if problem == "email_not_found" {
                "email"
            } else {
                "phone"
            };
            on_db!(db, p => sqlx::query(
                "UPDATE contact_points SET failed_problem = $1 WHERE client_id = $2 AND kind = $3")
                .bind(problem).bind(id).bind(kind).execute(p).await.map(drop))
            .unwrap();
        }
        ids.push(id);
    }
    ids
}

fn value_for(rng: &mut StdRng, v: Variable, options: &SegmentOptions) -> String {
    match v.kind() {
        ValueKind::Days => [0, 1, 5, 29, 30, 31, 60, 100][rng.gen_range(0..8)].to_string(),
        ValueKind::Money => {
            ["0", "100.000", "150000,50", "300000", "1.000.000"][rng.gen_range(0..5)].into()
        }
        ValueKind::Count => rng.gen_range(0..4).to_string(),
        ValueKind::Choice | ValueKind::YesNo => {
            let mut choices: Vec<String> = options.choices(v).into_iter().map(|(s, _)| s).collect();
            // Values nobody has, where the list is the organisation's own.
            match v {
                Variable::Portfolio | Variable::Product | Variable::Country => {
                    choices.push("Nadie".into())
                }
                Variable::Advisor | Variable::Supervisor => choices.push("999999".into()),
                _ => {}
            }
            choices[rng.gen_range(0..choices.len())].clone()
        }
    }
}

fn random_rule(rng: &mut StdRng, depth: usize, options: &SegmentOptions) -> Rule {
    if depth < 3 && rng.gen_bool(0.35) {
        let n = rng.gen_range(if depth == 0 { 0 } else { 1 }..4);
        return Rule::Group {
            connector: if rng.gen_bool(0.5) {
                Connector::And
            } else {
                Connector::Or
            },
            rules: (0..n)
                .map(|_| random_rule(rng, depth + 1, options))
                .collect(),
        };
    }
    let variable = Variable::ALL[rng.gen_range(0..Variable::ALL.len())];
    let ops = variable.ops();
    Rule::Condition(Condition {
        variable,
        op: ops[rng.gen_range(0..ops.len())],
        value: value_for(rng, variable, options),
    })
}

async fn sql_and_memory_pick_the_same_clients(db: Db) {
    let seed: u64 = std::env::var("SEGMENT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    eprintln!("segment property test seed: {seed} (SEGMENT_SEED={seed} to repeat)");
    let mut rng = StdRng::seed_from_u64(seed);
    random_portfolio(&db, &mut rng).await;
    let options = segments::options(&db).await.unwrap();
    let facts = segments::all_facts(&db, clock()).await.unwrap();
    let mut non_trivial = 0;
    // Counted on several days, so that day ranges cross due dates and contact days.
    for offset in [0i64, 17] {
        let today: NaiveDate = today() + Duration::days(offset);
        let clock = clock_on(today);
        for _ in 0..TREES {
            let rule = match random_rule(&mut rng, 0, &options) {
                r @ Rule::Group { .. } => r,
                c => Rule::Group {
                    connector: Connector::And,
                    rules: vec![c],
                },
            };
            let tree = rule.check().unwrap_or_else(|e| panic!("{rule:?}: {e:?}"));
            let by_sql = segments::members(&db, &tree, &clock).await.unwrap();
            let mut in_memory: Vec<i64> = facts
                .iter()
                .filter(|(_, f)| tree.matches(f, today))
                .map(|(id, _)| *id)
                .collect();
            in_memory.sort();
            assert_eq!(
                by_sql,
                in_memory,
                "seed {seed}, {today}: {}",
                rule.describe()
            );
            assert_eq!(
                segments::count(&db, &rule, &clock).await.unwrap(),
                by_sql.len() as i64
            );
            if !by_sql.is_empty() && by_sql.len() < CLIENTS {
                non_trivial += 1;
            }
        }
    }
    assert!(
        non_trivial > TREES / 4,
        "the random trees should split the portfolio often ({non_trivial})"
    );
}

async fn the_builder_service_checks_names_rules_and_uses(db: Db) {
    let admin = user(&db, "admin@x.co", Role::Admin, None).await;
    let admin = viewer(&db, &admin).await;
    let advisor = user(&db, "a@x.co", Role::Advisor, None).await;
    let advisor = viewer(&db, &advisor).await;
    let clock = clock();
    let bad = Rule::Group {
        connector: Connector::And,
        rules: vec![Rule::Condition(Condition {
            variable: Variable::DaysOverdue,
            op: Op::Gt,
            value: "treinta".into(),
        })],
    };
    let Err(AppError::Invalid(errors)) = segments::count(&db, &bad, &clock).await else {
        panic!("a bad value is refused")
    };
    assert!(errors[0]
        .message
        .starts_with("Condición 1 (Días de atraso): «treinta» no es un número entero"));
    let input = |name: &str| SegmentInput {
        name: name.into(),
        rule: Rule::default(),
    };
    assert_eq!(
        segments::save(&db, &advisor, None, input("Todos"), now()).await,
        Err(AppError::Forbidden)
    );
    let id = segments::save(&db, &admin, None, input("Todos"), now())
        .await
        .unwrap();
    let Err(AppError::Invalid(e)) =
        segments::save(&db, &admin, None, input(" Todos "), now()).await
    else {
        panic!("names are unique")
    };
    assert_eq!(e[0].message, "Ya existe un segmento con ese nombre.");
    let Err(AppError::Invalid(e)) = segments::save(
        &db,
        &admin,
        None,
        SegmentInput {
            name: "X".into(),
            rule: bad,
        },
        now(),
    )
    .await
    else {
        panic!("rules are checked on save")
    };
    assert!(e[0].message.contains("no es un número entero"));
    assert_eq!(
        segments::list(&db).await.unwrap().len(),
        1,
        "nothing half-saved"
    );
    automation::save_flow(
        &db,
        &admin,
        None,
        FlowInput {
            name: "Principal".into(),
            segment_id: Some(id),
            position: 1,
            active: true,
            steps: vec![FlowStepInput {
                day: 3,
                template_id: None,
            }],
        },
        now(),
    )
    .await
    .unwrap();
    let Err(AppError::Invalid(e)) = segments::delete(&db, &admin, id, now()).await else {
        panic!("a segment in use stays")
    };
    assert!(
        e[0].message.contains("el flujo «Principal»"),
        "{}",
        e[0].message
    );
}

on_both_engines!(
    sql_and_memory_pick_the_same_clients,
    the_builder_service_checks_names_rules_and_uses
);
