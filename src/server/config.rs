//! Runtime settings: `Leptos.toml` (or the file named by `RECAUDO_CONFIG`), each key
//! overridable by an environment variable. cargo-leptos reads its build settings from
//! Cargo.toml; this file is only the app's.

use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;

use crate::domain::calls::{CallCalendar, PromisePolicy};
use crate::server::clock::Clock;

/// The key secrets are sealed with: read from the environment only, never printed.
#[derive(Clone)]
pub struct SecretKey(String);

impl SecretKey {
    pub fn new(hex: impl Into<String>) -> SecretKey {
        SecretKey(hex.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub bind_address: SocketAddr,
    pub database_url: String,
    /// How often open lists refresh themselves, in seconds.
    pub refresh_interval_secs: u64,
    /// Demo mode seeds the demo portfolio into an empty database at start. Outside demo
    /// mode the server refuses to start while demo users exist.
    pub demo: bool,
    /// The organisation's zone: it decides when a due date has passed.
    pub time_zone: chrono_tz::Tz,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    /// Mark the session cookie `Secure`; on by default when the public origin is https.
    pub secure_cookies: bool,
    /// The origin browsers use to reach the app, when a proxy changes the Host header.
    pub public_origin: Option<String>,
    /// Days on which no call may be scheduled.
    pub call_calendar: CallCalendar,
    /// When a promise counts as kept.
    pub promise_policy: PromisePolicy,
    /// Longest SMS, in parts of 160 (or 70) characters.
    pub sms_max_segments: usize,
    /// How long a "Paga aquí" link opens the payment portal.
    pub portal_link_days: i64,
    /// The most debts one client may hold (the form and the import refuse more).
    pub max_debts_per_client: usize,
    /// "Aprobación por otra persona": a payment is approved by someone other than who
    /// declared or registered it.
    pub payment_approval_by_other: bool,
    /// What the payment portal tells debtors about how to pay.
    pub payment_instructions: String,
    /// How long an outbox dispatcher holds the messages it claimed: a dispatcher that
    /// dies leaves them to the others after this long.
    pub outbox_lease_secs: i64,
    /// How often the e-mail channel's mailbox is read for replies and bounces.
    pub mail_poll_secs: u64,
    /// The collision guard's window: a reply or a call outcome asks for confirmation
    /// when another user wrote to or called the client this many minutes before (0: off).
    pub recent_contact_minutes: u32,
    /// Demos and browser tests only (`RECAUDO_CLOCK_START`, RFC 3339): the server's
    /// clock starts at this instant when the process starts and runs from there, so
    /// that what the contact policy allows does not depend on when the tests run.
    pub clock_start: Option<chrono::DateTime<chrono::Utc>>,
    /// `RECAUDO_SECRET_KEY`: what the channels' secrets and the server's keys are
    /// sealed with in the database. Required outside demo mode.
    pub secret_key: Option<SecretKey>,
}

/// What writing a message to a debtor needs from the configuration.
#[derive(Clone, Debug)]
pub struct Sending {
    /// Where the app is reached from outside, for payment links.
    pub origin: String,
    pub sms_max_segments: usize,
    /// Unconfigured channels go through the sandbox.
    pub demo: bool,
    pub portal_link_days: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    bind_address: Option<String>,
    database_url: Option<String>,
    refresh_interval_secs: Option<u64>,
    demo: Option<bool>,
    time_zone: Option<String>,
    session_idle_minutes: Option<i64>,
    session_absolute_hours: Option<i64>,
    secure_cookies: Option<bool>,
    public_origin: Option<String>,
    closed_weekdays: Option<String>,
    holidays: Option<Vec<String>>,
    promise_grace_days: Option<u32>,
    promise_kept_threshold_pct: Option<u32>,
    sms_max_segments: Option<usize>,
    portal_link_days: Option<i64>,
    max_debts_per_client: Option<usize>,
    payment_approval_by_other: Option<bool>,
    payment_instructions: Option<String>,
    outbox_lease_secs: Option<i64>,
    mail_poll_secs: Option<u64>,
    recent_contact_minutes: Option<u32>,
}

pub const DEFAULT_PAYMENT_INSTRUCTIONS: &str = "Paga por transferencia o depósito a la cuenta \
corriente 000-123456-78 del Banco de la Organización, indicando tu número de documento. Luego \
declara aquí tu pago y adjunta el comprobante: tu asesor lo verificará.";

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/recaudo.db";

impl Config {
    /// Reads the file (missing is fine: defaults apply) and then the environment.
    pub fn load() -> Result<Self, String> {
        let path = std::env::var("RECAUDO_CONFIG").unwrap_or_else(|_| "Leptos.toml".into());
        let file = if Path::new(&path).exists() {
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
            toml::from_str::<FileConfig>(&text).map_err(|e| format!("{path}: {e}"))?
        } else {
            FileConfig::default()
        };
        Self::from_sources(file, |key| std::env::var(key).ok())
    }

    /// The built-in defaults, ignoring file and environment.
    pub fn defaults() -> Self {
        Self::from_sources(FileConfig::default(), |_| None).expect("the defaults are valid")
    }

    fn from_sources(
        file: FileConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        fn pick<T: std::str::FromStr>(
            env: &impl Fn(&str) -> Option<String>,
            keys: &[&str],
            file: Option<T>,
            default: T,
        ) -> Result<T, String> {
            for key in keys {
                if let Some(raw) = env(key) {
                    return raw
                        .trim()
                        .parse()
                        .map_err(|_| format!("{key}: valor inválido «{raw}»"));
                }
            }
            Ok(file.unwrap_or(default))
        }
        let bind: String = pick(
            &env,
            &["RECAUDO_BIND_ADDRESS"],
            file.bind_address,
            "127.0.0.1:3000".into(),
        )?;
        let tz: String = pick(
            &env,
            &["RECAUDO_TIME_ZONE"],
            file.time_zone,
            "America/Bogota".into(),
        )?;
        let public_origin: String = pick(
            &env,
            &["RECAUDO_PUBLIC_ORIGIN"],
            file.public_origin,
            String::new(),
        )?;
        let closed: String = pick(
            &env,
            &["RECAUDO_CLOSED_WEEKDAYS"],
            file.closed_weekdays,
            "dom".into(),
        )?;
        let holidays: String = pick(
            &env,
            &["RECAUDO_HOLIDAYS"],
            file.holidays.map(|h| h.join(",")),
            String::new(),
        )?;
        let call_calendar = CallCalendar::parse(&closed, &holidays)
            .map_err(|e| format!("closed_weekdays / holidays: {e}"))?;
        let defaults = PromisePolicy::default();
        let promise_policy = PromisePolicy {
            grace_days: pick(
                &env,
                &["RECAUDO_PROMISE_GRACE_DAYS"],
                file.promise_grace_days,
                defaults.grace_days,
            )?,
            kept_threshold_pct: pick(
                &env,
                &["RECAUDO_PROMISE_KEPT_THRESHOLD_PCT"],
                file.promise_kept_threshold_pct,
                defaults.kept_threshold_pct,
            )?,
        };
        if !(1..=100).contains(&promise_policy.kept_threshold_pct) {
            return Err("promise_kept_threshold_pct: entre 1 y 100".into());
        }
        let config = Config {
            bind_address: bind
                .parse()
                .map_err(|_| format!("bind_address: «{bind}» no es una dirección IP:puerto"))?,
            database_url: pick(
                &env,
                &["RECAUDO_DATABASE_URL", "DATABASE_URL"],
                file.database_url,
                DEFAULT_DATABASE_URL.into(),
            )?,
            refresh_interval_secs: pick(
                &env,
                &["RECAUDO_REFRESH_INTERVAL_SECS"],
                file.refresh_interval_secs,
                1800,
            )?,
            demo: pick(&env, &["RECAUDO_DEMO"], file.demo, false)?,
            time_zone: tz
                .parse()
                .map_err(|_| format!("time_zone: «{tz}» no es una zona horaria IANA"))?,
            session_idle_minutes: pick(
                &env,
                &["RECAUDO_SESSION_IDLE_MINUTES"],
                file.session_idle_minutes,
                30,
            )?,
            session_absolute_hours: pick(
                &env,
                &["RECAUDO_SESSION_ABSOLUTE_HOURS"],
                file.session_absolute_hours,
                12,
            )?,
            // Served over https, the session cookie never travels in the clear unless
            // an operator says otherwise.
            secure_cookies: pick(
                &env,
                &["RECAUDO_SECURE_COOKIES"],
                file.secure_cookies,
                public_origin.starts_with("https://"),
            )?,
            public_origin: Some(public_origin.trim_end_matches('/').to_string())
                .filter(|s| !s.is_empty()),
            call_calendar,
            promise_policy,
            sms_max_segments: pick(
                &env,
                &["RECAUDO_SMS_MAX_SEGMENTS"],
                file.sms_max_segments,
                3,
            )?,
            portal_link_days: pick(
                &env,
                &["RECAUDO_PORTAL_LINK_DAYS"],
                file.portal_link_days,
                30,
            )?,
            max_debts_per_client: pick(
                &env,
                &["RECAUDO_MAX_DEBTS_PER_CLIENT"],
                file.max_debts_per_client,
                crate::domain::client::DEFAULT_MAX_DEBTS,
            )?,
            payment_approval_by_other: pick(
                &env,
                &["RECAUDO_PAYMENT_APPROVAL_BY_OTHER"],
                file.payment_approval_by_other,
                true,
            )?,
            payment_instructions: pick(
                &env,
                &["RECAUDO_PAYMENT_INSTRUCTIONS"],
                file.payment_instructions,
                DEFAULT_PAYMENT_INSTRUCTIONS.to_string(),
            )?,
            outbox_lease_secs: pick(
                &env,
                &["RECAUDO_OUTBOX_LEASE_SECS"],
                file.outbox_lease_secs,
                60,
            )?,
            mail_poll_secs: pick(&env, &["RECAUDO_MAIL_POLL_SECS"], file.mail_poll_secs, 30)?,
            recent_contact_minutes: pick(
                &env,
                &["RECAUDO_RECENT_CONTACT_MINUTES"],
                file.recent_contact_minutes,
                5,
            )?,
            secret_key: env("RECAUDO_SECRET_KEY")
                .filter(|k| !k.trim().is_empty())
                .map(SecretKey::new),
            clock_start: match env("RECAUDO_CLOCK_START") {
                None => None,
                Some(raw) => Some(
                    chrono::DateTime::parse_from_rfc3339(raw.trim())
                        .map_err(|_| {
                            format!("RECAUDO_CLOCK_START: «{raw}» no es un instante RFC 3339")
                        })?
                        .with_timezone(&chrono::Utc),
                ),
            },
        };
        if !(5..=3600).contains(&config.mail_poll_secs) {
            return Err("mail_poll_secs: entre 5 y 3600".into());
        }
        // The lease must outlast a provider call (15 s) with room to record its answer.
        if !(20..=3600).contains(&config.outbox_lease_secs) {
            return Err("outbox_lease_secs: entre 20 y 3600".into());
        }
        if config.recent_contact_minutes > 1440 {
            return Err("recent_contact_minutes: entre 0 y 1440".into());
        }
        if config.payment_instructions.trim().is_empty() {
            return Err("payment_instructions: escribe cómo pueden pagar los deudores".into());
        }
        if !(1..=10).contains(&config.sms_max_segments) {
            return Err("sms_max_segments: entre 1 y 10".into());
        }
        if !(1..=365).contains(&config.portal_link_days) {
            return Err("portal_link_days: entre 1 y 365".into());
        }
        if !(1..=10_000).contains(&config.max_debts_per_client) {
            return Err("max_debts_per_client: entre 1 y 10000".into());
        }
        if config.refresh_interval_secs < 10 {
            return Err("refresh_interval_secs: mínimo 10 segundos".into());
        }
        if config.session_idle_minutes < 1 || config.session_absolute_hours < 1 {
            return Err("las duraciones de sesión deben ser positivas".into());
        }
        Ok(config)
    }

    /// The origin this server is reached at from outside: the public one, else the
    /// address it listens on (all interfaces stand for this machine).
    pub fn payment_approval(&self) -> crate::server::calls::payments::Approval {
        crate::server::calls::payments::Approval {
            by_other: self.payment_approval_by_other,
        }
    }

    pub fn origin(&self) -> String {
        self.public_origin
            .clone()
            .unwrap_or_else(|| self.local_origin())
    }

    /// This server as reached from the same machine.
    pub fn local_origin(&self) -> String {
        let mut addr = self.bind_address;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{addr}")
    }

    /// What sending a message needs to know.
    pub fn sending(&self) -> Sending {
        Sending {
            origin: self.origin(),
            sms_max_segments: self.sms_max_segments,
            demo: self.demo,
            portal_link_days: self.portal_link_days,
        }
    }

    /// Now, in the organisation's time zone.
    pub fn clock(&self) -> Clock {
        Clock::at(crate::server::clock::now(), self.time_zone)
    }

    /// Today in the organisation's time zone.
    pub fn today(&self) -> chrono::NaiveDate {
        self.clock().today
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn an_https_origin_makes_cookies_secure_unless_told_otherwise() {
        let plain = Config::from_sources(FileConfig::default(), env(&[])).unwrap();
        assert!(!plain.secure_cookies);
        let https = env(&[("RECAUDO_PUBLIC_ORIGIN", "https://cobranzas.example")]);
        assert!(
            Config::from_sources(FileConfig::default(), https)
                .unwrap()
                .secure_cookies
        );
        let http = env(&[("RECAUDO_PUBLIC_ORIGIN", "http://10.0.0.5:3000")]);
        assert!(
            !Config::from_sources(FileConfig::default(), http)
                .unwrap()
                .secure_cookies
        );
        let told = env(&[
            ("RECAUDO_PUBLIC_ORIGIN", "https://cobranzas.example"),
            ("RECAUDO_SECURE_COOKIES", "false"),
        ]);
        assert!(
            !Config::from_sources(FileConfig::default(), told)
                .unwrap()
                .secure_cookies
        );
    }

    #[test]
    fn defaults_apply_without_file_or_environment() {
        let c = Config::from_sources(FileConfig::default(), env(&[])).unwrap();
        assert_eq!(c.bind_address.to_string(), "127.0.0.1:3000");
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert!(!c.demo);
        assert_eq!(c.refresh_interval_secs, 1800);
        assert_eq!(c.time_zone, chrono_tz::America::Bogota);
        assert_eq!(c.recent_contact_minutes, 5);
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let file: FileConfig =
            toml::from_str("demo = false\nbind_address = \"0.0.0.0:8080\"").unwrap();
        let c = Config::from_sources(
            file,
            env(&[("RECAUDO_DEMO", "true"), ("DATABASE_URL", "postgres://x/y")]),
        )
        .unwrap();
        assert!(c.demo);
        assert_eq!(c.bind_address.port(), 8080);
        assert_eq!(c.database_url, "postgres://x/y");
    }

    #[test]
    fn bad_values_and_unknown_keys_are_refused_with_their_name() {
        let err = Config::from_sources(FileConfig::default(), env(&[("RECAUDO_DEMO", "quizás")]))
            .unwrap_err();
        assert!(err.contains("RECAUDO_DEMO"), "{err}");
        let err = Config::from_sources(
            FileConfig::default(),
            env(&[("RECAUDO_TIME_ZONE", "Marte/Olympus")]),
        )
        .unwrap_err();
        assert!(err.contains("time_zone"), "{err}");
        assert!(toml::from_str::<FileConfig>("demoo = true").is_err());
        let err = Config::from_sources(
            FileConfig::default(),
            env(&[("RECAUDO_PROMISE_KEPT_THRESHOLD_PCT", "0")]),
        )
        .unwrap_err();
        assert!(err.contains("promise_kept_threshold_pct"), "{err}");
        let err = Config::from_sources(
            FileConfig::default(),
            env(&[("RECAUDO_RECENT_CONTACT_MINUTES", "1441")]),
        )
        .unwrap_err();
        assert!(err.contains("recent_contact_minutes"), "{err}");
    }

    #[test]
    fn the_call_calendar_comes_from_the_file_or_the_environment() {
        let file: FileConfig =
            toml::from_str("closed_weekdays = \"sab,dom\"\nholidays = [\"2026-12-25\"]").unwrap();
        let c = Config::from_sources(file, env(&[])).unwrap();
        assert_eq!(c.call_calendar.closed_weekdays, vec![5, 6]);
        assert_eq!(c.call_calendar.holidays.len(), 1);
        let c = Config::from_sources(
            FileConfig::default(),
            env(&[("RECAUDO_HOLIDAYS", "2026-12-08,2026-12-25")]),
        )
        .unwrap();
        assert_eq!(c.call_calendar.holidays.len(), 2);
        assert_eq!(c.call_calendar.closed_weekdays, vec![6]);
    }
}
