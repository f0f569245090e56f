//! The clients list: sorts, keyset cursors and pages.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub const PAGE_SIZE: usize = 50;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClientSort {
    /// Most days overdue first: the oldest unpaid due date first.
    #[default]
    DaysOverdueDesc,
    DaysOverdueAsc,
    AmountDesc,
    AmountAsc,
}

impl ClientSort {
    pub const ALL: [ClientSort; 4] = [
        ClientSort::DaysOverdueDesc,
        ClientSort::DaysOverdueAsc,
        ClientSort::AmountDesc,
        ClientSort::AmountAsc,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClientSort::DaysOverdueDesc => "dias-desc",
            ClientSort::DaysOverdueAsc => "dias-asc",
            ClientSort::AmountDesc => "monto-desc",
            ClientSort::AmountAsc => "monto-asc",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ClientSort::DaysOverdueDesc => "Días de atraso: de mayor a menor",
            ClientSort::DaysOverdueAsc => "Días de atraso: de menor a mayor",
            ClientSort::AmountDesc => "Monto: mayor a menor",
            ClientSort::AmountAsc => "Monto: menor a mayor",
        }
    }

    pub fn parse(s: &str) -> Self {
        ClientSort::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .unwrap_or_default()
    }
}

/// Where the next page starts: the last row's sort value and id. Clients with nothing
/// owed have no oldest due date and come after all the others in either direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientCursor {
    Date { date: Option<NaiveDate>, id: i64 },
    Amount { cents: i64, id: i64 },
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientListQuery {
    pub search: String,
    pub sort: ClientSort,
    /// "Todos los clientes" instead of "Clientes asociados"; honoured only when the
    /// viewer's filter is unlocked.
    pub all_clients: bool,
    pub after: Option<ClientCursor>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ClientRow {
    pub id: i64,
    pub display_name: String,
    pub document_number: String,
    pub advisor_name: Option<String>,
    pub overdue_total_cents: i64,
    pub currency: String,
    pub oldest_unpaid_due_date: Option<NaiveDate>,
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub days_overdue: i64,
}

impl ClientRow {
    pub fn cursor(&self, sort: ClientSort) -> ClientCursor {
        match sort {
            ClientSort::DaysOverdueDesc | ClientSort::DaysOverdueAsc => ClientCursor::Date {
                date: self.oldest_unpaid_due_date,
                id: self.id,
            },
            ClientSort::AmountDesc | ClientSort::AmountAsc => ClientCursor::Amount {
                cents: self.overdue_total_cents,
                id: self.id,
            },
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientPage {
    pub rows: Vec<ClientRow>,
    pub next: Option<ClientCursor>,
    /// Whether the viewer may switch to "Todos los clientes".
    pub may_see_all: bool,
    /// The scope actually applied.
    pub showing_all: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_round_trip_and_unknown_falls_back_to_default() {
        for s in ClientSort::ALL {
            assert_eq!(ClientSort::parse(s.as_str()), s);
        }
        assert_eq!(ClientSort::parse("nombre"), ClientSort::DaysOverdueDesc);
    }

    #[test]
    fn the_cursor_carries_the_sort_value() {
        let row = ClientRow {
            id: 9,
            display_name: "A".into(),
            document_number: "1".into(),
            advisor_name: None,
            overdue_total_cents: 500,
            currency: "COP".into(),
            oldest_unpaid_due_date: None,
            days_overdue: 0,
        };
        assert_eq!(
            row.cursor(ClientSort::AmountAsc),
            ClientCursor::Amount { cents: 500, id: 9 }
        );
        assert_eq!(
            row.cursor(ClientSort::DaysOverdueDesc),
            ClientCursor::Date { date: None, id: 9 }
        );
    }
}
