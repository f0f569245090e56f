//! "Llamar" through the organisation's telephony provider: the call is recorded in the
//! party's conversation, then the provider rings the advisor's phone and bridges the
//! debtor. Its outcome arrives later through the voice callbacks.

use chrono::{DateTime, Utc};

use crate::domain::channels::ProviderKind;
use crate::domain::client::PartyRole;
use crate::domain::error::AppError;
use crate::domain::governance::{describe, Decision, Verdict};
use crate::domain::message::{Channel, Origin};
use crate::domain::user::Viewer;
use crate::on_db;
use crate::server::channels::{load, voice, ChannelSetting};
use crate::server::clock::Clock;
use crate::server::db::Db;
use crate::server::messages::preflight::{self, Asker, Target};
use crate::server::messages::{self, status, NewMessage, PartyRef, Route};
use crate::server::{access, users};

/// A call the provider accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dialled {
    pub message_id: i64,
    pub client_id: i64,
    pub number: String,
    pub advisor_phone: String,
}

/// Whether the call channel places calls itself (Twilio, active).
pub fn places_calls(setting: &ChannelSetting) -> bool {
    setting.channel == Channel::Call
        && setting.active
        && setting.provider == Some(ProviderKind::Twilio)
}

/// Calls one of a client's phones for `viewer`, who must see the client and have a
/// phone of their own on their user.
#[tracing::instrument(skip_all)]
pub async fn click_to_call(
    db: &Db,
    viewer: &Viewer,
    contact_point_id: i64,
    http: &reqwest::Client,
    origin: &str,
    clock: Clock,
) -> Result<Dialled, AppError> {
    let now = clock.now;
    let point: Option<(i64, PartyRole, i32, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT p.client_id, p.role, p.ordinal, cp.value FROM contact_points cp
         JOIN parties p ON p.id = cp.party_id
         WHERE cp.id = $1 AND cp.kind IN ('phone', 'whatsapp')")
        .bind(contact_point_id).fetch_optional(p).await)?;
    let (client_id, role, ordinal, number) = point.ok_or(AppError::NotFound)?;
    // Seeing the client is what allows calling it; another advisor's client is not found.
    access::ensure_visible(db, viewer, client_id, now).await?;
    let setting = load(db, Channel::Call).await?;
    if !places_calls(&setting) {
        return Err(AppError::invalid(
            "call",
            "Las llamadas desde Recaudo no están configuradas (Ajustes de canales → Llamada).",
        ));
    }
    let advisor_phone = users::get(db, viewer.user_id).await?.phone;
    if advisor_phone.is_empty() {
        return Err(AppError::invalid(
            "call",
            "Tu usuario no tiene teléfono para llamadas: pide a un administrador que lo registre en Usuarios.",
        ));
    }
    let tab = PartyRef::new(client_id, role, ordinal);
    let (country, time_zone): (String, String) = on_db!(db, p => sqlx::query_as(
        "SELECT country, time_zone FROM clients WHERE id = $1")
        .bind(client_id).fetch_one(p).await)?;
    let target = Target {
        tab,
        country: &country,
        time_zone: &time_zone,
        channel: Channel::Call,
        address: &number,
        text: "",
    };
    let opt_outs = preflight::opt_outs(db, std::slice::from_ref(&number)).await?;
    let (policies, decision) = preflight::check(db, clock.tz, &target, &opt_outs, now).await?;
    let asker = Asker::User {
        id: viewer.user_id,
        override_reason: "",
    };
    let zone = policies.zone(&time_zone).name();
    if decision.verdict != Verdict::Allow {
        return Err(refusal(db, tab, &decision, asker, zone, now).await?);
    }
    // The call shows in the conversation at once, dialling until the provider answers.
    let body = format!("Llamada a {number}");
    let call = NewMessage::outbound(tab, Channel::Call, &number, &body, Origin::Manual, now)
        .author(viewer.user_id);
    let mut tx = db.begin().await?;
    let decision = preflight::confirm(&mut tx, &policies, &target, &opt_outs, now).await?;
    if decision.verdict != Verdict::Allow {
        // Another contact took the allowance since the check.
        drop(tx);
        return Err(refusal(db, tab, &decision, asker, zone, now).await?);
    }
    let message_id = messages::send(&mut tx, &call, &[], Route::Direct, now).await?;
    preflight::record(
        &mut tx,
        tab,
        Channel::Call,
        &decision,
        asker,
        Some(message_id),
        now,
    )
    .await?;
    tx.commit().await?;
    match voice::place_call(http, &setting, &advisor_phone, &number, origin).await {
        Ok(sid) => {
            status::call_placed(db, message_id, Ok(&sid), now).await?;
            Ok(Dialled {
                message_id,
                client_id,
                number,
                advisor_phone,
            })
        }
        Err(e) => {
            status::call_placed(db, message_id, Err(&e), now).await?;
            Err(AppError::invalid("call", e))
        }
    }
}

/// The error a call the policy stops answers with. A warning needs a written reason,
/// which a call placed from here cannot carry: it is refused like a block, and only a
/// block is recorded as a decision taken.
async fn refusal(
    db: &Db,
    tab: PartyRef,
    decision: &Decision,
    asker: Asker<'_>,
    zone: &str,
    now: DateTime<Utc>,
) -> Result<AppError, AppError> {
    if decision.verdict == Verdict::Block {
        let mut tx = db.begin().await?;
        preflight::record(&mut tx, tab, Channel::Call, decision, asker, None, now).await?;
        tx.commit().await?;
    }
    Ok(AppError::invalid("call", describe(decision, zone)))
}
