//! Shared types and pure rules, compiled for the server and the browser.

#[macro_use]
mod text_enum;

pub mod alerts;
pub mod automation;
pub mod calls;
pub mod channels;
pub mod client;
pub mod compose;
pub mod contact;
pub mod conversation;
pub mod debt;
pub mod downloads;
pub mod error;
pub mod geo;
pub mod governance;
pub mod import;
pub mod indicators;
pub mod interactions;
pub mod listing;
pub mod message;
pub mod money;
pub mod outcome;
pub mod portal;
pub mod presence;
pub mod recent;
pub mod report_params;
pub mod search;
pub mod segments;
pub mod templates;
pub mod url;
pub mod user;
