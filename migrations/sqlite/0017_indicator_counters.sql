-- Indicadores de gestión read the period's outcomes and promises from these hourly
-- counters instead of the raw rows, so that a 30-day figure costs the same at any
-- history size. Kept by triggers, in the transaction of the change they count, on
-- every path: registering, settling, cancelling, reassigning a client. Hours are UTC
-- (hours since the epoch): where the organisation's days start on the hour (a zone a
-- whole number of hours from UTC, as every Latin American one) any period of whole
-- days is a range of hours, and changing the zone needs no rebuild; other zones
-- recount the rows. 0 stands for "none", as in pending_counters.
--
-- The tables have PostgreSQL's shape (see its migration: there the triggers append
-- rows that a job folds, to take no lock on a shared counter); SQLite writes one
-- transaction at a time, so its triggers update the merged row in place.
CREATE TABLE indicator_hours (
    hour INTEGER NOT NULL,
    advisor_key INTEGER NOT NULL,
    supervisor_key INTEGER NOT NULL,
    outcomes INTEGER NOT NULL DEFAULT 0,
    right_party INTEGER NOT NULL DEFAULT 0,
    promises INTEGER NOT NULL DEFAULT 0,
    kept INTEGER NOT NULL DEFAULT 0,
    broken INTEGER NOT NULL DEFAULT 0,
    merged BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE UNIQUE INDEX indicator_hours_merged ON indicator_hours(hour, advisor_key, supervisor_key) WHERE merged;
CREATE INDEX indicator_hours_hour ON indicator_hours(hour);
CREATE INDEX indicator_hours_advisor ON indicator_hours(advisor_key, hour);
CREATE INDEX indicator_hours_supervisor ON indicator_hours(supervisor_key, hour);
CREATE INDEX indicator_hours_appended ON indicator_hours(hour) WHERE NOT merged;

-- What came before.
INSERT INTO indicator_hours (hour, advisor_key, supervisor_key, outcomes, right_party, promises, kept, broken)
SELECT x.hour, COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0), SUM(x.outcomes), SUM(x.right_party),
    SUM(x.promises), SUM(x.kept), SUM(x.broken)
FROM (
    SELECT client_id, CAST(strftime('%s', occurred_at) AS INTEGER) / 3600 AS hour, 1 AS outcomes,
        contact_class = 'right_party' AS right_party, 0 AS promises, 0 AS kept, 0 AS broken
    FROM outcomes
    UNION ALL
    SELECT client_id, CAST(strftime('%s', created_at) AS INTEGER) / 3600, 0, 0, 1, 0, 0 FROM promises
    UNION ALL
    SELECT client_id, CAST(strftime('%s', resolved_at) AS INTEGER) / 3600, 0, 0, 0, state = 'kept',
        state = 'broken'
    FROM promises WHERE state IN ('kept', 'broken') AND resolved_at IS NOT NULL
) x JOIN clients c ON c.id = x.client_id
GROUP BY x.hour, COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0);

CREATE TRIGGER outcomes_indicator_hours AFTER INSERT ON outcomes
BEGIN
    INSERT INTO indicator_hours (hour, advisor_key, supervisor_key, outcomes, right_party)
    SELECT CAST(strftime('%s', new.occurred_at) AS INTEGER) / 3600, COALESCE(c.advisor_id, 0),
        COALESCE(c.supervisor_id, 0), 1, CASE WHEN new.contact_class = 'right_party' THEN 1 ELSE 0 END
    FROM clients c WHERE c.id = new.client_id
    ON CONFLICT (hour, advisor_key, supervisor_key) WHERE merged DO UPDATE
        SET outcomes = outcomes + excluded.outcomes, right_party = right_party + excluded.right_party;
END;

CREATE TRIGGER promises_indicator_hours AFTER INSERT ON promises
BEGIN
    INSERT INTO indicator_hours (hour, advisor_key, supervisor_key, promises, kept, broken)
    SELECT CAST(strftime('%s', new.created_at) AS INTEGER) / 3600, COALESCE(c.advisor_id, 0),
        COALESCE(c.supervisor_id, 0), 1, 0, 0
    FROM clients c WHERE c.id = new.client_id
    ON CONFLICT (hour, advisor_key, supervisor_key) WHERE merged DO UPDATE SET promises = promises + 1;
    INSERT INTO indicator_hours (hour, advisor_key, supervisor_key, kept, broken)
    SELECT CAST(strftime('%s', new.resolved_at) AS INTEGER) / 3600, COALESCE(c.advisor_id, 0),
        COALESCE(c.supervisor_id, 0), new.state = 'kept', new.state = 'broken'
    FROM clients c WHERE c.id = new.client_id AND new.state IN ('kept', 'broken') AND new.resolved_at IS NOT NULL
    ON CONFLICT (hour, advisor_key, supervisor_key) WHERE merged DO UPDATE
        SET kept = kept + excluded.kept, broken = broken + excluded.broken;
END;

CREATE TRIGGER promises_settled_indicator_hours AFTER UPDATE OF state, resolved_at ON promises
WHEN old.state IN ('kept', 'broken') OR new.state IN ('kept', 'broken')
BEGIN
    INSERT INTO indicator_hours (hour, advisor_key, supervisor_key, kept, broken)
    SELECT CAST(strftime('%s', old.resolved_at) AS INTEGER) / 3600, COALESCE(c.advisor_id, 0),
        COALESCE(c.supervisor_id, 0), -(old.state = 'kept'), -(old.state = 'broken')
    FROM clients c WHERE c.id = old.client_id AND old.state IN ('kept', 'broken') AND old.resolved_at IS NOT NULL
    ON CONFLICT (hour, advisor_key, supervisor_key) WHERE merged DO UPDATE
        SET kept = kept + excluded.kept, broken = broken + excluded.broken;
    INSERT INTO indicator_hours (hour, advisor_key, supervisor_key, kept, broken)
    SELECT CAST(strftime('%s', new.resolved_at) AS INTEGER) / 3600, COALESCE(c.advisor_id, 0),
        COALESCE(c.supervisor_id, 0), new.state = 'kept', new.state = 'broken'
    FROM clients c WHERE c.id = new.client_id AND new.state IN ('kept', 'broken') AND new.resolved_at IS NOT NULL
    ON CONFLICT (hour, advisor_key, supervisor_key) WHERE merged DO UPDATE
        SET kept = kept + excluded.kept, broken = broken + excluded.broken;
END;

CREATE TRIGGER clients_indicator_hours AFTER UPDATE OF advisor_id, supervisor_id ON clients
WHEN old.advisor_id IS NOT new.advisor_id OR old.supervisor_id IS NOT new.supervisor_id
BEGIN
    -- The client's counts by hour, taken from the old holder (-1) and given to the new.
    INSERT INTO indicator_hours (hour, advisor_key, supervisor_key, outcomes, right_party, promises, kept, broken)
    SELECT x.hour, COALESCE(k.advisor_id, 0), COALESCE(k.supervisor_id, 0), k.factor * x.outcomes,
        k.factor * x.right_party, k.factor * x.promises, k.factor * x.kept, k.factor * x.broken
    FROM (
        SELECT hour, SUM(outcomes) AS outcomes, SUM(right_party) AS right_party, SUM(promises) AS promises,
            SUM(kept) AS kept, SUM(broken) AS broken
        FROM (
            SELECT CAST(strftime('%s', occurred_at) AS INTEGER) / 3600 AS hour, 1 AS outcomes,
                contact_class = 'right_party' AS right_party, 0 AS promises, 0 AS kept, 0 AS broken
            FROM outcomes WHERE client_id = new.id
            UNION ALL
            SELECT CAST(strftime('%s', created_at) AS INTEGER) / 3600, 0, 0, 1, 0, 0
            FROM promises WHERE client_id = new.id
            UNION ALL
            SELECT CAST(strftime('%s', resolved_at) AS INTEGER) / 3600, 0, 0, 0, state = 'kept', state = 'broken'
            FROM promises WHERE client_id = new.id AND state IN ('kept', 'broken') AND resolved_at IS NOT NULL
        ) GROUP BY hour
    ) x, (
        SELECT -1 AS factor, old.advisor_id AS advisor_id, old.supervisor_id AS supervisor_id
        UNION ALL SELECT 1, new.advisor_id, new.supervisor_id
    ) k
    WHERE true
    ON CONFLICT (hour, advisor_key, supervisor_key) WHERE merged DO UPDATE
        SET outcomes = outcomes + excluded.outcomes, right_party = right_party + excluded.right_party,
            promises = promises + excluded.promises, kept = kept + excluded.kept, broken = broken + excluded.broken;
END;

-- The clients per alert key and holder (contactability and alerts on Indicadores),
-- and their debts per currency and due date (overdue money, aging and DSO): the
-- portfolio as of now, kept by triggers on every path that changes a key, a debt or
-- a client's holder.
CREATE TABLE portfolio_keys (
    advisor_key INTEGER NOT NULL,
    supervisor_key INTEGER NOT NULL,
    alert_key INTEGER NOT NULL,
    clients INTEGER NOT NULL,
    merged BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE UNIQUE INDEX portfolio_keys_merged ON portfolio_keys(advisor_key, supervisor_key, alert_key) WHERE merged;
CREATE INDEX portfolio_keys_supervisor ON portfolio_keys(supervisor_key);
CREATE INDEX portfolio_keys_appended ON portfolio_keys(advisor_key) WHERE NOT merged;

INSERT INTO portfolio_keys (advisor_key, supervisor_key, alert_key, clients)
SELECT COALESCE(advisor_id, 0), COALESCE(supervisor_id, 0), alert_key, COUNT(*)
FROM clients GROUP BY COALESCE(advisor_id, 0), COALESCE(supervisor_id, 0), alert_key;

CREATE TRIGGER clients_portfolio_keys_insert AFTER INSERT ON clients
BEGIN
    INSERT INTO portfolio_keys (advisor_key, supervisor_key, alert_key, clients)
    VALUES (COALESCE(new.advisor_id, 0), COALESCE(new.supervisor_id, 0), new.alert_key, 1)
    ON CONFLICT (advisor_key, supervisor_key, alert_key) WHERE merged DO UPDATE SET clients = clients + 1;
END;

CREATE TRIGGER clients_portfolio_keys_delete AFTER DELETE ON clients
BEGIN
    UPDATE portfolio_keys SET clients = clients - 1
    WHERE advisor_key = COALESCE(old.advisor_id, 0) AND supervisor_key = COALESCE(old.supervisor_id, 0)
        AND alert_key = old.alert_key;
END;

CREATE TRIGGER clients_portfolio_keys_update AFTER UPDATE OF alert_key, advisor_id, supervisor_id ON clients
WHEN old.alert_key IS NOT new.alert_key OR old.advisor_id IS NOT new.advisor_id
    OR old.supervisor_id IS NOT new.supervisor_id
BEGIN
    UPDATE portfolio_keys SET clients = clients - 1
    WHERE advisor_key = COALESCE(old.advisor_id, 0) AND supervisor_key = COALESCE(old.supervisor_id, 0)
        AND alert_key = old.alert_key;
    INSERT INTO portfolio_keys (advisor_key, supervisor_key, alert_key, clients)
    VALUES (COALESCE(new.advisor_id, 0), COALESCE(new.supervisor_id, 0), new.alert_key, 1)
    ON CONFLICT (advisor_key, supervisor_key, alert_key) WHERE merged DO UPDATE SET clients = clients + 1;
END;

-- `open`: debts not fully paid. Paid debts still count for the DSO's recent sales.
CREATE TABLE portfolio_debts (
    advisor_key INTEGER NOT NULL,
    supervisor_key INTEGER NOT NULL,
    currency TEXT NOT NULL,
    due_date TEXT NOT NULL,
    debts INTEGER NOT NULL,
    open INTEGER NOT NULL,
    amount_cents INTEGER NOT NULL,
    unpaid_cents INTEGER NOT NULL,
    merged BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE UNIQUE INDEX portfolio_debts_merged ON portfolio_debts(advisor_key, supervisor_key, currency, due_date) WHERE merged;
-- Covering, in the order the page groups them: a scope's rows are summed by
-- currency and due date straight from one index.
CREATE INDEX portfolio_debts_dates ON portfolio_debts(currency, due_date, debts, open, amount_cents, unpaid_cents);
CREATE INDEX portfolio_debts_advisor ON portfolio_debts(advisor_key, currency, due_date, debts, open, amount_cents,
    unpaid_cents);
CREATE INDEX portfolio_debts_supervisor ON portfolio_debts(supervisor_key, currency, due_date, debts, open,
    amount_cents, unpaid_cents);
CREATE INDEX portfolio_debts_appended ON portfolio_debts(advisor_key) WHERE NOT merged;

INSERT INTO portfolio_debts (advisor_key, supervisor_key, currency, due_date, debts, open, amount_cents,
    unpaid_cents)
SELECT COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0), d.currency, d.due_date, COUNT(*),
    SUM(d.amount_cents > d.paid_cents), SUM(d.amount_cents), SUM(d.amount_cents - d.paid_cents)
FROM debts d JOIN clients c ON c.id = d.client_id
GROUP BY COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0), d.currency, d.due_date;

CREATE TRIGGER debts_portfolio_insert AFTER INSERT ON debts
BEGIN
    INSERT INTO portfolio_debts (advisor_key, supervisor_key, currency, due_date, debts, open, amount_cents,
        unpaid_cents)
    SELECT COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0), new.currency, new.due_date, 1,
        new.amount_cents > new.paid_cents, new.amount_cents, new.amount_cents - new.paid_cents
    FROM clients c WHERE c.id = new.client_id
    ON CONFLICT (advisor_key, supervisor_key, currency, due_date) WHERE merged DO UPDATE
        SET debts = debts + 1, open = open + excluded.open, amount_cents = amount_cents + excluded.amount_cents,
            unpaid_cents = unpaid_cents + excluded.unpaid_cents;
END;

CREATE TRIGGER debts_portfolio_delete AFTER DELETE ON debts
BEGIN
    UPDATE portfolio_debts SET debts = debts - 1, open = open - (old.amount_cents > old.paid_cents),
        amount_cents = amount_cents - old.amount_cents, unpaid_cents = unpaid_cents - (old.amount_cents - old.paid_cents)
    WHERE (advisor_key, supervisor_key) = (SELECT COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0)
            FROM clients c WHERE c.id = old.client_id)
        AND currency = old.currency AND due_date = old.due_date;
END;

CREATE TRIGGER debts_portfolio_update AFTER UPDATE OF client_id, due_date, amount_cents, paid_cents, currency ON debts
WHEN old.client_id IS NOT new.client_id OR old.due_date IS NOT new.due_date
    OR old.amount_cents IS NOT new.amount_cents OR old.paid_cents IS NOT new.paid_cents
    OR old.currency IS NOT new.currency
BEGIN
    UPDATE portfolio_debts SET debts = debts - 1, open = open - (old.amount_cents > old.paid_cents),
        amount_cents = amount_cents - old.amount_cents, unpaid_cents = unpaid_cents - (old.amount_cents - old.paid_cents)
    WHERE (advisor_key, supervisor_key) = (SELECT COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0)
            FROM clients c WHERE c.id = old.client_id)
        AND currency = old.currency AND due_date = old.due_date;
    INSERT INTO portfolio_debts (advisor_key, supervisor_key, currency, due_date, debts, open, amount_cents,
        unpaid_cents)
    SELECT COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0), new.currency, new.due_date, 1,
        new.amount_cents > new.paid_cents, new.amount_cents, new.amount_cents - new.paid_cents
    FROM clients c WHERE c.id = new.client_id
    ON CONFLICT (advisor_key, supervisor_key, currency, due_date) WHERE merged DO UPDATE
        SET debts = debts + 1, open = open + excluded.open, amount_cents = amount_cents + excluded.amount_cents,
            unpaid_cents = unpaid_cents + excluded.unpaid_cents;
END;

CREATE TRIGGER clients_portfolio_debts AFTER UPDATE OF advisor_id, supervisor_id ON clients
WHEN old.advisor_id IS NOT new.advisor_id OR old.supervisor_id IS NOT new.supervisor_id
BEGIN
    INSERT INTO portfolio_debts (advisor_key, supervisor_key, currency, due_date, debts, open, amount_cents,
        unpaid_cents)
    SELECT COALESCE(k.advisor_id, 0), COALESCE(k.supervisor_id, 0), x.currency, x.due_date, k.factor * x.debts,
        k.factor * x.open, k.factor * x.amount_cents, k.factor * x.unpaid_cents
    FROM (
        SELECT currency, due_date, COUNT(*) AS debts, SUM(amount_cents > paid_cents) AS open,
            SUM(amount_cents) AS amount_cents, SUM(amount_cents - paid_cents) AS unpaid_cents
        FROM debts WHERE client_id = new.id GROUP BY currency, due_date
    ) x, (
        SELECT -1 AS factor, old.advisor_id AS advisor_id, old.supervisor_id AS supervisor_id
        UNION ALL SELECT 1, new.advisor_id, new.supervisor_id
    ) k
    WHERE true
    ON CONFLICT (advisor_key, supervisor_key, currency, due_date) WHERE merged DO UPDATE
        SET debts = debts + excluded.debts, open = open + excluded.open,
            amount_cents = amount_cents + excluded.amount_cents, unpaid_cents = unpaid_cents + excluded.unpaid_cents;
END;

-- The payments waiting for review per holder and currency.
CREATE TABLE portfolio_payments (
    advisor_key INTEGER NOT NULL,
    supervisor_key INTEGER NOT NULL,
    currency TEXT NOT NULL,
    to_verify INTEGER NOT NULL,
    to_verify_cents INTEGER NOT NULL,
    merged BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE UNIQUE INDEX portfolio_payments_merged ON portfolio_payments(advisor_key, supervisor_key, currency) WHERE merged;
CREATE INDEX portfolio_payments_supervisor ON portfolio_payments(supervisor_key);
CREATE INDEX portfolio_payments_appended ON portfolio_payments(advisor_key) WHERE NOT merged;

INSERT INTO portfolio_payments (advisor_key, supervisor_key, currency, to_verify, to_verify_cents)
SELECT COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0), p.currency, COUNT(*), SUM(p.amount_cents)
FROM payments p JOIN clients c ON c.id = p.client_id WHERE p.status = 'to_verify'
GROUP BY COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0), p.currency;

CREATE TRIGGER payments_portfolio_insert AFTER INSERT ON payments WHEN new.status = 'to_verify'
BEGIN
    INSERT INTO portfolio_payments (advisor_key, supervisor_key, currency, to_verify, to_verify_cents)
    SELECT COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0), new.currency, 1, new.amount_cents
    FROM clients c WHERE c.id = new.client_id
    ON CONFLICT (advisor_key, supervisor_key, currency) WHERE merged DO UPDATE
        SET to_verify = to_verify + 1, to_verify_cents = to_verify_cents + excluded.to_verify_cents;
END;

CREATE TRIGGER payments_portfolio_delete AFTER DELETE ON payments WHEN old.status = 'to_verify'
BEGIN
    UPDATE portfolio_payments SET to_verify = to_verify - 1, to_verify_cents = to_verify_cents - old.amount_cents
    WHERE (advisor_key, supervisor_key) = (SELECT COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0)
            FROM clients c WHERE c.id = old.client_id)
        AND currency = old.currency;
END;

CREATE TRIGGER payments_portfolio_update AFTER UPDATE OF status, amount_cents, currency, client_id ON payments
WHEN (old.status = 'to_verify' OR new.status = 'to_verify') AND (old.status IS NOT new.status
    OR old.amount_cents IS NOT new.amount_cents OR old.currency IS NOT new.currency
    OR old.client_id IS NOT new.client_id)
BEGIN
    UPDATE portfolio_payments SET to_verify = to_verify - 1, to_verify_cents = to_verify_cents - old.amount_cents
    WHERE old.status = 'to_verify'
        AND (advisor_key, supervisor_key) = (SELECT COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0)
            FROM clients c WHERE c.id = old.client_id)
        AND currency = old.currency;
    INSERT INTO portfolio_payments (advisor_key, supervisor_key, currency, to_verify, to_verify_cents)
    SELECT COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0), new.currency, 1, new.amount_cents
    FROM clients c WHERE c.id = new.client_id AND new.status = 'to_verify'
    ON CONFLICT (advisor_key, supervisor_key, currency) WHERE merged DO UPDATE
        SET to_verify = to_verify + 1, to_verify_cents = to_verify_cents + excluded.to_verify_cents;
END;

CREATE TRIGGER clients_portfolio_payments AFTER UPDATE OF advisor_id, supervisor_id ON clients
WHEN old.advisor_id IS NOT new.advisor_id OR old.supervisor_id IS NOT new.supervisor_id
BEGIN
    INSERT INTO portfolio_payments (advisor_key, supervisor_key, currency, to_verify, to_verify_cents)
    SELECT COALESCE(k.advisor_id, 0), COALESCE(k.supervisor_id, 0), x.currency, k.factor * x.n, k.factor * x.cents
    FROM (
        SELECT currency, COUNT(*) AS n, SUM(amount_cents) AS cents
        FROM payments WHERE client_id = new.id AND status = 'to_verify' GROUP BY currency
    ) x, (
        SELECT -1 AS factor, old.advisor_id AS advisor_id, old.supervisor_id AS supervisor_id
        UNION ALL SELECT 1, new.advisor_id, new.supervisor_id
    ) k
    WHERE true
    ON CONFLICT (advisor_key, supervisor_key, currency) WHERE merged DO UPDATE
        SET to_verify = to_verify + excluded.to_verify, to_verify_cents = to_verify_cents + excluded.to_verify_cents;
END;
