//! What the report pages share in the address bar: the period ("desde", "hasta") with
//! its default, and reading a value so that a wrong one is an error naming its field,
//! never a filter silently dropped.

use chrono::{Duration, NaiveDate};

/// The period shown when none is chosen: the last 30 days, today included.
pub const DEFAULT_DAYS: i64 = 30;

/// The years any date given to the API may name. Far inside what the calendar types
/// hold, so that a day or a week added to an accepted date can never overflow.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;

/// A date given to the API, refused outside [`YEARS`] with a sentence naming it.
pub fn bounded(day: NaiveDate, label: &str) -> Result<NaiveDate, String> {
    if YEARS.contains(&chrono::Datelike::year(&day)) {
        Ok(day)
    } else {
        Err(format!(
            "«{label}»: la fecha {day} está fuera de rango (años {} a {}).",
            YEARS.start(),
            YEARS.end()
        ))
    }
}

/// The first and last local day a report covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// The chosen days, or the last [`DEFAULT_DAYS`] up to the chosen end or today.
    pub fn settle(
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Result<Period, String> {
        let to = bounded(to.unwrap_or(today), "Hasta")?;
        let from = match from {
            Some(from) => bounded(from, "Desde")?,
            None => to - Duration::days(DEFAULT_DAYS - 1),
        };
        if from > to {
            return Err(format!(
                "El período empieza el {from} y termina antes, el {to}: elija un «Desde» anterior al «Hasta»."
            ));
        }
        Ok(Period { from, to })
    }
}

/// An address-bar query being read: values trimmed, an empty one absent.
pub struct Params<G>(pub G);

impl<G: Fn(&str) -> Option<String>> Params<G> {
    pub fn text(&self, key: &str) -> Option<String> {
        (self.0)(key)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    pub fn choice<T>(
        &self,
        key: &str,
        label: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, String> {
        self.text(key)
            .map(|s| {
                parse(&s).ok_or_else(|| format!("«{s}» no es un valor válido para «{label}»."))
            })
            .transpose()
    }

    pub fn date(&self, key: &str, label: &str) -> Result<Option<NaiveDate>, String> {
        self.text(key)
            .map(|s| {
                NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                    .map_err(|_| {
                        format!("«{s}» no es una fecha válida para «{label}» (AAAA-MM-DD).")
                    })
                    .and_then(|d| bounded(d, label))
            })
            .transpose()
    }

    pub fn id(&self, key: &str, label: &str) -> Result<Option<i64>, String> {
        self.choice(key, label, |s| s.parse().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_period_defaults_to_thirty_days_and_must_run_forward() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let p = Period::settle(None, None, today).unwrap();
        assert_eq!(p.from, NaiveDate::from_ymd_opt(2026, 10, 26).unwrap());
        assert_eq!(p.to, today);
        let end = NaiveDate::from_ymd_opt(2026, 10, 31);
        assert_eq!(
            Period::settle(None, end, today).unwrap().from,
            NaiveDate::from_ymd_opt(2026, 10, 2).unwrap()
        );
        let e = Period::settle(NaiveDate::from_ymd_opt(2026, 11, 20), end, today).unwrap_err();
        assert!(e.contains("«Desde»"), "{e}");
    }

    #[test]
    fn values_are_trimmed_and_wrong_ones_name_their_field() {
        let get = |k: &str| match k {
            "a" => Some(" 12 ".to_string()),
            "b" => Some("doce".to_string()),
            "c" => Some("   ".to_string()),
            "d" => Some("24/11/2026".to_string()),
            _ => None,
        };
        let p = Params(get);
        assert_eq!(p.id("a", "Asesor"), Ok(Some(12)));
        assert_eq!(p.id("c", "Asesor"), Ok(None));
        assert_eq!(p.id("z", "Asesor"), Ok(None));
        assert!(p.id("b", "Asesor").unwrap_err().contains("«doce»"));
        assert!(p.date("d", "Desde").unwrap_err().contains("«Desde»"));
    }

    #[test]
    fn dates_at_the_calendar_edges_are_refused_not_computed_with() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        for (from, to, field) in [
            (None, Some(NaiveDate::MAX), "«Hasta»"),
            (None, Some(NaiveDate::MIN), "«Hasta»"),
            (Some(NaiveDate::MIN), None, "«Desde»"),
            (Some(NaiveDate::MIN), Some(NaiveDate::MAX), "«Hasta»"),
            (NaiveDate::from_ymd_opt(1899, 12, 31), None, "«Desde»"),
            (None, NaiveDate::from_ymd_opt(2201, 1, 1), "«Hasta»"),
        ] {
            let e = Period::settle(from, to, today).unwrap_err();
            assert!(e.contains(field) && e.contains("fuera de rango"), "{e}");
        }
        let edge = Period::settle(
            NaiveDate::from_ymd_opt(1900, 1, 1),
            NaiveDate::from_ymd_opt(2200, 12, 31),
            today,
        );
        assert!(edge.is_ok());
        let get = |k: &str| (k == "hasta").then(|| "+262142-12-31".to_string());
        let e = Params(get).date("hasta", "Hasta").unwrap_err();
        assert!(e.contains("fuera de rango"), "{e}");
    }
}
