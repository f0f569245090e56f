//! Who may read which client: the viewer's scope as a condition on a clients query,
//! and the one answer for a client out of scope (`NotFound`, audited when it exists).

use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::domain::error::AppError;
use crate::domain::user::{Scope, Viewer};
use crate::on_db;
use crate::server::audit;
use crate::server::db::Db;

/// Adds the scope's condition on `c` (the clients table's alias).
pub(crate) fn push_scope<'a, DB: Database>(qb: &mut QueryBuilder<'a, DB>, scope: Scope)
where
    i64: Encode<'a, DB> + Type<DB>,
{
    match scope {
        Scope::All => {}
        Scope::Advisor(id) => {
            qb.push(" AND c.advisor_id = ").push_bind(id);
        }
        Scope::Supervisor(id) => {
            qb.push(" AND c.supervisor_id = ").push_bind(id);
        }
    }
}

/// Succeeds when the viewer may read the client; otherwise [`not_found`].
pub async fn ensure_visible(
    db: &Db,
    viewer: &Viewer,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let found: Option<(i64,)> = on_db!(db, p => {
        let mut qb = QueryBuilder::new("SELECT c.id FROM clients c WHERE c.id = ");
        qb.push_bind(id);
        push_scope(&mut qb, viewer.read_scope());
        qb.build_query_as::<(i64,)>().fetch_optional(p).await
    })?;
    match found {
        Some(_) => Ok(()),
        None => Err(not_found(db, viewer, id, now).await),
    }
}

/// The answer for a client the viewer may not read: `NotFound` whether it exists or
/// not, and the attempt audited when it does.
pub async fn not_found(db: &Db, viewer: &Viewer, id: i64, now: DateTime<Utc>) -> AppError {
    if viewer.read_scope() == Scope::All {
        return AppError::NotFound;
    }
    let exists: Result<Option<(i64,)>, sqlx::Error> = on_db!(db, p => sqlx::query_as(
        "SELECT id FROM clients WHERE id = $1").bind(id).fetch_optional(p).await);
    match exists {
        Ok(Some(_)) => {
            match audit::denied(db, viewer.user_id, &format!("client:{id}"), now).await {
                Ok(()) => AppError::NotFound,
                Err(e) => e,
            }
        }
        Ok(None) => AppError::NotFound,
        Err(e) => e.into(),
    }
}
