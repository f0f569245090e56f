//! The collision guard: before a user writes to a debtor or registers a call outcome,
//! what other users did with that client in the last few minutes. Two advisors
//! answering or calling the same debtor a minute apart look careless to the debtor and,
//! under the contact policy, spend the debtor's allowance twice; the guard asks the
//! second one to confirm, saying who did what and when.

use chrono::{DateTime, TimeZone, Utc};

use crate::domain::message::Channel;
use crate::domain::outcome::Outcome;

/// How many of the other users' acts the warning names; the newest first.
const NAMED: usize = 3;

/// What another user did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// A message (or a dialled call) to one of the client's parties.
    Sent(Channel),
    /// A registered call outcome.
    Registered(Outcome),
}

/// One act of another user on the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecentAct {
    pub who: String,
    pub act: Act,
    pub at: DateTime<Utc>,
}

/// The question the user is asked before going ahead, when other users acted on the
/// client within `window_minutes` of `now`; `None` when nobody did (or the guard is
/// off: a window of 0). Times are shown in the organisation's zone.
pub fn warning<Z: TimeZone>(
    acts: &[RecentAct],
    window_minutes: u32,
    now: DateTime<Utc>,
    tz: &Z,
) -> Option<String>
where
    Z::Offset: std::fmt::Display,
{
    if window_minutes == 0 {
        return None;
    }
    let since = now - chrono::Duration::minutes(i64::from(window_minutes));
    let mut recent: Vec<&RecentAct> = acts.iter().filter(|a| a.at >= since).collect();
    if recent.is_empty() {
        return None;
    }
    recent.sort_by_key(|a| std::cmp::Reverse(a.at));
    let named: Vec<String> = recent
        .iter()
        .take(NAMED)
        .map(|a| {
            let ago = (now - a.at).num_minutes().max(0);
            let ago = match ago {
                0 => "hace menos de un minuto".to_string(),
                1 => "hace 1 minuto".to_string(),
                n => format!("hace {n} minutos"),
            };
            format!(
                "{} {} a las {} ({ago})",
                a.who,
                describe(a.act),
                a.at.with_timezone(tz).format("%H:%M")
            )
        })
        .collect();
    let more = match recent.len().saturating_sub(NAMED) {
        0 => String::new(),
        1 => " y 1 gestión más".to_string(),
        n => format!(" y {n} gestiones más"),
    };
    let minutes = if window_minutes == 1 {
        "el último minuto".to_string()
    } else {
        format!("los últimos {window_minutes} minutos")
    };
    Some(format!(
        "Otra persona atendió a este cliente en {minutes}: {}{more}. Revisa la conversación antes de continuar.",
        named.join("; ")
    ))
}

fn describe(act: Act) -> String {
    match act {
        Act::Sent(Channel::Call) => "llamó".to_string(),
        Act::Sent(Channel::Email) => "envió un correo".to_string(),
        Act::Sent(channel) => format!("envió un {}", channel.label()),
        Act::Registered(outcome) => format!("registró la gestión «{}»", outcome.label()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, h, m, s).unwrap()
    }

    fn act(who: &str, act: Act, when: DateTime<Utc>) -> RecentAct {
        RecentAct {
            who: who.into(),
            act,
            at: when,
        }
    }

    const BOGOTA: &chrono_tz::Tz = &chrono_tz::America::Bogota;

    #[test]
    fn names_who_did_what_and_when_in_the_organisations_zone() {
        let now = at(15, 10, 0);
        let acts = [
            act("Camila Rojas", Act::Sent(Channel::WhatsApp), at(15, 7, 30)),
            act(
                "Andrés Gómez",
                Act::Registered(Outcome::PromiseOrToVerify),
                at(15, 9, 40),
            ),
        ];
        assert_eq!(
            warning(&acts, 5, now, BOGOTA).as_deref(),
            Some(
                "Otra persona atendió a este cliente en los últimos 5 minutos: \
                 Andrés Gómez registró la gestión «Compromiso / A verificar» a las 10:09 \
                 (hace menos de un minuto); Camila Rojas envió un WhatsApp a las 10:07 \
                 (hace 2 minutos). Revisa la conversación antes de continuar."
            )
        );
    }

    #[test]
    fn acts_older_than_the_window_do_not_count_and_zero_turns_it_off() {
        let now = at(15, 10, 0);
        let acts = [act("Camila Rojas", Act::Sent(Channel::Call), at(15, 4, 59))];
        assert_eq!(warning(&acts, 5, now, BOGOTA), None);
        let edge = [act("Camila Rojas", Act::Sent(Channel::Call), at(15, 5, 0))];
        assert!(warning(&edge, 5, now, BOGOTA)
            .unwrap()
            .contains("Camila Rojas llamó a las 10:05 (hace 5 minutos)"));
        assert_eq!(warning(&edge, 0, now, BOGOTA), None);
        assert_eq!(warning(&[], 5, now, BOGOTA), None);
    }

    #[test]
    fn names_the_newest_three_and_counts_the_rest() {
        let now = at(15, 10, 0);
        let acts: Vec<RecentAct> = (0..5)
            .map(|i| act("Camila Rojas", Act::Sent(Channel::Email), at(15, 5 + i, 0)))
            .collect();
        let text = warning(&acts, 10, now, BOGOTA).unwrap();
        assert!(text.starts_with(
            "Otra persona atendió a este cliente en los últimos 10 minutos: \
             Camila Rojas envió un correo a las 10:09 (hace 1 minuto);"
        ));
        assert!(text.contains("a las 10:07 (hace 3 minutos) y 2 gestiones más."));
        assert!(!text.contains("10:06"));
    }
}
