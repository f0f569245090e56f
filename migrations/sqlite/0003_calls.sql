-- Calls and their outcomes ("Gestión"): call tasks for the Llamadas tray, registered
-- outcomes, promises to pay, payments to verify, the files that back them, and the
-- events the alerts feature turns into flags.

-- A call to make on a day. Open until an outcome is registered for the client on or
-- after that day. Created by "Volver a llamar", by a broken promise, or by a flow step.
CREATE TABLE call_tasks (
    id INTEGER PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    due_date TEXT NOT NULL,
    reason TEXT NOT NULL CHECK (reason IN ('flow', 'callback', 'broken_promise')),
    promise_id INTEGER,
    created_at TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id),
    closed_at TEXT,
    closed_by INTEGER REFERENCES users(id),
    outcome_id INTEGER
);
CREATE INDEX call_tasks_open ON call_tasks(client_id, due_date) WHERE closed_at IS NULL;
-- A promise breaks once: the job that breaks it schedules exactly one call.
CREATE UNIQUE INDEX call_tasks_promise ON call_tasks(promise_id) WHERE promise_id IS NOT NULL;

-- Every registered outcome: the interaction shown in the conversation.
CREATE TABLE outcomes (
    id INTEGER PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    situation TEXT NOT NULL CHECK (situation IN ('outbound_contacted', 'outbound_not_contacted', 'inbound')),
    outcome TEXT NOT NULL,
    contact_class TEXT NOT NULL CHECK (contact_class IN ('right_party', 'third_party', 'attempt', 'failed')),
    party_role TEXT NOT NULL CHECK (party_role IN ('client', 'reference', 'guarantor')),
    party_ordinal INTEGER NOT NULL CHECK (party_ordinal BETWEEN 1 AND 2),
    phone TEXT NOT NULL DEFAULT '',
    contact_point_id INTEGER REFERENCES contact_points(id) ON DELETE SET NULL,
    date TEXT,
    amount_cents INTEGER CHECK (amount_cents > 0),
    currency TEXT,
    payment_method TEXT NOT NULL DEFAULT '',
    reference TEXT NOT NULL DEFAULT '',
    until_date TEXT,
    code TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    user_id INTEGER NOT NULL REFERENCES users(id),
    occurred_at TEXT NOT NULL
);
CREATE INDEX outcomes_client ON outcomes(client_id, occurred_at);

CREATE TABLE promises (
    id INTEGER PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    outcome_id INTEGER REFERENCES outcomes(id) ON DELETE SET NULL,
    promised_date TEXT NOT NULL,
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    currency TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'kept', 'broken', 'cancelled')),
    created_on TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by INTEGER NOT NULL REFERENCES users(id),
    resolved_at TEXT
);
CREATE INDEX promises_client ON promises(client_id, created_at);
CREATE INDEX promises_pending ON promises(promised_date, id) WHERE state = 'pending';

CREATE TABLE payments (
    id INTEGER PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    outcome_id INTEGER REFERENCES outcomes(id) ON DELETE SET NULL,
    paid_on TEXT NOT NULL,
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    currency TEXT NOT NULL,
    method TEXT NOT NULL DEFAULT '',
    reference TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'to_verify' CHECK (status IN ('to_verify', 'approved', 'rejected')),
    declared_at TEXT NOT NULL,
    declared_by INTEGER NOT NULL REFERENCES users(id),
    reviewed_at TEXT,
    reviewed_by INTEGER REFERENCES users(id),
    review_reason TEXT NOT NULL DEFAULT '',
    -- What approval could not apply because the debts were already paid.
    unapplied_cents INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX payments_client ON payments(client_id, paid_on);
CREATE INDEX payments_to_verify ON payments(declared_at, id) WHERE status = 'to_verify';

-- Receipts and other files attached to an outcome or to a payment declared directly.
CREATE TABLE management_files (
    id INTEGER PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    outcome_id INTEGER REFERENCES outcomes(id) ON DELETE CASCADE,
    payment_id INTEGER REFERENCES payments(id) ON DELETE CASCADE,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    content BLOB NOT NULL,
    CHECK (outcome_id IS NOT NULL OR payment_id IS NOT NULL)
);
CREATE INDEX management_files_outcome ON management_files(outcome_id);
CREATE INDEX management_files_payment ON management_files(payment_id);

-- Evidence for the alerts feature: raised by outcomes (won't / can't pay, payment
-- problems, a failed phone) and lifted by promises and payments.
CREATE TABLE alert_events (
    id INTEGER PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    event TEXT NOT NULL CHECK (event IN ('wont_pay', 'cant_pay', 'restructuring', 'refinancing', 'wrong_phone',
        'promise', 'payment_to_verify', 'payment')),
    contact_point_id INTEGER REFERENCES contact_points(id) ON DELETE SET NULL,
    outcome_id INTEGER REFERENCES outcomes(id) ON DELETE SET NULL,
    user_id INTEGER REFERENCES users(id),
    at TEXT NOT NULL
);
CREATE INDEX alert_events_client ON alert_events(client_id, at);

-- A phone the debtor does not answer on ("Equivocado / Suspendido").
ALTER TABLE contact_points ADD COLUMN failed_at TEXT;

-- Call summary: the earliest open call task and why (a broken promise wins, to put the
-- client at the top of the tray), rewritten with every task change (server::calls).
ALTER TABLE clients ADD COLUMN call_due_date TEXT;
ALTER TABLE clients ADD COLUMN call_reason TEXT;
-- Main-flow suspension: paused until a date (a promise, "Pausar comunicaciones"), and
-- stopped outright by "No quiere / No puede pagar" or a payment awaiting verification.
ALTER TABLE clients ADD COLUMN flow_paused_until TEXT;
ALTER TABLE clients ADD COLUMN flow_stop TEXT CHECK (flow_stop IN ('wont_pay', 'cant_pay', 'payment_to_verify'));

-- The Llamadas tray's orders per scope, for its two parts (broken promises first,
-- then the rest), and its counter. Without the broken-promise indexes the first part
-- reads and discards about 70 other calls for each broken promise it shows.
CREATE INDEX clients_adv_calls_oldest ON clients(advisor_id, oldest_unpaid_due_date, id) WHERE call_due_date IS NOT NULL;
CREATE INDEX clients_adv_calls_overdue ON clients(advisor_id, overdue_total_cents, id) WHERE call_due_date IS NOT NULL;
CREATE INDEX clients_sup_calls_oldest ON clients(supervisor_id, oldest_unpaid_due_date, id) WHERE call_due_date IS NOT NULL;
CREATE INDEX clients_sup_calls_overdue ON clients(supervisor_id, overdue_total_cents, id) WHERE call_due_date IS NOT NULL;
CREATE INDEX clients_calls_oldest ON clients(oldest_unpaid_due_date, id) WHERE call_due_date IS NOT NULL;
CREATE INDEX clients_calls_overdue ON clients(overdue_total_cents, id) WHERE call_due_date IS NOT NULL;
CREATE INDEX clients_adv_broken_oldest ON clients(advisor_id, oldest_unpaid_due_date, id) WHERE call_reason = 'broken_promise';
CREATE INDEX clients_adv_broken_overdue ON clients(advisor_id, overdue_total_cents, id) WHERE call_reason = 'broken_promise';
CREATE INDEX clients_sup_broken_oldest ON clients(supervisor_id, oldest_unpaid_due_date, id) WHERE call_reason = 'broken_promise';
CREATE INDEX clients_sup_broken_overdue ON clients(supervisor_id, overdue_total_cents, id) WHERE call_reason = 'broken_promise';
CREATE INDEX clients_broken_oldest ON clients(oldest_unpaid_due_date, id) WHERE call_reason = 'broken_promise';
CREATE INDEX clients_broken_overdue ON clients(overdue_total_cents, id) WHERE call_reason = 'broken_promise';
CREATE INDEX clients_adv_calls_due ON clients(advisor_id, call_due_date) WHERE call_due_date IS NOT NULL;
CREATE INDEX clients_sup_calls_due ON clients(supervisor_id, call_due_date) WHERE call_due_date IS NOT NULL;
CREATE INDEX clients_calls_due ON clients(call_due_date) WHERE call_due_date IS NOT NULL;
