//! The two migration trees describe one schema: every table, column (with its
//! nullability and the kind of value it stores) and index exists on both engines, so
//! the SQL written once for both cannot meet a column one of them lacks.

use std::collections::BTreeMap;

use crate::common::TestDb;
use recaudo::on_db;
use recaudo::server::db::Db;

/// A column as both engines can be compared: its name, whether it takes NULL, and the
/// kind of value it holds (PostgreSQL's type as SQLite stores it: timestamps and dates
/// are text there).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Column {
    name: String,
    nullable: bool,
    kind: &'static str,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Schema {
    tables: BTreeMap<String, Vec<Column>>,
    /// Index name → table, for the indexes the migrations create by name (not the ones
    /// an engine makes for a primary key or a UNIQUE constraint).
    indexes: BTreeMap<String, String>,
}

fn sqlite_kind(declared: &str) -> &'static str {
    match declared.to_ascii_uppercase().as_str() {
        "INTEGER" | "BIGINT" | "INT" => "integer",
        "TEXT" => "text",
        "BOOLEAN" => "boolean",
        "REAL" | "DOUBLE" => "real",
        "BLOB" => "bytes",
        _ => "unknown",
    }
}

fn postgres_kind(data_type: &str) -> &'static str {
    match data_type {
        "bigint" | "integer" | "smallint" => "integer",
        "text" | "character varying" | "timestamp with time zone" | "date" => "text",
        "boolean" => "boolean",
        "double precision" | "real" => "real",
        "bytea" => "bytes",
        _ => "unknown",
    }
}

const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

async fn sqlite_schema(db: &Db) -> Schema {
    let mut schema = Schema::default();
    let tables: Vec<(String,)> = on_db!(db, p => sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> $1")
        .bind(MIGRATIONS_TABLE).fetch_all(p).await)
    .unwrap();
    for (table,) in tables {
        let columns: Vec<(String, String, bool, i64)> = on_db!(db, p => sqlx::query_as(
            "SELECT name, type, \"notnull\", pk FROM pragma_table_info($1)")
            .bind(&table).fetch_all(p).await)
        .unwrap();
        let mut columns: Vec<Column> = columns
            .into_iter()
            .map(|(name, declared, not_null, pk)| Column {
                name,
                // A primary key column never holds NULL, whatever the pragma says of
                // SQLite's rowid aliases.
                nullable: !not_null && pk == 0,
                kind: sqlite_kind(&declared),
            })
            .collect();
        columns.sort();
        schema.tables.insert(table, columns);
    }
    let indexes: Vec<(String, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        .fetch_all(p).await)
    .unwrap();
    schema.indexes = indexes.into_iter().collect();
    schema
}

async fn postgres_schema(db: &Db) -> Schema {
    let mut schema = Schema::default();
    let columns: Vec<(String, String, String, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT table_name::text, column_name::text, is_nullable::text, data_type::text
         FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name <> $1")
        .bind(MIGRATIONS_TABLE).fetch_all(p).await)
    .unwrap();
    for (table, name, nullable, data_type) in columns {
        schema.tables.entry(table).or_default().push(Column {
            name,
            nullable: nullable == "YES",
            kind: postgres_kind(&data_type),
        });
    }
    for columns in schema.tables.values_mut() {
        columns.sort();
    }
    let indexes: Vec<(String, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT i.relname::text, t.relname::text FROM pg_index x
         JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_class t ON t.oid = x.indrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE n.nspname = current_schema()
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)")
        .fetch_all(p).await)
    .unwrap();
    schema.indexes = indexes.into_iter().collect();
    schema
}

/// Every difference between the two, one per line.
fn differences(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    let names = sqlite.tables.keys().chain(postgres.tables.keys());
    let tables: std::collections::BTreeSet<&String> = names.collect();
    for table in tables {
        match (sqlite.tables.get(table), postgres.tables.get(table)) {
            (Some(s), Some(p)) => {
                for c in s.iter().filter(|c| !p.contains(c)) {
                    out.push(format!("{table}.{}: SQLite has {c:?}", c.name));
                }
                for c in p.iter().filter(|c| !s.contains(c)) {
                    out.push(format!("{table}.{}: PostgreSQL has {c:?}", c.name));
                }
            }
            (Some(_), None) => out.push(format!("table {table}: only on SQLite")),
            (None, Some(_)) => out.push(format!("table {table}: only on PostgreSQL")),
            (None, None) => {}
        }
    }
    for (index, table) in &sqlite.indexes {
        if postgres.indexes.get(index) != Some(table) {
            out.push(format!("index {index} on {table}: only on SQLite"));
        }
    }
    for (index, table) in &postgres.indexes {
        if sqlite.indexes.get(index) != Some(table) {
            out.push(format!("index {index} on {table}: only on PostgreSQL"));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_engines_migrate_to_the_same_schema() {
    let Some(pg) = TestDb::postgres().await else {
        return;
    };
    let sqlite = TestDb::sqlite().await;
    let (s, p) = (
        sqlite_schema(&sqlite.db).await,
        postgres_schema(&pg.db).await,
    );
    assert!(
        s.tables.len() > 30,
        "SQLite's tables were read: {:?}",
        s.tables.keys()
    );
    assert!(
        p.indexes.len() > 50,
        "PostgreSQL's indexes were read: {}",
        p.indexes.len()
    );
    let unknown: Vec<String> = s
        .tables
        .iter()
        .chain(&p.tables)
        .flat_map(|(t, cols)| cols.iter().map(move |c| (t, c)))
        .filter(|(_, c)| c.kind == "unknown")
        .map(|(t, c)| format!("{t}.{}", c.name))
        .collect();
    assert!(
        unknown.is_empty(),
        "columns of a type the test does not know: {unknown:?}"
    );
    let found = differences(&s, &p);
    assert!(
        found.is_empty(),
        "the migration trees differ:\n{}",
        found.join("\n")
    );
}

#[test]
fn a_column_on_one_engine_only_is_a_difference() {
    let column = |name: &str, nullable, kind| Column {
        name: name.into(),
        nullable,
        kind,
    };
    let mut sqlite = Schema::default();
    sqlite.tables.insert(
        "clients".into(),
        vec![
            column("id", false, "integer"),
            column("nickname", true, "text"),
        ],
    );
    let mut postgres = Schema::default();
    postgres
        .tables
        .insert("clients".into(), vec![column("id", false, "integer")]);
    assert_eq!(
        differences(&sqlite, &postgres),
        [
            r#"clients.nickname: SQLite has Column { name: "nickname", nullable: true, kind: "text" }"#
        ]
    );
    postgres.tables.insert(
        "clients".into(),
        vec![
            column("id", false, "integer"),
            column("nickname", false, "text"),
        ],
    );
    assert_eq!(
        differences(&sqlite, &postgres).len(),
        2,
        "nullability differs"
    );
}
