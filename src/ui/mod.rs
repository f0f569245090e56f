//! Components and pages.

pub mod alerts;
pub mod automation;
pub mod channels;
pub mod clients;
pub mod components;
pub mod conversations;
pub mod login;
pub mod payments;
pub mod portal;
pub mod reports;
pub mod templates;
pub mod users;
