//! Components and pages.

pub mod alerts;
pub mod automation;
pub mod channels;
pub mod clients;
pub mod components;
pub mod conversations;
pub mod live;
pub mod login;
pub mod payments;
pub mod policies;
pub mod portal;
pub mod reports;
pub mod templates;
pub mod users;

use leptos::prelude::expect_context;

use crate::api::auth::SessionInfo;

/// The signed-in user, for pages under the signed-in layout (which provides it).
pub fn use_session() -> SessionInfo {
    expect_context::<SessionInfo>()
}
