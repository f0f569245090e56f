//! Components and pages.

pub mod clients;
pub mod components;
pub mod login;
pub mod users;
