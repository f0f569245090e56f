//! The clients list: sorts, keyset cursors and pages.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::alerts::{row_flags, AlertFilter, AlertKey, ShownFlag};
use crate::domain::calls::CallReason;
use crate::domain::message::Channel;

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
    Date {
        date: Option<NaiveDate>,
        id: i64,
    },
    Amount {
        cents: i64,
        id: i64,
    },
    /// The inbox's newest-first order.
    Activity {
        at: DateTime<Utc>,
        id: i64,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientListQuery {
    pub search: String,
    pub sort: ClientSort,
    /// "Todos los clientes" instead of "Clientes asociados"; honoured only when the
    /// viewer's filter is unlocked.
    pub all_clients: bool,
    /// Optional on the wire: a request without it filters nothing.
    #[serde(default)]
    pub alerts: AlertFilter,
    pub after: Option<ClientCursor>,
}

impl ClientListQuery {
    /// The address-bar query that reproduces it (without the cursor), as pairs.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        let mut parts = Vec::new();
        if !self.search.trim().is_empty() {
            parts.push(("q", self.search.trim().to_string()));
        }
        if self.sort != ClientSort::default() {
            parts.push(("orden", self.sort.as_str().to_string()));
        }
        if self.all_clients {
            parts.push(("todos", "1".to_string()));
        }
        parts.extend(
            self.alerts
                .params()
                .into_iter()
                .map(|(k, v)| (k, v.to_string())),
        );
        parts
    }

    /// Back from an address-bar query.
    pub fn from_params(get: impl Fn(&str) -> Option<String>) -> Self {
        ClientListQuery {
            search: get("q").unwrap_or_default(),
            sort: ClientSort::parse(&get("orden").unwrap_or_default()),
            all_clients: get("todos").as_deref() == Some("1"),
            alerts: AlertFilter::from_params(&get),
            after: None,
        }
    }
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
    /// Unanswered inbound messages.
    pub pending_count: i64,
    pub last_activity_at: Option<DateTime<Utc>>,
    /// `last_activity_at` in the organisation's time zone, for display.
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub last_activity_local: Option<NaiveDateTime>,
    /// The channel of the last message to or from the client (stored name).
    pub last_channel: Option<String>,
    /// The subject of the last message, when it was an e-mail.
    pub last_subject: String,
    /// The open call task due soonest, if any, and why (stored name).
    pub call_due_date: Option<NaiveDate>,
    pub call_reason: Option<String>,
    /// The alert summary: see [`AlertKey`].
    pub alert_key: i64,
    /// The flagged contact points' problems, for the hover text.
    pub contact_problems: i64,
    /// In the calls tray: why the contact policy does not let the client be called now.
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    #[serde(default)]
    pub call_blocked: Option<String>,
}

impl ClientRow {
    pub fn channel(&self) -> Option<Channel> {
        self.last_channel.as_deref().and_then(|c| c.parse().ok())
    }

    pub fn alerts(&self) -> AlertKey {
        AlertKey(self.alert_key)
    }

    pub fn flags(&self) -> Vec<ShownFlag> {
        row_flags(self.alerts(), self.contact_problems)
    }

    pub fn call_reason(&self) -> Option<CallReason> {
        self.call_reason.as_deref().and_then(|c| c.parse().ok())
    }

    pub fn cursor(&self, order: ListOrder) -> ClientCursor {
        match order {
            ListOrder::Client(ClientSort::DaysOverdueDesc | ClientSort::DaysOverdueAsc) => {
                ClientCursor::Date {
                    date: self.oldest_unpaid_due_date,
                    id: self.id,
                }
            }
            ListOrder::Client(ClientSort::AmountDesc | ClientSort::AmountAsc) => {
                ClientCursor::Amount {
                    cents: self.overdue_total_cents,
                    id: self.id,
                }
            }
            // Only conversations are listed in this order, and they all have activity.
            ListOrder::Recent => ClientCursor::Activity {
                at: self.last_activity_at.unwrap_or(DateTime::<Utc>::MIN_UTC),
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

/// The orders a list of clients can take: the clients list's four, and newest activity
/// first (conversations only; the inbox's default, as in an e-mail inbox).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ListOrder {
    #[default]
    Recent,
    Client(ClientSort),
}

impl ListOrder {
    pub fn all() -> impl Iterator<Item = ListOrder> {
        std::iter::once(ListOrder::Recent).chain(ClientSort::ALL.into_iter().map(ListOrder::Client))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ListOrder::Recent => "recientes",
            ListOrder::Client(s) => s.as_str(),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ListOrder::Recent => "Más recientes primero",
            ListOrder::Client(s) => s.label(),
        }
    }

    pub fn parse(s: &str) -> Self {
        ListOrder::all()
            .find(|x| x.as_str() == s)
            .unwrap_or_default()
    }
}

impl From<ClientSort> for ListOrder {
    fn from(s: ClientSort) -> Self {
        ListOrder::Client(s)
    }
}

impl ListOrder {
    /// Whether a cursor was made by this order.
    pub fn fits(self, cursor: &ClientCursor) -> bool {
        matches!(
            (self, cursor),
            (
                ListOrder::Client(ClientSort::DaysOverdueDesc | ClientSort::DaysOverdueAsc),
                ClientCursor::Date { .. }
            ) | (
                ListOrder::Client(ClientSort::AmountDesc | ClientSort::AmountAsc),
                ClientCursor::Amount { .. }
            ) | (ListOrder::Recent, ClientCursor::Activity { .. })
        )
    }
}

/// The "Recibidos" tray: conversations in the viewer's scope, narrowed by filters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxQuery {
    pub search: String,
    pub sort: ListOrder,
    /// Every conversation instead of those with an unanswered inbound (the default).
    pub include_answered: bool,
    /// The channel of the last message.
    pub channel: Option<Channel>,
    /// One advisor's clients, within the viewer's scope.
    pub advisor_id: Option<i64>,
    pub segment: String,
    /// Optional on the wire: a request without it filters nothing.
    #[serde(default)]
    pub alerts: AlertFilter,
    /// Last activity between these days (inclusive, in the organisation's time zone).
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub all_clients: bool,
    pub after: Option<ClientCursor>,
    /// Llamadas only: the cursor is still in the tray's first part, the broken promises.
    pub after_broken: bool,
}

impl InboxQuery {
    /// The address-bar query that reproduces it (without the cursor), as pairs, so
    /// that opening a conversation keeps the tray as it was.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        let mut parts = Vec::new();
        if !self.search.trim().is_empty() {
            parts.push(("q", self.search.trim().to_string()));
        }
        if self.sort != ListOrder::default() {
            parts.push(("orden", self.sort.as_str().to_string()));
        }
        if self.include_answered {
            parts.push(("ver", "todas".to_string()));
        }
        if let Some(c) = self.channel {
            parts.push(("canal", c.as_str().to_string()));
        }
        if let Some(a) = self.advisor_id {
            parts.push(("asesor", a.to_string()));
        }
        if !self.segment.trim().is_empty() {
            parts.push(("segmento", self.segment.trim().to_string()));
        }
        if let Some(d) = self.from {
            parts.push(("desde", d.to_string()));
        }
        if let Some(d) = self.to {
            parts.push(("hasta", d.to_string()));
        }
        if self.all_clients {
            parts.push(("todos", "1".to_string()));
        }
        parts.extend(
            self.alerts
                .params()
                .into_iter()
                .map(|(k, v)| (k, v.to_string())),
        );
        parts
    }

    /// Back from an address-bar query; what does not parse is left out.
    pub fn from_params(get: impl Fn(&str) -> Option<String>) -> Self {
        let date = |k: &str| get(k).and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
        InboxQuery {
            search: get("q").unwrap_or_default(),
            sort: ListOrder::parse(&get("orden").unwrap_or_default()),
            include_answered: get("ver").as_deref() == Some("todas"),
            channel: get("canal").and_then(|c| c.parse().ok()),
            advisor_id: get("asesor").and_then(|a| a.parse().ok()),
            segment: get("segmento").unwrap_or_default(),
            alerts: AlertFilter::from_params(&get),
            from: date("desde"),
            to: date("hasta"),
            all_clients: get("todos").as_deref() == Some("1"),
            after: None,
            after_broken: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxPage {
    pub rows: Vec<ClientRow>,
    pub next: Option<ClientCursor>,
    pub may_see_all: bool,
    pub showing_all: bool,
    /// The to-do counter: unanswered inbound messages in the scope shown.
    pub pending_messages: i64,
    /// Calls due today or earlier in the scope shown. In Llamadas both counters come
    /// with the first page only (0 on the following ones).
    pub calls_due: i64,
    /// Llamadas only: the next page starts among the broken promises.
    pub next_broken: bool,
}

/// A list on screen brought up to date with what the server answers now, without
/// moving the rows under the user's pointer: see [`merge_live`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveMerge {
    /// The rows shown, in the order shown, each with its fresh content (a row that
    /// left keeps its last content while it fades).
    pub rows: Vec<ClientRow>,
    /// Shown rows that are no longer in the list: they fade, then go.
    pub gone: Vec<i64>,
    /// Rows at the top of the fresh list that are not shown: offered behind a
    /// "N nuevas" marker rather than slipped in above the user's pointer.
    pub new: usize,
}

/// Brings the `shown` rows (a first page) up to date with a fresh `first` page and,
/// when some shown rows were missing from it, the page after it (`beyond`): rows that
/// new ones pushed down are found there, so only rows that left the list fade. A row
/// pushed further than one page is taken for gone until the next full reload.
pub fn merge_live(shown: &[ClientRow], first: &[ClientRow], beyond: &[ClientRow]) -> LiveMerge {
    let fresh: std::collections::HashMap<i64, &ClientRow> =
        first.iter().chain(beyond).map(|r| (r.id, r)).collect();
    let on_screen: std::collections::HashSet<i64> = shown.iter().map(|r| r.id).collect();
    let mut gone = Vec::new();
    let rows = shown
        .iter()
        .map(|r| match fresh.get(&r.id) {
            Some(now) => (*now).clone(),
            None => {
                gone.push(r.id);
                r.clone()
            }
        })
        .collect();
    LiveMerge {
        rows,
        gone,
        new: first.iter().filter(|r| !on_screen.contains(&r.id)).count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, pending: i64) -> ClientRow {
        ClientRow {
            id,
            display_name: format!("Cliente {id}"),
            document_number: id.to_string(),
            advisor_name: None,
            overdue_total_cents: 0,
            currency: "COP".into(),
            oldest_unpaid_due_date: None,
            days_overdue: 0,
            pending_count: pending,
            last_activity_at: None,
            last_activity_local: None,
            last_channel: None,
            last_subject: String::new(),
            call_due_date: None,
            call_reason: None,
            alert_key: 0,
            contact_problems: 0,
            call_blocked: None,
        }
    }

    #[test]
    fn a_live_update_keeps_the_rows_in_place_fades_the_gone_and_counts_the_new() {
        let shown = [row(1, 1), row(2, 1), row(3, 1), row(4, 1)];
        // 5 arrived at the top, 2 was answered, 1 got another message (and moved up
        // in the server's order), 4 was pushed to the next page.
        let first = [row(5, 1), row(1, 2), row(3, 1)];
        let beyond = [row(4, 1), row(9, 1)];
        let m = merge_live(&shown, &first, &beyond);
        assert_eq!(
            m.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
            [1, 2, 3, 4],
            "nothing moves under the pointer"
        );
        assert_eq!(m.rows[0].pending_count, 2, "updated in place");
        assert_eq!(m.gone, [2]);
        assert_eq!(m.new, 1, "9 is beyond the first page: not new at the top");
    }

    #[test]
    fn an_unchanged_list_merges_to_itself() {
        let shown = [row(1, 1), row(2, 3)];
        let m = merge_live(&shown, &shown, &[]);
        assert_eq!(
            m,
            LiveMerge {
                rows: shown.to_vec(),
                gone: vec![],
                new: 0
            }
        );
    }

    #[test]
    fn sorts_round_trip_and_unknown_falls_back_to_default() {
        for s in ClientSort::ALL {
            assert_eq!(ClientSort::parse(s.as_str()), s);
        }
        assert_eq!(ClientSort::parse("nombre"), ClientSort::DaysOverdueDesc);
    }

    #[test]
    fn inbox_sorts_round_trip_and_default_to_newest_first() {
        for s in ListOrder::all() {
            assert_eq!(ListOrder::parse(s.as_str()), s);
        }
        assert_eq!(ListOrder::all().count(), 5);
        assert_eq!(ListOrder::parse(""), ListOrder::Recent);
    }

    #[test]
    fn a_clients_query_round_trips_through_the_address_bar() {
        let q = ClientListQuery {
            search: "ana rios".into(),
            sort: ClientSort::AmountAsc,
            all_clients: true,
            alerts: AlertFilter {
                non_payment: crate::domain::alerts::NON_PAYMENT_CHOICES[1].bits,
                payment_problem: 0,
                contactability: Some(crate::domain::alerts::Contactability::New),
            },
            after: None,
        };
        let params = q.params();
        let back = ClientListQuery::from_params(|k| {
            params.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
        });
        assert_eq!(back, q);
        assert!(ClientListQuery::default().params().is_empty());
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
            pending_count: 0,
            last_activity_at: None,
            last_activity_local: None,
            last_channel: Some("sms".into()),
            last_subject: String::new(),
            call_due_date: None,
            call_reason: Some("broken_promise".into()),
            alert_key: 0,
            contact_problems: 0,
            call_blocked: None,
        };
        assert_eq!(row.call_reason(), Some(CallReason::BrokenPromise));
        assert_eq!(row.channel(), Some(Channel::Sms));
        assert_eq!(
            row.cursor(ClientSort::AmountAsc.into()),
            ClientCursor::Amount { cents: 500, id: 9 }
        );
        assert_eq!(
            row.cursor(ClientSort::DaysOverdueDesc.into()),
            ClientCursor::Date { date: None, id: 9 }
        );
    }
}
