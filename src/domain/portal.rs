//! The payment portal ("Web de cobros") as the debtor sees it.

use serde::{Deserialize, Serialize};

use crate::domain::debt::Debt;

/// One opening of a client's portal page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalPage {
    /// This visit: later states (viewed the detail, declared…) are added to it.
    pub visit_id: i64,
    pub client_name: String,
    pub currency: String,
    pub overdue_total_cents: i64,
    pub days_overdue: i64,
    /// The debts still to pay.
    pub debts: Vec<Debt>,
    /// The organisation's payment instructions.
    pub instructions: String,
}
