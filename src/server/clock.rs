//! The moment a request or a job runs at, and the organisation's calendar around it:
//! one value passed to services instead of an instant, a day and a zone in varying
//! orders.

use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// How far the process's clock runs from the real one: set once at start-up when the
/// configuration starts the clock elsewhere (demos and browser tests).
static OFFSET: OnceLock<chrono::Duration> = OnceLock::new();

/// Starts this process's clock at `start`; it runs at the real pace from there. Every
/// reading after this, requests, jobs, webhooks and the dispatcher alike, is shifted the
/// same, so what they record agrees. Only the first call counts.
pub fn start_at(start: DateTime<Utc>) {
    let _ = OFFSET.set(start - Utc::now());
}

/// The server's now: the real instant, unless [`start_at`] moved the clock.
pub fn now() -> DateTime<Utc> {
    Utc::now() + OFFSET.get().copied().unwrap_or_default()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    pub now: DateTime<Utc>,
    /// The organisation's date at `now`: it decides when a due date has passed.
    pub today: NaiveDate,
    /// The organisation's zone: days start, and times are shown, in it.
    pub tz: Tz,
}

impl Clock {
    /// The clock at `now` in `tz`.
    pub fn at(now: DateTime<Utc>, tz: Tz) -> Clock {
        Clock {
            now,
            today: now.with_timezone(&tz).date_naive(),
            tz,
        }
    }

    /// The same calendar at another instant (a step of a job that runs for long).
    pub fn with_now(self, now: DateTime<Utc>) -> Clock {
        Clock::at(now, self.tz)
    }

    /// The first instant of `day` in the organisation's zone. A day whose midnight
    /// falls in a daylight-saving gap starts at the first local time that exists.
    pub fn day_start(&self, day: NaiveDate) -> DateTime<Utc> {
        day_start(self.tz, day)
    }

    /// An instant as the organisation's wall clock shows it.
    pub fn local(&self, at: DateTime<Utc>) -> NaiveDateTime {
        at.with_timezone(&self.tz).naive_local()
    }

    /// The organisation's date of an instant.
    pub fn local_day(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.tz).date_naive()
    }

    /// The first instant at or after `local` on the organisation's wall clock: a time
    /// inside a daylight-saving gap is the first one that exists after it.
    pub fn instant(&self, local: NaiveDateTime) -> DateTime<Utc> {
        first_instant(self.tz, local)
    }
}

/// [`Clock::day_start`] for a zone alone.
pub fn day_start(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    first_instant(tz, day.and_time(chrono::NaiveTime::MIN))
}

/// The first instant at or after `local` on `tz`'s wall clock (see [`Clock::instant`]).
pub fn first_instant(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    // Gaps last at most a few hours (most an hour); walking forward by minutes finds
    // the first local time after one.
    (0..=24 * 60)
        .find_map(|m| {
            tz.from_local_datetime(&(local + chrono::Duration::minutes(m)))
                .earliest()
        })
        .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn days_start_at_local_midnight() {
        let bogota: Tz = "America/Bogota".parse().unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(
            day_start(bogota, d).to_rfc3339(),
            "2026-11-23T05:00:00+00:00"
        );
        // Santiago skipped from 00:00 to 01:00 on 2026-09-06.
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let gap = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        assert_eq!(
            day_start(santiago, gap).to_rfc3339(),
            "2026-09-06T04:00:00+00:00"
        );
        let clock = Clock::at("2026-11-23T15:00:00Z".parse().unwrap(), bogota);
        assert_eq!(clock.today, d);
        assert_eq!(clock.day_start(d), day_start(bogota, d));
    }

    #[test]
    fn a_day_whose_midnight_does_not_exist_starts_at_the_first_local_time_that_does() {
        // Santiago moved its clocks from 00:00 to 01:00 on 2026-09-06: that day has
        // no midnight. It starts at 01:00 local, UTC-3.
        let santiago = chrono_tz::America::Santiago;
        assert_eq!(
            day_start(santiago, day("2026-09-06")),
            "2026-09-06T04:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        // The day before started at 00:00 local, UTC-4.
        assert_eq!(
            day_start(santiago, day("2026-09-05")),
            "2026-09-05T04:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        // Clocks went back from 24:00 to 23:00 on 2026-04-04: that day's last hour
        // repeats, and the next day starts once, at 00:00 local, UTC-4.
        assert_eq!(
            day_start(santiago, day("2026-04-05")),
            "2026-04-05T04:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn a_wall_time_in_a_gap_is_the_first_that_exists_after_it() {
        let santiago = Clock::at(
            "2026-09-06T12:00:00Z".parse().unwrap(),
            chrono_tz::America::Santiago,
        );
        let in_gap = day("2026-09-06").and_hms_opt(0, 30, 0).unwrap();
        assert_eq!(
            santiago.instant(in_gap),
            "2026-09-06T04:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }
}
