//! Portfolio import against a real database, on SQLite and PostgreSQL.

use crate::common::*;
use recaudo::domain::client::DEFAULT_MAX_DEBTS;
use recaudo::domain::error::AppError;
use recaudo::domain::listing::ClientListQuery;
use recaudo::domain::user::Role;
use recaudo::server::db::Db;
use recaudo::server::{clients, import, seed};

/// The template offered for download on the import page.
const TEMPLATE: &str = include_str!("../../public/plantilla-cartera.csv");

async fn count(db: &Db, table: &str) -> i64 {
    let (n,): (i64,) = recaudo::on_db!(db, p => sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(p).await).unwrap();
    n
}

async fn the_template_imports_and_reimports_without_duplicates(db: Db) {
    seed::ensure_demo_users(&db, now()).await.unwrap();
    let admin_user = recaudo::server::users::find_by_email(&db, "admin@demo.recaudo")
        .await
        .unwrap()
        .unwrap();
    let admin = viewer(&db, &admin_user).await;

    let first = import::import_csv(&db, &admin, TEMPLATE, DEFAULT_MAX_DEBTS, clock())
        .await
        .unwrap();
    assert_eq!(
        (first.rows, first.created, first.updated, first.debts),
        (3, 2, 0, 3)
    );
    let tables = [
        "clients",
        "parties",
        "contact_points",
        "debts",
        "client_search_terms",
    ];
    let mut counts = Vec::new();
    for t in tables {
        counts.push(count(&db, t).await);
    }

    let again = import::import_csv(&db, &admin, TEMPLATE, DEFAULT_MAX_DEBTS, clock())
        .await
        .unwrap();
    assert_eq!((again.created, again.updated), (0, 2));
    for (t, before) in tables.iter().zip(&counts) {
        assert_eq!(
            count(&db, t).await,
            *before,
            "re-import changed the number of {t}"
        );
    }

    let rows = clients::list(
        &db,
        &admin,
        &ClientListQuery {
            search: "1020304050".into(),
            ..Default::default()
        },
        today(),
    )
    .await
    .unwrap()
    .rows;
    let ana = clients::get(&db, &admin, rows[0].id, clock())
        .await
        .unwrap();
    assert_eq!(ana.display_name, "Ana María Ríos Pérez");
    assert_eq!(ana.advisor_name.as_deref(), Some("Camila Rojas"));
    assert_eq!(ana.supervisor_name.as_deref(), Some("Laura Castillo"));
    assert_eq!(ana.debts.len(), 2);
    assert_eq!(ana.summary.overdue_total_cents, 125_000_000 + 88_000_000);
    assert_eq!(
        ana.parties[0].contacts.len(),
        4,
        "two phones, an e-mail and a WhatsApp"
    );

    // A later file updates a debt and adds a phone; what it leaves empty is kept.
    let update = "Documento;Nombres;Apellidos;País;Teléfono;Número de orden;Fecha de emisión;Fecha de vencimiento;Monto;Monto pagado;Moneda\n\
                  1020304050;Ana María;Ríos Pérez;CO;311 000 1111;F-1001;2026-08-01;2026-09-01;1.250.000;1.250.000;COP";
    let third = import::import_csv(&db, &admin, update, DEFAULT_MAX_DEBTS, clock())
        .await
        .unwrap();
    assert_eq!((third.created, third.updated), (0, 1));
    let ana = clients::get(&db, &admin, ana.id, clock()).await.unwrap();
    assert_eq!(ana.advisor_name.as_deref(), Some("Camila Rojas"));
    assert_eq!(ana.segment, "Tarjetas de crédito");
    assert_eq!(ana.debts.len(), 2);
    assert_eq!(ana.summary.overdue_total_cents, 88_000_000);
    assert_eq!(ana.parties[0].contacts.len(), 5);
}

async fn an_invalid_file_lists_its_errors_and_imports_nothing(db: Db) {
    let admin = viewer(&db, &user(&db, "admin@x.co", Role::Admin, None).await).await;
    let bad = "Documento;Nombres;Apellidos;País;Asesor ID;Número de orden;Fecha de emisión;Fecha de vencimiento;Monto;Moneda\n\
               11111111;Ana;Uno;CO;;F-1;2026-01-01;2026-02-01;100;COP\n\
               22222222;Beto;Dos;CO;nadie@x.co;F-1;2026-01-01;2026-13-01;diez;COP\n\
               33333333;;Tres;ZZ;;F-1;2026-01-01;2026-02-01;100;COP";
    let err = import::import_csv(&db, &admin, bad, DEFAULT_MAX_DEBTS, clock())
        .await
        .unwrap_err();
    let AppError::InvalidFile(errors, total) = err else {
        panic!("expected file errors, got {err:?}")
    };
    assert_eq!(total, errors.len());
    let at = |row: usize, column: &str| errors.iter().any(|e| e.row == row && e.column == column);
    assert!(
        at(3, "Asesor ID") && at(3, "Fecha de vencimiento") && at(3, "Monto"),
        "{errors:?}"
    );
    assert!(at(4, "Nombres") && at(4, "País"), "{errors:?}");
    assert!(
        !errors.iter().any(|e| e.row == 2),
        "the valid row has no error"
    );
    assert_eq!(
        count(&db, "clients").await,
        0,
        "nothing was imported, not even the valid row"
    );
}

async fn only_admins_import(db: Db) {
    let sup = viewer(&db, &user(&db, "sup@x.co", Role::Supervisor, None).await).await;
    assert_eq!(
        import::import_csv(&db, &sup, TEMPLATE, DEFAULT_MAX_DEBTS, clock()).await,
        Err(AppError::Forbidden)
    );
}

on_both_engines!(
    the_template_imports_and_reimports_without_duplicates,
    an_invalid_file_lists_its_errors_and_imports_nothing,
    only_admins_import,
);
