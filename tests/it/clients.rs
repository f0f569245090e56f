//! Clients service against a real database, on SQLite and PostgreSQL.

use std::collections::HashSet;

use crate::common::*;
use chrono::{Duration, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use recaudo::domain::client::PartyRole;
use recaudo::domain::contact::ContactKind;
use recaudo::domain::debt::{DebtLine, DebtSummary};
use recaudo::domain::error::AppError;
use recaudo::domain::listing::{ClientCursor, ClientListQuery, ClientRow, ClientSort, PAGE_SIZE};
use recaudo::domain::user::{Assignee, Role, Viewer};
use recaudo::server::db::Db;
use recaudo::server::{audit, clients, seed, users};

struct Org {
    admin: Viewer,
    sup1: recaudo::domain::user::User,
    sup2: recaudo::domain::user::User,
    adv_a: recaudo::domain::user::User,
    adv_b: recaudo::domain::user::User,
    adv_c: recaudo::domain::user::User,
}

/// Admin; supervisor 1 with advisors A and B; supervisor 2 with advisor C.
async fn org(db: &Db) -> Org {
    let admin_user = user(db, "admin@x.co", Role::Admin, None).await;
    let sup1 = user(db, "sup1@x.co", Role::Supervisor, None).await;
    let sup2 = user(db, "sup2@x.co", Role::Supervisor, None).await;
    let adv_a = user(db, "a@x.co", Role::Advisor, Some(&sup1)).await;
    let adv_b = user(db, "b@x.co", Role::Advisor, Some(&sup1)).await;
    let adv_c = user(db, "c@x.co", Role::Advisor, Some(&sup2)).await;
    let admin = viewer(db, &admin_user).await;
    Org {
        admin,
        sup1,
        sup2,
        adv_a,
        adv_b,
        adv_c,
    }
}

async fn list_all(db: &Db, v: &Viewer, mut q: ClientListQuery) -> Vec<ClientRow> {
    let mut rows = Vec::new();
    loop {
        let page = clients::list(db, v, &q, today()).await.unwrap();
        assert!(page.rows.len() <= PAGE_SIZE);
        rows.extend(page.rows);
        match page.next {
            Some(c) => q.after = Some(c),
            None => return rows,
        }
    }
}

/// How many clients a search finds on its first page.
async fn found(db: &Db, v: &Viewer, search: &str) -> usize {
    let q = ClientListQuery {
        search: search.into(),
        ..Default::default()
    };
    clients::list(db, v, &q, today()).await.unwrap().rows.len()
}

fn names(rows: &[ClientRow]) -> HashSet<String> {
    rows.iter().map(|r| r.display_name.clone()).collect()
}

async fn visibility_follows_role_and_team(db: Db) {
    let o = org(&db).await;
    let portfolio = [
        ("1001", "Ana", "Alfa", Some(&o.adv_a)),
        ("1002", "Beto", "Beta", Some(&o.adv_b)),
        ("1003", "Cata", "Gama", Some(&o.adv_c)),
        ("1004", "Dani", "Delta", Some(&o.sup1)),
        ("1005", "Eva", "Sinasesor", None),
    ];
    for (document, first, last, holder) in portfolio {
        client(&db, &o.admin, &client_input(document, first, last, holder)).await;
    }

    let a = viewer(&db, &o.adv_a).await;
    assert_eq!(
        names(&list_all(&db, &a, Default::default()).await),
        HashSet::from(["Ana Alfa".to_string()])
    );
    // Asking for everything with a locked filter still shows the own portfolio.
    let all_q = ClientListQuery {
        all_clients: true,
        ..Default::default()
    };
    let page = clients::list(&db, &a, &all_q, today()).await.unwrap();
    assert!(!page.showing_all && !page.may_see_all);
    assert_eq!(page.rows.len(), 1);

    let s1 = viewer(&db, &o.sup1).await;
    assert_eq!(
        names(&list_all(&db, &s1, Default::default()).await),
        HashSet::from(["Ana Alfa".into(), "Beto Beta".into(), "Dani Delta".into()])
    );
    let s2 = viewer(&db, &o.sup2).await;
    assert_eq!(
        names(&list_all(&db, &s2, Default::default()).await),
        HashSet::from(["Cata Gama".to_string()])
    );
    assert_eq!(list_all(&db, &o.admin, Default::default()).await.len(), 5);

    // A user with no associated clients sees all of them.
    let newcomer = user(&db, "nuevo@x.co", Role::Advisor, Some(&o.sup2)).await;
    let n = viewer(&db, &newcomer).await;
    assert!(!n.has_clients);
    assert_eq!(list_all(&db, &n, Default::default()).await.len(), 5);

    // The unlocked filter opens "Todos los clientes" on request only.
    edit_user(&db, &o.admin, &o.adv_a, |u| u.filter_unlocked = true)
        .await
        .unwrap();
    let a = viewer(&db, &o.adv_a).await;
    assert_eq!(list_all(&db, &a, Default::default()).await.len(), 1);
    assert_eq!(list_all(&db, &a, all_q.clone()).await.len(), 5);
    edit_user(&db, &o.admin, &o.adv_a, |u| u.filter_unlocked = false)
        .await
        .unwrap();
}

async fn another_advisors_client_is_not_found_and_audited(db: Db) {
    let o = org(&db).await;
    let theirs = client(
        &db,
        &o.admin,
        &client_input("2001", "Beto", "Ajeno", Some(&o.adv_b)),
    )
    .await;
    let a = viewer(&db, &o.adv_a).await;
    client(
        &db,
        &o.admin,
        &client_input("2002", "Ana", "Propia", Some(&o.adv_a)),
    )
    .await;
    let a = Viewer {
        has_clients: true,
        ..a
    };
    assert_eq!(
        clients::get(&db, &a, theirs, clock()).await,
        Err(AppError::NotFound)
    );
    assert_eq!(
        clients::get(&db, &a, 999_999, clock()).await,
        Err(AppError::NotFound)
    );
    let log = audit::recent(&db, 5).await.unwrap();
    let denied: Vec<_> = log.iter().filter(|e| e.action == "access.denied").collect();
    assert_eq!(
        denied.len(),
        1,
        "only the existing client is audited: {log:?}"
    );
    assert_eq!(denied[0].subject, format!("client:{theirs}"));
    assert_eq!(denied[0].user_id, Some(o.adv_a.id));
    // Nor can it be edited: the attempt is refused the same way, audited, and changes nothing.
    let mut edit = client_input("2001", "Beto", "Cambiado", Some(&o.adv_a));
    edit.segment = "robado".into();
    let refused = clients::update(&db, &a, theirs, valid(&edit), clock()).await;
    assert_eq!(refused, Err(AppError::NotFound));
    let log = audit::recent(&db, 5).await.unwrap();
    assert_eq!(
        log.iter().filter(|e| e.action == "access.denied").count(),
        2
    );
    let unchanged = clients::get(&db, &o.admin, theirs, clock()).await.unwrap();
    assert_eq!(
        (unchanged.last_name.as_str(), unchanged.advisor_id),
        ("Ajeno", Some(o.adv_b.id))
    );

    // The team supervisor can read it.
    let s1 = viewer(&db, &o.sup1).await;
    assert_eq!(
        clients::get(&db, &s1, theirs, clock())
            .await
            .unwrap()
            .display_name,
        "Beto Ajeno"
    );
}

async fn a_client_round_trips_and_rejects_a_taken_document(db: Db) {
    let o = org(&db).await;
    let mut input = client_input("3001", "María José", "Pérez Gómez", Some(&o.adv_a));
    input.related[0].name = "Luis Pérez".into();
    input.related[0].relationship = "Hermano".into();
    input.related[0].contacts.phones = vec!["310 555 0000".into()];
    input.related[2].name = "Garante Uno".into();
    input.debts = vec![
        debt("F-1", "2026-10-01", "1.000.000", "250.000"),
        debt("F-2", "2026-12-15", "500000", ""),
    ];
    let id = client(&db, &o.admin, &input).await;
    let detail = clients::get(&db, &o.admin, id, clock()).await.unwrap();
    assert_eq!(detail.advisor_name.as_deref(), Some("a"));
    assert_eq!(detail.supervisor_name.as_deref(), Some("sup1"));
    assert_eq!(detail.parties.len(), 3);
    assert_eq!(detail.parties[1].role, PartyRole::Reference);
    assert_eq!(
        detail.parties[1].values(ContactKind::Phone),
        vec!["+573105550000"]
    );
    assert_eq!(detail.summary.overdue_total_cents, 75_000_000);
    assert_eq!(detail.summary.balance_cents, 125_000_000);
    assert_eq!(detail.summary.unpaid_orders, 2);
    assert_eq!(detail.days_overdue, 53);
    assert_eq!(detail.to_input().validate().unwrap(), valid(&input));

    let before = seed::client_count(&db).await.unwrap();
    let mut dup = client_input("30-01", "Otro", "Cliente", None);
    dup.debts = vec![debt("X", "2026-01-01", "1", "")];
    let err = clients::create(&db, &o.admin, valid(&dup), clock())
        .await
        .unwrap_err();
    assert_eq!(
        err.field_message("document_number").as_deref(),
        Some("Ya existe un cliente con ese documento.")
    );
    assert_eq!(
        seed::client_count(&db).await.unwrap(),
        before,
        "nothing of the rejected client was saved"
    );
}

async fn an_edit_replaces_exactly_and_keeps_contact_ids(db: Db) {
    let o = org(&db).await;
    let mut input = client_input("4001", "Ana", "Ríos", Some(&o.adv_a));
    input.contacts.phones = vec!["3001112233".into(), "3004445566".into()];
    input.related[0].name = "Ref Uno".into();
    input.related[1].name = "Ref Dos".into();
    input.debts = vec![
        debt("F-1", "2026-10-01", "100", ""),
        debt("F-2", "2026-10-15", "200", ""),
    ];
    let id = client(&db, &o.admin, &input).await;
    let before = clients::get(&db, &o.admin, id, clock()).await.unwrap();
    let kept_phone = before.parties[0]
        .contacts
        .iter()
        .find(|c| c.value == "+573001112233")
        .unwrap()
        .id;

    let mut edit = before.to_input();
    edit.last_name = "Ríos Nueva".into();
    edit.contacts.phones = vec!["3001112233".into(), "3009990000".into()];
    edit.related[0] = recaudo::domain::client::RelatedInput::empty(PartyRole::Reference, 1);
    edit.debts.retain(|d| d.number == "F-2");
    edit.debts[0].paid = "50".into();
    edit.debts.push(debt("F-3", "2027-01-01", "300", ""));
    clients::update(&db, &o.admin, id, valid(&edit), clock())
        .await
        .unwrap();

    let after = clients::get(&db, &o.admin, id, clock()).await.unwrap();
    assert_eq!(after.display_name, "Ana Ríos Nueva");
    let phones = &after.parties[0].contacts;
    assert!(
        phones
            .iter()
            .any(|c| c.id == kept_phone && c.value == "+573001112233"),
        "unchanged contact keeps its id"
    );
    assert!(phones.iter().any(|c| c.value == "+573009990000"));
    assert!(!phones.iter().any(|c| c.value == "+573004445566"));
    assert_eq!(
        after
            .parties
            .iter()
            .filter(|p| p.role == PartyRole::Reference)
            .map(|p| p.ordinal)
            .collect::<Vec<_>>(),
        vec![2]
    );
    assert_eq!(
        after
            .debts
            .iter()
            .map(|d| d.number.as_str())
            .collect::<Vec<_>>(),
        vec!["F-2", "F-3"]
    );
    assert_eq!(after.summary.overdue_total_cents, 15_000);
    assert_eq!(after.summary.balance_cents, 45_000);

    // Search follows the edit.
    assert_eq!(found(&db, &o.admin, "nueva").await, 1);
    assert_eq!(found(&db, &o.admin, "3004445566").await, 0);
    assert_eq!(found(&db, &o.admin, "300 999 0000").await, 1);
}

async fn advisors_cannot_take_or_give_away_clients(db: Db) {
    let o = org(&db).await;
    client(
        &db,
        &o.admin,
        &client_input("5000", "Propio", "Uno", Some(&o.adv_a)),
    )
    .await;
    let a = viewer(&db, &o.adv_a).await;
    // Creating without an advisor puts the client in the creator's portfolio.
    let own = clients::create(
        &db,
        &a,
        valid(&client_input("5001", "Nuevo", "Mio", None)),
        clock(),
    )
    .await
    .unwrap();
    assert_eq!(
        clients::get(&db, &a, own, clock())
            .await
            .unwrap()
            .advisor_id,
        Some(o.adv_a.id)
    );
    // Handing it to someone else is refused, beside the field.
    let mut edit = clients::get(&db, &a, own, clock())
        .await
        .unwrap()
        .to_input();
    edit.advisor_id = Some(o.adv_b.id);
    let err = clients::update(&db, &a, own, valid(&edit), clock())
        .await
        .unwrap_err();
    assert!(err.field_message("advisor_id").is_some(), "{err:?}");
    assert_eq!(
        clients::assign(&db, &a, &[own], Some(o.adv_b.id), now()).await,
        Err(AppError::Forbidden)
    );
}

async fn assignment_stays_within_the_team_and_is_all_or_nothing(db: Db) {
    let o = org(&db).await;
    let a1 = client(
        &db,
        &o.admin,
        &client_input("6001", "Uno", "Equipo", Some(&o.adv_a)),
    )
    .await;
    let a2 = client(
        &db,
        &o.admin,
        &client_input("6002", "Dos", "Equipo", Some(&o.adv_a)),
    )
    .await;
    let c1 = client(
        &db,
        &o.admin,
        &client_input("6003", "Tres", "Otro", Some(&o.adv_c)),
    )
    .await;
    let s1 = viewer(&db, &o.sup1).await;

    assert_eq!(
        clients::assign(&db, &s1, &[a1, a2], Some(o.adv_b.id), now()).await,
        Ok(2)
    );
    let moved = clients::get(&db, &s1, a1, clock()).await.unwrap();
    assert_eq!(moved.advisor_id, Some(o.adv_b.id));

    let err = clients::assign(&db, &s1, &[a1], Some(o.adv_c.id), now())
        .await
        .unwrap_err();
    assert!(err.field_message("advisor_id").is_some());
    // One id out of scope: nothing moves.
    assert_eq!(
        clients::assign(&db, &s1, &[a1, c1], Some(o.adv_a.id), now()).await,
        Err(AppError::NotFound)
    );
    assert_eq!(
        clients::get(&db, &s1, a1, clock())
            .await
            .unwrap()
            .advisor_id,
        Some(o.adv_b.id)
    );
    assert!(clients::assign(&db, &s1, &[a1], None, now())
        .await
        .unwrap_err()
        .field_message("advisor_id")
        .is_some());

    // Admins move across teams and may unassign; the team column follows.
    assert_eq!(
        clients::assign(&db, &o.admin, &[c1], Some(o.sup1.id), now()).await,
        Ok(1)
    );
    assert_eq!(
        clients::get(&db, &s1, c1, clock())
            .await
            .unwrap()
            .supervisor_name
            .as_deref(),
        Some("sup1")
    );
    assert_eq!(
        clients::assign(&db, &o.admin, &[c1], None, now()).await,
        Ok(1)
    );
    assert!(clients::get(&db, &s1, c1, clock()).await.is_err());
}

async fn a_new_supervisor_takes_the_advisors_clients_along(db: Db) {
    let o = org(&db).await;
    let id = client(
        &db,
        &o.admin,
        &client_input("7001", "Viaja", "Conmigo", Some(&o.adv_a)),
    )
    .await;
    // Supervisor 1 keeps a client through advisor B, so their view stays their team's.
    client(
        &db,
        &o.admin,
        &client_input("7002", "Se", "Queda", Some(&o.adv_b)),
    )
    .await;
    edit_user(&db, &o.admin, &o.adv_a, |u| {
        u.supervisor_id = Some(o.sup2.id)
    })
    .await
    .unwrap();
    let s2 = viewer(&db, &o.sup2).await;
    assert_eq!(
        clients::get(&db, &s2, id, clock())
            .await
            .unwrap()
            .supervisor_name
            .as_deref(),
        Some("sup2")
    );
    let s1 = viewer(&db, &o.sup1).await;
    assert_eq!(
        clients::get(&db, &s1, id, clock()).await,
        Err(AppError::NotFound)
    );
}

fn reference_order(mut rows: Vec<ClientRow>, sort: ClientSort) -> Vec<i64> {
    rows.sort_by(|a, b| match sort {
        ClientSort::DaysOverdueDesc => (
            a.oldest_unpaid_due_date.is_none(),
            a.oldest_unpaid_due_date,
            a.id,
        )
            .cmp(&(
                b.oldest_unpaid_due_date.is_none(),
                b.oldest_unpaid_due_date,
                b.id,
            )),
        ClientSort::DaysOverdueAsc => (
            a.oldest_unpaid_due_date.is_none(),
            std::cmp::Reverse((a.oldest_unpaid_due_date, a.id)),
        )
            .cmp(&(
                b.oldest_unpaid_due_date.is_none(),
                std::cmp::Reverse((b.oldest_unpaid_due_date, b.id)),
            )),
        ClientSort::AmountDesc => (b.overdue_total_cents, b.id).cmp(&(a.overdue_total_cents, a.id)),
        ClientSort::AmountAsc => (a.overdue_total_cents, a.id).cmp(&(b.overdue_total_cents, b.id)),
    });
    rows.into_iter().map(|r| r.id).collect()
}

async fn keyset_pages_cover_every_client_once_in_order(db: Db) {
    let ids = seed::ensure_demo_users(&db, now()).await.unwrap();
    let holder = |email: &str, role: Role, sup: Option<&str>| Assignee {
        id: ids[email],
        name: email.into(),
        role,
        supervisor_id: sup.map(|s| ids[s]),
        active: true,
    };
    let holders = vec![
        (
            Some(holder(
                "asesor1@demo.recaudo",
                Role::Advisor,
                Some("supervisor1@demo.recaudo"),
            )),
            5,
        ),
        (
            Some(holder(
                "asesor3@demo.recaudo",
                Role::Advisor,
                Some("supervisor2@demo.recaudo"),
            )),
            3,
        ),
        (
            Some(holder("supervisor1@demo.recaudo", Role::Supervisor, None)),
            1,
        ),
    ];
    seed::insert_generated(&db, 700, &holders, clock())
        .await
        .unwrap();
    // Ties on the sort value must still page correctly: give many clients the same amount.
    recaudo::on_db!(&db, p => sqlx::query("UPDATE clients SET overdue_total_cents = 4200 WHERE id % 7 = 0").execute(p).await.map(drop)).unwrap();

    let admin = demo_viewer(&db, "admin@demo.recaudo").await;
    let sup1 = demo_viewer(&db, "supervisor1@demo.recaudo").await;
    let adv3 = demo_viewer(&db, "asesor3@demo.recaudo").await;
    for v in [&admin, &sup1, &adv3] {
        let everything = list_all(&db, v, ClientListQuery::default()).await;
        assert!(
            everything
                .iter()
                .any(|r| r.oldest_unpaid_due_date.is_none()),
            "fixture has clients with nothing owed"
        );
        for sort in ClientSort::ALL {
            let paged = list_all(
                &db,
                v,
                ClientListQuery {
                    sort,
                    ..Default::default()
                },
            )
            .await;
            let ids: Vec<i64> = paged.iter().map(|r| r.id).collect();
            assert_eq!(
                ids,
                reference_order(everything.clone(), sort),
                "{sort:?} for {}",
                v.email
            );
        }
    }
    // A cursor of the wrong kind is refused rather than misread.
    let bad = ClientListQuery {
        sort: ClientSort::AmountAsc,
        after: Some(ClientCursor::Date { date: None, id: 1 }),
        ..Default::default()
    };
    assert!(matches!(
        clients::list(&db, &admin, &bad, today()).await,
        Err(AppError::Invalid(_))
    ));
}

async fn search_finds_by_name_document_phone_and_email_within_scope(db: Db) {
    let o = org(&db).await;
    let mut input = client_input("80.123.456", "José Luis", "Peña-Gómez", Some(&o.adv_a));
    input.contacts.phones = vec!["315 222 3344".into()];
    input.contacts.emails = vec!["JL.Pena@Empresa.co".into()];
    input.related[2].name = "Garante".into();
    input.related[2].contacts.phones = vec!["+52 55 1234 5678".into()];
    client(&db, &o.admin, &input).await;
    client(
        &db,
        &o.admin,
        &client_input("8002", "José", "Otro", Some(&o.adv_c)),
    )
    .await;

    let a = viewer(&db, &o.adv_a).await;
    let find = |v: Viewer, s: &'static str| {
        let db = db.clone();
        async move {
            clients::list(
                &db,
                &v,
                &ClientListQuery {
                    search: s.into(),
                    ..Default::default()
                },
                today(),
            )
            .await
            .unwrap()
            .rows
            .into_iter()
            .map(|r| r.display_name)
            .collect::<Vec<_>>()
        }
    };
    for q in [
        "pena",
        "PEÑA",
        "gomez",
        "jose gom",
        "80123456",
        "80.123",
        "3152223344",
        "+57 315 222 3344",
        "jl.pena@",
        "5512345678",
    ] {
        assert_eq!(
            find(a.clone(), q).await,
            vec!["José Luis Peña-Gómez"],
            "{q}"
        );
    }
    assert!(
        find(a.clone(), "jose otro").await.is_empty(),
        "both words must match"
    );
    assert_eq!(find(o.admin.clone(), "jose").await.len(), 2);
    assert_eq!(
        find(a.clone(), "jose").await.len(),
        1,
        "search stays in scope"
    );
    let err = clients::list(
        &db,
        &a,
        &ClientListQuery {
            search: "j".into(),
            ..Default::default()
        },
        today(),
    )
    .await
    .unwrap_err();
    assert!(err.field_message("search").is_some());
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: i64,
    overdue_total_cents: i64,
    balance_cents: i64,
    unpaid_orders: i64,
    oldest_unpaid_due_date: Option<NaiveDate>,
    next_due_date: Option<NaiveDate>,
}

async fn stored_summaries(db: &Db) -> Vec<(i64, DebtSummary)> {
    let rows: Vec<SummaryRow> = recaudo::on_db!(db, p => sqlx::query_as(
        "SELECT id, overdue_total_cents, balance_cents, unpaid_orders, oldest_unpaid_due_date, next_due_date
         FROM clients ORDER BY id")
        .fetch_all(p).await)
    .unwrap();
    rows.into_iter()
        .map(|r| {
            let summary = DebtSummary {
                overdue_total_cents: r.overdue_total_cents,
                balance_cents: r.balance_cents,
                unpaid_orders: r.unpaid_orders,
                oldest_unpaid_due_date: r.oldest_unpaid_due_date,
                next_due_date: r.next_due_date,
            };
            (r.id, summary)
        })
        .collect()
}

async fn recomputed(db: &Db, id: i64, day: NaiveDate) -> DebtSummary {
    let lines: Vec<(NaiveDate, i64, i64)> = recaudo::on_db!(db, p => sqlx::query_as(
        "SELECT due_date, amount_cents, paid_cents FROM debts WHERE client_id = $1").bind(id).fetch_all(p).await).unwrap();
    DebtSummary::compute(
        lines.into_iter().map(|(d, a, p)| DebtLine {
            due_date: d,
            amount_cents: a,
            paid_cents: p,
        }),
        day,
    )
}

async fn summaries_match_the_debts_after_every_write_and_roll_forward(db: Db) {
    let o = org(&db).await;
    let mut rng = StdRng::seed_from_u64(7);
    let mut ids = Vec::new();
    for i in 0..12 {
        let mut input = client_input(
            &format!("90{i:03}"),
            "Cli",
            &format!("Num{i}"),
            Some(&o.adv_a),
        );
        input.debts = (0..rng.gen_range(0..4))
            .map(|k| {
                let due = today() + Duration::days(rng.gen_range(-60..30));
                debt(
                    &format!("D{k}"),
                    &due.to_string(),
                    &rng.gen_range(1..5000).to_string(),
                    "",
                )
            })
            .collect();
        ids.push(client(&db, &o.admin, &input).await);
    }
    for step in 0..40 {
        let id = ids[rng.gen_range(0..ids.len())];
        let mut edit = clients::get(&db, &o.admin, id, clock())
            .await
            .unwrap()
            .to_input();
        match rng.gen_range(0..3) {
            0 if !edit.debts.is_empty() => {
                let k = rng.gen_range(0..edit.debts.len());
                let amount = recaudo::domain::money::parse_amount(&edit.debts[k].amount).unwrap();
                edit.debts[k].paid =
                    recaudo::domain::money::cents_to_input(rng.gen_range(0..=amount));
            }
            1 if !edit.debts.is_empty() => {
                let k = rng.gen_range(0..edit.debts.len());
                edit.debts.remove(k);
            }
            _ => {
                let due = today() + Duration::days(rng.gen_range(-90..20));
                edit.debts.push(debt(
                    &format!("N{step}"),
                    &due.to_string(),
                    &rng.gen_range(1..9000).to_string(),
                    "",
                ));
            }
        }
        clients::update(&db, &o.admin, id, valid(&edit), clock())
            .await
            .unwrap();
        for (cid, stored) in stored_summaries(&db).await {
            assert_eq!(
                stored,
                recomputed(&db, cid, today()).await,
                "client {cid} after step {step}"
            );
        }
    }
    // Days pass: the roll-forward brings every summary up to the new date.
    for days in [1, 5, 40] {
        let later = today() + Duration::days(days);
        clients::roll_forward(&db, later).await.unwrap();
        for (cid, stored) in stored_summaries(&db).await {
            assert_eq!(
                stored,
                recomputed(&db, cid, later).await,
                "client {cid} at +{days} days"
            );
        }
        assert_eq!(
            clients::roll_forward(&db, later).await.unwrap(),
            0,
            "roll-forward is idempotent"
        );
    }
}

async fn seeding_twice_keeps_one_portfolio(db: Db) {
    let first = seed::seed(&db, 40, clock()).await.unwrap();
    assert_eq!((first.users, first.clients_created), (7, 40));
    let again = seed::seed(&db, 40, clock()).await.unwrap();
    assert_eq!((again.clients_created, again.clients_existing), (0, 40));
    assert!(seed::demo_users_exist(&db).await.unwrap());
    let a1 = users::find_by_email(&db, "asesor1@demo.recaudo")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a1.supervisor_name.as_deref(), Some("Laura Castillo"));
    let v = viewer(&db, &a1).await;
    let rows = list_all(&db, &v, Default::default()).await;
    assert!(
        !rows.is_empty()
            && rows
                .iter()
                .all(|r| r.advisor_name.as_deref() == Some("Camila Rojas"))
    );
}

async fn both_search_plans_give_the_same_pages(db: Db) {
    seed::seed(&db, 400, clock()).await.unwrap();
    let admin = demo_viewer(&db, "admin@demo.recaudo").await;
    let advisor = demo_viewer(&db, "asesor2@demo.recaudo").await;
    let pages = |v: Viewer, q: ClientListQuery, limit: i64| {
        let db = db.clone();
        async move {
            let mut all = Vec::new();
            let mut q = q;
            loop {
                let page = clients::list_planned(&db, &v, &q, today(), limit)
                    .await
                    .unwrap();
                all.extend(page.rows.into_iter().map(|r| r.id));
                match page.next {
                    Some(c) => q.after = Some(c),
                    None => return all,
                }
            }
        }
    };
    let mut checked = 0;
    for text in [
        "ma",
        "gonz",
        "ro",
        "maria ro",
        "jose luis",
        "300",
        "gmail",
        "zzz",
        "co 5",
    ] {
        for sort in ClientSort::ALL {
            for v in [&admin, &advisor] {
                let q = ClientListQuery {
                    search: text.into(),
                    sort,
                    ..Default::default()
                };
                let by_candidates = pages(v.clone(), q.clone(), 1_000_000).await;
                let by_probe = pages(v.clone(), q, 0).await;
                assert_eq!(by_candidates, by_probe, "{text:?} {sort:?} as {}", v.email);
                checked += by_candidates.len();
            }
        }
    }
    assert!(
        checked > 500,
        "the queries found clients to compare ({checked})"
    );
}

on_both_engines!(
    both_search_plans_give_the_same_pages,
    visibility_follows_role_and_team,
    another_advisors_client_is_not_found_and_audited,
    a_client_round_trips_and_rejects_a_taken_document,
    an_edit_replaces_exactly_and_keeps_contact_ids,
    advisors_cannot_take_or_give_away_clients,
    assignment_stays_within_the_team_and_is_all_or_nothing,
    a_new_supervisor_takes_the_advisors_clients_along,
    keyset_pages_cover_every_client_once_in_order,
    search_finds_by_name_document_phone_and_email_within_scope,
    summaries_match_the_debts_after_every_write_and_roll_forward,
    seeding_twice_keeps_one_portfolio,
);
