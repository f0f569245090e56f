-- Alerts beside the debtor's name and the contactability indicator (seed 004).
-- alert_events becomes the log of every piece of evidence (what raised or lifted a
-- flag, who and when); alert_changes keeps what each piece raised and lifted; the
-- client row carries the result for the lists.

CREATE TABLE alert_events_v4 (
    id INTEGER PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    event TEXT NOT NULL CHECK (event IN ('wont_pay', 'cant_pay', 'restructuring', 'refinancing',
        'wrong_phone', 'whatsapp_unavailable', 'email_not_found',
        'promise', 'payment_to_verify', 'payment', 'contact_replaced', 'delivered', 'manual_lift')),
    contact_point_id INTEGER REFERENCES contact_points(id) ON DELETE SET NULL,
    -- The phone or address as it was: the point itself may be edited away later.
    address TEXT NOT NULL DEFAULT '',
    -- manual_lift: the kind of alert lifted, and why.
    kind TEXT CHECK (kind IN ('wont_pay', 'cant_pay', 'restructuring', 'refinancing', 'contactability')),
    reason TEXT NOT NULL DEFAULT '',
    outcome_id INTEGER REFERENCES outcomes(id) ON DELETE SET NULL,
    message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    user_id INTEGER REFERENCES users(id),
    at TEXT NOT NULL
);
INSERT INTO alert_events_v4 (id, client_id, event, contact_point_id, address, outcome_id, user_id, at)
    SELECT e.id, e.client_id, e.event, e.contact_point_id, COALESCE(cp.value, ''), e.outcome_id, e.user_id, e.at
    FROM alert_events e LEFT JOIN contact_points cp ON cp.id = e.contact_point_id;
DROP TABLE alert_events;
ALTER TABLE alert_events_v4 RENAME TO alert_events;
CREATE INDEX alert_events_client ON alert_events(client_id, id);

CREATE TABLE alert_changes (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES alert_events(id) ON DELETE CASCADE,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    raised BOOLEAN NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('wont_pay', 'cant_pay', 'restructuring', 'refinancing', 'contactability')),
    problem TEXT CHECK (problem IN ('wrong_phone', 'whatsapp_unavailable', 'email_not_found')),
    contact_point_id INTEGER REFERENCES contact_points(id) ON DELETE SET NULL,
    address TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alert_changes_client ON alert_changes(client_id, id);

-- What went wrong with a contact point, while it is flagged.
ALTER TABLE contact_points ADD COLUMN failed_problem TEXT
    CHECK (failed_problem IN ('wrong_phone', 'whatsapp_unavailable', 'email_not_found'));
-- When the debtor (or someone for them) was first reached: Nuevos until then.
ALTER TABLE clients ADD COLUMN reached_at TEXT;
-- domain::alerts::AlertKey: bits 0-4 the raised kinds (wont_pay 1, cant_pay 2,
-- restructuring 4, refinancing 8, contactability 16), bits 5-6 the indicator (new 0,
-- contactable 1, with problems 2, not contactable 3). One column, so that any
-- combination of the alert filters is one list of keys on one index per scope.
ALTER TABLE clients ADD COLUMN alert_key INTEGER NOT NULL DEFAULT 0;
-- The problems of the flagged points (wrong_phone 1, whatsapp_unavailable 2,
-- email_not_found 4), for the hover text in the lists.
ALTER TABLE clients ADD COLUMN contact_problems INTEGER NOT NULL DEFAULT 0;

-- What came before: phones marked "Equivocado / Suspendido" and the events recorded by
-- outcomes, which nothing lifted yet but promises and payments.
UPDATE contact_points SET failed_problem = 'wrong_phone' WHERE failed_at IS NOT NULL;
UPDATE clients SET reached_at = (SELECT MIN(x.at) FROM (
        SELECT MIN(occurred_at) AS at FROM messages m WHERE m.client_id = clients.id
            AND (m.direction = 'inbound' OR m.status IN ('delivered', 'read'))
        UNION ALL
        SELECT MIN(occurred_at) AS at FROM outcomes o WHERE o.client_id = clients.id
            AND o.contact_class IN ('right_party', 'third_party')) x);
UPDATE clients SET
    contact_problems = CASE WHEN EXISTS (SELECT 1 FROM contact_points cp WHERE cp.client_id = clients.id
        AND cp.failed_problem IS NOT NULL) THEN 1 ELSE 0 END,
    alert_key =
        (CASE WHEN EXISTS (SELECT 1 FROM alert_events e WHERE e.client_id = clients.id AND e.event = 'wont_pay'
            AND e.id > COALESCE((SELECT MAX(l.id) FROM alert_events l WHERE l.client_id = clients.id
                AND l.event IN ('promise', 'payment_to_verify', 'payment')), 0)) THEN 1 ELSE 0 END)
        + (CASE WHEN EXISTS (SELECT 1 FROM alert_events e WHERE e.client_id = clients.id AND e.event = 'cant_pay'
            AND e.id > COALESCE((SELECT MAX(l.id) FROM alert_events l WHERE l.client_id = clients.id
                AND l.event IN ('promise', 'payment_to_verify', 'payment')), 0)) THEN 2 ELSE 0 END)
        + (CASE WHEN EXISTS (SELECT 1 FROM alert_events e WHERE e.client_id = clients.id
            AND e.event = 'restructuring') THEN 4 ELSE 0 END)
        + (CASE WHEN EXISTS (SELECT 1 FROM alert_events e WHERE e.client_id = clients.id
            AND e.event = 'refinancing') THEN 8 ELSE 0 END)
        + (CASE WHEN EXISTS (SELECT 1 FROM contact_points cp WHERE cp.client_id = clients.id
            AND cp.failed_problem IS NOT NULL) THEN 16 ELSE 0 END)
        + 32 * (CASE
            WHEN (SELECT COUNT(*) FROM contact_points cp WHERE cp.client_id = clients.id AND cp.failed_problem IS NULL) = 0 THEN 3
            WHEN EXISTS (SELECT 1 FROM contact_points cp WHERE cp.client_id = clients.id AND cp.failed_problem IS NOT NULL) THEN 2
            WHEN reached_at IS NOT NULL THEN 1
            ELSE 0 END);

-- The alert filters, per scope. The keys a filter names are read as index ranges;
-- with the sort keys and the id in the index, a page of the Clientes list is ordered
-- from the index alone and only its own rows are read.
CREATE INDEX clients_adv_alert ON clients(advisor_id, alert_key, oldest_unpaid_due_date, overdue_total_cents, id);
CREATE INDEX clients_sup_alert ON clients(supervisor_id, alert_key, oldest_unpaid_due_date, overdue_total_cents, id);
CREATE INDEX clients_alert ON clients(alert_key, oldest_unpaid_due_date, overdue_total_cents, id);
