//! The integration tests, one binary: a change relinks this once instead of once per
//! file. Each module runs its tests on SQLite and, when `TEST_DATABASE_URL` is set, on
//! PostgreSQL (see `common`).
#![cfg(feature = "ssr")]

#[macro_use]
mod common;

mod alerts;
mod automation;
mod backup;
mod calls;
mod clients;
mod compose;
mod conversations;
mod email;
mod events;
mod governance;
mod http;
mod import;
mod notify;
mod outbox;
mod portal;
mod presence;
mod processes;
mod recent;
mod reports;
mod schema;
mod scope;
mod segments;
mod serve;
mod sms;
mod users_auth;
mod voice;
mod whatsapp;
