//! Who else is on a conversation: from the heartbeats each open conversation sends,
//! who has it open and who is writing a reply right now.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// How often an open conversation says so.
pub const BEAT_SECS: u64 = 3;
/// A heartbeat counts this long: a few missed beats (a slow network) do not make a
/// colleague vanish, a closed tab does soon.
pub const SEEN_FOR: Duration = Duration::seconds(15);
/// A keystroke counts as "writing" this long.
pub const TYPING_FOR: Duration = Duration::seconds(6);

/// What a conversation's heartbeat says about its user. There is no "left": a closed
/// conversation stops beating and fades after [`SEEN_FOR`], and a conversation that
/// reloads (it does on every change) cannot race its own "left" with its next beat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Beat {
    Viewing,
    Typing,
}

/// Another user on the conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Colleague {
    pub name: String,
    pub typing: bool,
}

/// The colleagues whose last heartbeat (and keystroke) is recent at `now`, writers
/// first, each once, by name.
pub fn present(
    rows: impl IntoIterator<Item = (String, DateTime<Utc>, Option<DateTime<Utc>>)>,
    now: DateTime<Utc>,
) -> Vec<Colleague> {
    let mut out: Vec<Colleague> = rows
        .into_iter()
        .filter(|(_, seen, _)| now - *seen <= SEEN_FOR)
        .map(|(name, _, typing)| Colleague {
            name,
            typing: typing.is_some_and(|t| now - t <= TYPING_FOR),
        })
        .collect();
    out.sort_by(|a, b| b.typing.cmp(&a.typing).then_with(|| a.name.cmp(&b.name)));
    out.dedup_by(|a, b| a.name == b.name);
    out
}

/// The line the conversation shows, if anyone else is on it.
pub fn describe(colleagues: &[Colleague]) -> Option<String> {
    let (writing, viewing): (Vec<&Colleague>, Vec<&Colleague>) =
        colleagues.iter().partition(|c| c.typing);
    let names = |who: &[&Colleague]| match who {
        [rest @ .., last] if !rest.is_empty() => format!(
            "{} y {}",
            rest.iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            last.name
        ),
        _ => who.iter().map(|c| c.name.as_str()).collect(),
    };
    let one_or_more =
        |n: usize, one: &'static str, more: &'static str| if n == 1 { one } else { more };
    let answering = one_or_more(writing.len(), "está respondiendo", "están respondiendo");
    match (writing.is_empty(), viewing.is_empty()) {
        (true, true) => None,
        (false, true) => Some(format!("{} {answering}", names(&writing))),
        (true, false) => Some(format!(
            "{} también {} esta conversación",
            names(&viewing),
            one_or_more(viewing.len(), "tiene abierta", "tienen abierta")
        )),
        (false, false) => Some(format!(
            "{} {answering}; {} también {}",
            names(&writing),
            names(&viewing),
            one_or_more(viewing.len(), "la tiene abierta", "la tienen abierta")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 5, 15, 0, 0).unwrap() + Duration::seconds(s)
    }

    #[test]
    fn only_recent_beats_count_and_writing_fades_before_viewing() {
        let now = at(100);
        let rows = vec![
            ("Camila Rojas".to_string(), at(98), Some(at(97))),
            ("Andrés Gómez".to_string(), at(90), Some(at(90))),
            ("Laura Castillo".to_string(), at(85), None),
            ("Jorge Medina".to_string(), at(84), None),
        ];
        let got = present(rows, now);
        assert_eq!(
            got,
            vec![
                Colleague {
                    name: "Camila Rojas".into(),
                    typing: true
                },
                Colleague {
                    name: "Andrés Gómez".into(),
                    typing: false
                },
                Colleague {
                    name: "Laura Castillo".into(),
                    typing: false
                },
            ],
            "15 s of a heartbeat (exactly 15 counts), 6 s of a keystroke"
        );
    }

    #[test]
    fn the_line_names_writers_then_viewers_in_spanish() {
        let c = |name: &str, typing| Colleague {
            name: name.into(),
            typing,
        };
        assert_eq!(describe(&[]), None);
        assert_eq!(
            describe(&[c("Camila Rojas", true)]).unwrap(),
            "Camila Rojas está respondiendo"
        );
        assert_eq!(
            describe(&[c("Ana", true), c("Luis", true)]).unwrap(),
            "Ana y Luis están respondiendo"
        );
        assert_eq!(
            describe(&[c("Ana", false)]).unwrap(),
            "Ana también tiene abierta esta conversación"
        );
        assert_eq!(
            describe(&[c("Ana", false), c("Luis", false), c("Eva", false)]).unwrap(),
            "Ana, Luis y Eva también tienen abierta esta conversación"
        );
        assert_eq!(
            describe(&[c("Ana", true), c("Luis", false)]).unwrap(),
            "Ana está respondiendo; Luis también la tiene abierta"
        );
    }
}
