//! Components and pages.

pub mod clients;
pub mod components;
pub mod conversations;
pub mod login;
pub mod payments;
pub mod users;
