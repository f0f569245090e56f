//! The payment portal ("Web de cobros") as the debtor sees it.

use serde::{Deserialize, Serialize};

use crate::domain::debt::Debt;

/// One opening of a client's portal page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalPage {
    pub client_name: String,
    pub currency: String,
    pub overdue_total_cents: i64,
    pub days_overdue: i64,
    /// The debts still to pay.
    pub debts: Vec<Debt>,
    /// The organisation's payment instructions.
    pub instructions: String,
}

/// The link-preview and mail-scanning robots that open links on their own, by what
/// their `User-Agent` says: a visit they make is marked as theirs, not the debtor's.
const PREVIEW_AGENTS: [(&str, &str); 15] = [
    ("whatsapp", "WhatsApp"),
    ("facebookexternalhit", "Facebook"),
    ("facebot", "Facebook"),
    ("telegrambot", "Telegram"),
    ("slackbot", "Slack"),
    ("twitterbot", "X (Twitter)"),
    ("linkedinbot", "LinkedIn"),
    ("discordbot", "Discord"),
    ("skypeuripreview", "Skype"),
    ("googlebot", "Google"),
    ("google-read-aloud", "Google"),
    ("bingbot", "Bing"),
    ("bingpreview", "Bing"),
    ("microsoft office", "Microsoft Office"),
    ("ms-office", "Microsoft Office"),
];

/// The preview robot a `User-Agent` names, if any.
pub fn preview_agent(user_agent: &str) -> Option<&'static str> {
    let ua = user_agent.to_lowercase();
    PREVIEW_AGENTS
        .iter()
        .find(|(needle, _)| ua.contains(needle))
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::preview_agent;

    #[test]
    fn link_previews_are_told_from_browsers() {
        for (ua, agent) in [
            ("WhatsApp/2.23.20.0 A", Some("WhatsApp")),
            (
                "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
                Some("Facebook"),
            ),
            ("TelegramBot (like TwitterBot)", Some("Telegram")),
            ("Mozilla/5.0 (compatible; Microsoft Office/16.0)", Some("Microsoft Office")),
            (
                "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36",
                None,
            ),
            ("", None),
        ] {
            assert_eq!(preview_agent(ua), agent, "{ua}");
        }
    }
}
