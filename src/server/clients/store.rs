//! Writing a validated client: new ones in multi-row statements, existing ones
//! rewritten exactly, with their summary columns and search terms in the same
//! transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;

use crate::domain::alerts::{contactability, AlertKey};
use crate::domain::client::{PartyRole, ValidClient};
use crate::domain::contact::{join_withheld, ContactKind};
use crate::on_tx;
use crate::server::alerts;
use crate::server::clock::Clock;
use crate::server::db::Tx;

/// Binds per statement stay under SQLite's limit (32766) and PostgreSQL's (65535).
pub(super) const MAX_BINDS: usize = 30_000;

pub struct NewClient<'a> {
    pub client: &'a ValidClient,
    pub advisor_id: Option<i64>,
    pub supervisor_id: Option<i64>,
}

/// Inserts clients that do not exist yet, with their parties, contact points, debts,
/// search terms and summary, in multi-row statements. Returns their ids in order.
pub async fn insert_new(
    tx: &mut Tx,
    items: &[NewClient<'_>],
    clock: Clock,
) -> Result<Vec<i64>, sqlx::Error> {
    let (today, now) = (clock.today, clock.now);
    const CLIENT_COLS: usize = 20;
    let mut ids_by_doc: HashMap<String, i64> = HashMap::with_capacity(items.len());
    for chunk in items.chunks(MAX_BINDS / CLIENT_COLS) {
        let returned: Vec<(i64, String)> = on_tx!(tx, c => {
            let mut qb = QueryBuilder::new(
                "INSERT INTO clients (kind, document_number, first_name, last_name, business_name, display_name,
                    advisor_id, supervisor_id, segment, country, time_zone, currency, overdue_total_cents,
                    balance_cents, unpaid_orders, oldest_unpaid_due_date, next_due_date, created_at, updated_at,
                    alert_key) ");
            qb.push_values(chunk, |mut b, item| {
                let v = item.client;
                let s = v.summary(today);
                b.push_bind(v.kind.as_str()).push_bind(v.document_number.as_str()).push_bind(v.first_name.as_str())
                    .push_bind(v.last_name.as_str()).push_bind(v.business_name.as_str()).push_bind(v.display_name.as_str())
                    .push_bind(item.advisor_id).push_bind(item.supervisor_id).push_bind(v.segment.as_str())
                    .push_bind(v.country.as_str()).push_bind(v.time_zone.as_str()).push_bind(v.currency.as_str())
                    .push_bind(s.overdue_total_cents).push_bind(s.balance_cents).push_bind(s.unpaid_orders)
                    .push_bind(s.oldest_unpaid_due_date).push_bind(s.next_due_date).push_bind(now).push_bind(now)
                    .push_bind(new_client_key(v).0);
            });
            qb.push(" RETURNING id, document_number");
            qb.build_query_as::<(i64, String)>().fetch_all(&mut *c).await?
        });
        ids_by_doc.extend(returned.into_iter().map(|(id, doc)| (doc, id)));
    }
    let ids: Vec<i64> = items
        .iter()
        .map(|i| ids_by_doc[&i.client.document_number])
        .collect();
    let pairs: Vec<(i64, &ValidClient)> = ids
        .iter()
        .copied()
        .zip(items.iter().map(|i| i.client))
        .collect();
    write_children(tx, &pairs, now).await?;
    Ok(ids)
}

/// A new client has no alerts and was never reached: "Nuevo", or "No contactable"
/// without a single contact point.
fn new_client_key(v: &ValidClient) -> AlertKey {
    let points = v.parties.iter().map(|p| p.contacts.len()).sum();
    AlertKey::new(0, contactability(points, 0, false))
}

/// Parties, contact points, debts and search terms of freshly written (or emptied) clients.
async fn write_children(
    tx: &mut Tx,
    clients: &[(i64, &ValidClient)],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let parties: Vec<(i64, &crate::domain::client::ValidParty)> = clients
        .iter()
        .flat_map(|(id, v)| v.parties.iter().map(move |p| (*id, p)))
        .collect();
    let mut party_ids: HashMap<(i64, &'static str, i32), i64> =
        HashMap::with_capacity(parties.len());
    for chunk in parties.chunks(MAX_BINDS / 5) {
        let returned: Vec<(i64, i64, String, i32)> = on_tx!(tx, c => {
            let mut qb = QueryBuilder::new("INSERT INTO parties (client_id, role, ordinal, name, relationship) ");
            qb.push_values(chunk, |mut b, (client_id, p)| {
                b.push_bind(*client_id).push_bind(p.role.as_str()).push_bind(p.ordinal)
                    .push_bind(p.name.as_str()).push_bind(p.relationship.as_str());
            });
            qb.push(" RETURNING id, client_id, role, ordinal");
            qb.build_query_as::<(i64, i64, String, i32)>().fetch_all(&mut *c).await?
        });
        for (id, client_id, role, ordinal) in returned {
            let role = PartyRole::try_from(role).map_err(|e| sqlx::Error::Decode(e.into()))?;
            party_ids.insert((client_id, role.as_str(), ordinal), id);
        }
    }
    let contacts: Vec<NewPoint> = parties
        .iter()
        .flat_map(|(client_id, p)| {
            let party_id = party_ids[&(*client_id, p.role.as_str(), p.ordinal)];
            p.contacts.iter().map(move |(k, v)| NewPoint {
                party_id,
                client_id: *client_id,
                kind: *k,
                value: v.as_str(),
                withheld: join_withheld(&p.withheld_on(*k, v)),
            })
        })
        .collect();
    insert_contacts(tx, &contacts, now).await?;

    let debts: Vec<(i64, &crate::domain::client::ValidDebt)> = clients
        .iter()
        .flat_map(|(id, v)| v.debts.iter().map(move |d| (*id, d)))
        .collect();
    for chunk in debts.chunks(MAX_BINDS / 10) {
        on_tx!(tx, c => {
            let mut qb = QueryBuilder::new(
                "INSERT INTO debts (client_id, number, product, issue_date, due_date, amount_cents, paid_cents, currency, created_at, updated_at) ");
            qb.push_values(chunk, |mut b, (client_id, d)| {
                b.push_bind(*client_id).push_bind(d.number.as_str()).push_bind(d.product.as_str())
                    .push_bind(d.issue_date).push_bind(d.due_date).push_bind(d.amount_cents)
                    .push_bind(d.paid_cents).push_bind(d.currency.as_str()).push_bind(now).push_bind(now);
            });
            qb.build().execute(&mut *c).await.map(|r| r.rows_affected())?;
        });
    }

    let terms: Vec<(String, i64)> = clients
        .iter()
        .flat_map(|(id, v)| v.search_terms().into_iter().map(move |t| (t, *id)))
        .collect();
    for chunk in terms.chunks(MAX_BINDS / 2) {
        on_tx!(tx, c => {
            let mut qb = QueryBuilder::new("INSERT INTO client_search_terms (term, client_id) ");
            qb.push_values(chunk, |mut b, (term, client_id)| {
                b.push_bind(term.as_str()).push_bind(*client_id);
            });
            qb.build().execute(&mut *c).await.map(|r| r.rows_affected())?;
        });
    }
    Ok(())
}

/// A contact point to insert.
struct NewPoint<'a> {
    party_id: i64,
    client_id: i64,
    kind: ContactKind,
    value: &'a str,
    withheld: String,
}

async fn insert_contacts(
    tx: &mut Tx,
    contacts: &[NewPoint<'_>],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for chunk in contacts.chunks(MAX_BINDS / 6) {
        on_tx!(tx, c => {
            let mut qb = QueryBuilder::new("INSERT INTO contact_points (party_id, client_id, kind, value, withheld, created_at) ");
            qb.push_values(chunk, |mut b, p| {
                b.push_bind(p.party_id).push_bind(p.client_id).push_bind(p.kind.as_str())
                    .push_bind(p.value).push_bind(p.withheld.as_str()).push_bind(now);
            });
            qb.build().execute(&mut *c).await.map(|r| r.rows_affected())?;
        });
    }
    Ok(())
}

/// The assignment a rewrite gives the client, and who rewrites it.
pub struct Rewrite {
    pub advisor_id: Option<i64>,
    pub supervisor_id: Option<i64>,
    pub by: Option<i64>,
}

/// Rewrites an existing client to exactly `v`. Contact points that stay keep their ids
/// (alerts hang on them); a flagged point edited away is recorded as replaced, which
/// lifts its flag. Parties keep their ids by slot.
pub async fn replace_existing(
    tx: &mut Tx,
    id: i64,
    v: &ValidClient,
    rewrite: Rewrite,
    clock: Clock,
) -> Result<(), sqlx::Error> {
    let (today, now) = (clock.today, clock.now);
    let Rewrite {
        advisor_id,
        supervisor_id,
        by,
    } = rewrite;
    let s = v.summary(today);
    on_tx!(tx, c => sqlx::query(
        "UPDATE clients SET kind = $2, document_number = $3, first_name = $4, last_name = $5, business_name = $6,
             display_name = $7, advisor_id = $8, supervisor_id = $9, segment = $10, country = $11, time_zone = $12,
             currency = $13, overdue_total_cents = $14, balance_cents = $15, unpaid_orders = $16,
             oldest_unpaid_due_date = $17, next_due_date = $18, updated_at = $19
         WHERE id = $1")
        .bind(id).bind(v.kind.as_str()).bind(&v.document_number).bind(&v.first_name).bind(&v.last_name)
        .bind(&v.business_name).bind(&v.display_name).bind(advisor_id).bind(supervisor_id).bind(&v.segment)
        .bind(&v.country).bind(&v.time_zone).bind(&v.currency).bind(s.overdue_total_cents).bind(s.balance_cents)
        .bind(s.unpaid_orders).bind(s.oldest_unpaid_due_date).bind(s.next_due_date).bind(now)
        .execute(&mut *c).await.map(|r| r.rows_affected())?);

    // Parties by slot.
    let existing: Vec<(i64, String, i32)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT id, role, ordinal FROM parties WHERE client_id = $1").bind(id).fetch_all(&mut *c).await?);
    let mut slot_ids: HashMap<(String, i32), i64> = HashMap::new();
    for (party_id, role, ordinal) in existing {
        let kept = v
            .parties
            .iter()
            .any(|p| p.role.as_str() == role && p.ordinal == ordinal);
        if kept {
            slot_ids.insert((role, ordinal), party_id);
        } else {
            on_tx!(tx, c => sqlx::query("DELETE FROM parties WHERE id = $1").bind(party_id).execute(&mut *c).await.map(|r| r.rows_affected())?);
        }
    }
    for p in &v.parties {
        let key = (p.role.as_str().to_string(), p.ordinal);
        match slot_ids.get(&key) {
            Some(party_id) => {
                on_tx!(tx, c => sqlx::query("UPDATE parties SET name = $2, relationship = $3 WHERE id = $1")
                    .bind(party_id).bind(&p.name).bind(&p.relationship).execute(&mut *c).await.map(|r| r.rows_affected())?);
            }
            None => {
                let (party_id,): (i64,) = on_tx!(tx, c => sqlx::query_as(
                    "INSERT INTO parties (client_id, role, ordinal, name, relationship) VALUES ($1, $2, $3, $4, $5) RETURNING id")
                    .bind(id).bind(p.role.as_str()).bind(p.ordinal).bind(&p.name).bind(&p.relationship)
                    .fetch_one(&mut *c).await?);
                slot_ids.insert(key, party_id);
            }
        }
    }

    // Contact points: delete the removed ones, add the new ones, and record on the kept
    // ones the channels now withheld.
    let stored: Vec<(i64, i64, String, String, String)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT id, party_id, kind, value, withheld FROM contact_points WHERE client_id = $1").bind(id).fetch_all(&mut *c).await?);
    let wanted: Vec<(i64, ContactKind, &str, String)> = v
        .parties
        .iter()
        .flat_map(|p| {
            let party_id = slot_ids[&(p.role.as_str().to_string(), p.ordinal)];
            p.contacts.iter().map(move |(k, val)| {
                (
                    party_id,
                    *k,
                    val.as_str(),
                    join_withheld(&p.withheld_on(*k, val)),
                )
            })
        })
        .collect();
    let removed: Vec<i64> = stored
        .iter()
        .filter(|(_, party_id, kind, value, _)| {
            !wanted
                .iter()
                .any(|(p, k, val, _)| p == party_id && k.as_str() == kind && val == value)
        })
        .map(|(cp_id, ..)| *cp_id)
        .collect();
    alerts::replacing(tx, id, &removed, by, now).await?;
    for cp_id in &removed {
        on_tx!(tx, c => sqlx::query("DELETE FROM contact_points WHERE id = $1").bind(cp_id).execute(&mut *c).await.map(|r| r.rows_affected())?);
    }
    let mut added: Vec<NewPoint> = Vec::new();
    for (p, k, val, withheld) in &wanted {
        let kept = stored
            .iter()
            .find(|(_, sp, sk, sv, _)| sp == p && sk == k.as_str() && sv == val);
        match kept {
            Some((cp_id, .., was)) if was != withheld => {
                on_tx!(tx, c => sqlx::query("UPDATE contact_points SET withheld = $2 WHERE id = $1")
                    .bind(cp_id).bind(withheld).execute(&mut *c).await.map(|r| r.rows_affected())?);
            }
            Some(_) => {}
            None => added.push(NewPoint {
                party_id: *p,
                client_id: id,
                kind: *k,
                value: val,
                withheld: withheld.clone(),
            }),
        }
    }
    insert_contacts(tx, &added, now).await?;

    // Debts by order number.
    for d in &v.debts {
        on_tx!(tx, c => sqlx::query(
            "INSERT INTO debts (client_id, number, product, issue_date, due_date, amount_cents, paid_cents, currency, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
             ON CONFLICT (client_id, number) DO UPDATE SET product = excluded.product, issue_date = excluded.issue_date,
                 due_date = excluded.due_date, amount_cents = excluded.amount_cents, paid_cents = excluded.paid_cents,
                 currency = excluded.currency, updated_at = excluded.updated_at")
            .bind(id).bind(&d.number).bind(&d.product).bind(d.issue_date).bind(d.due_date)
            .bind(d.amount_cents).bind(d.paid_cents).bind(&d.currency).bind(now)
            .execute(&mut *c).await.map(|r| r.rows_affected())?);
    }
    on_tx!(tx, c => {
        let mut qb = QueryBuilder::new("DELETE FROM debts WHERE client_id = ");
        qb.push_bind(id);
        if !v.debts.is_empty() {
            qb.push(" AND number NOT IN (");
            let mut list = qb.separated(", ");
            for d in &v.debts {
                list.push_bind(d.number.as_str());
            }
            qb.push(")");
        }
        qb.build().execute(&mut *c).await.map(|r| r.rows_affected())?
    });

    on_tx!(tx, c => sqlx::query("DELETE FROM client_search_terms WHERE client_id = $1").bind(id).execute(&mut *c).await.map(|r| r.rows_affected())?);
    let terms = v.search_terms();
    if !terms.is_empty() {
        on_tx!(tx, c => {
            let mut qb = QueryBuilder::new("INSERT INTO client_search_terms (term, client_id) ");
            qb.push_values(&terms, |mut b, t| {
                b.push_bind(t.as_str()).push_bind(id);
            });
            qb.build().execute(&mut *c).await.map(|r| r.rows_affected())?
        });
    }
    // The indicator counts the points left.
    alerts::refresh(tx, id, now).await
}
