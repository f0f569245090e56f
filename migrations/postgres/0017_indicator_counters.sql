-- Indicadores de gestión read the period's outcomes and promises from these hourly
-- counters instead of the raw rows, so that a 30-day figure costs the same at any
-- history size. Kept by triggers, in the transaction of the change they count, on
-- every path: registering, settling, cancelling, reassigning a client. Hours are UTC
-- (hours since the epoch): where the organisation's days start on the hour (a zone a
-- whole number of hours from UTC, as every Latin American one) any period of whole
-- days is a range of hours, and changing the zone needs no rebuild; other zones
-- recount the rows. 0 stands for "none", as in pending_counters.
--
-- The triggers only append signed rows: an upsert would lock a holder's counter row
-- until commit, and a transaction that touches several clients (settling promises,
-- reassigning a portfolio) would then wait on counters in another order than one
-- that registers an outcome, which is a deadlock. Every server folds the appended
-- rows every five minutes into one merged row per key (`indicators::fold`).
CREATE TABLE indicator_hours (
    hour BIGINT NOT NULL,
    advisor_key BIGINT NOT NULL,
    supervisor_key BIGINT NOT NULL,
    outcomes BIGINT NOT NULL DEFAULT 0,
    right_party BIGINT NOT NULL DEFAULT 0,
    promises BIGINT NOT NULL DEFAULT 0,
    kept BIGINT NOT NULL DEFAULT 0,
    broken BIGINT NOT NULL DEFAULT 0,
    merged BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX indicator_hours_merged ON indicator_hours(hour, advisor_key, supervisor_key) WHERE merged;
CREATE INDEX indicator_hours_hour ON indicator_hours(hour);
CREATE INDEX indicator_hours_advisor ON indicator_hours(advisor_key, hour);
CREATE INDEX indicator_hours_supervisor ON indicator_hours(supervisor_key, hour);
CREATE INDEX indicator_hours_appended ON indicator_hours(hour) WHERE NOT merged;

CREATE FUNCTION indicator_hour(at TIMESTAMPTZ) RETURNS BIGINT LANGUAGE sql IMMUTABLE AS $$
    SELECT floor(extract(epoch FROM at) / 3600)::BIGINT
$$;

-- One client's counts by hour, negated when `factor` is -1, for the holder given.
CREATE FUNCTION client_indicator_hours(client BIGINT, advisor BIGINT, supervisor BIGINT, factor BIGINT)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO indicator_hours (hour, advisor_key, supervisor_key, outcomes, right_party, promises, kept, broken)
    SELECT x.hour, COALESCE(advisor, 0), COALESCE(supervisor, 0), factor * SUM(x.outcomes),
        factor * SUM(x.right_party), factor * SUM(x.promises), factor * SUM(x.kept), factor * SUM(x.broken)
    FROM (
        SELECT indicator_hour(occurred_at) AS hour, 1 AS outcomes,
            (contact_class = 'right_party')::INT AS right_party, 0 AS promises, 0 AS kept, 0 AS broken
        FROM outcomes WHERE client_id = client
        UNION ALL
        SELECT indicator_hour(created_at), 0, 0, 1, 0, 0 FROM promises WHERE client_id = client
        UNION ALL
        SELECT indicator_hour(resolved_at), 0, 0, 0, (state = 'kept')::INT, (state = 'broken')::INT
        FROM promises WHERE client_id = client AND state IN ('kept', 'broken') AND resolved_at IS NOT NULL
    ) x
    GROUP BY x.hour
$$;

-- What came before.
INSERT INTO indicator_hours (hour, advisor_key, supervisor_key, outcomes, right_party, promises, kept, broken,
    merged)
SELECT x.hour, COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0), SUM(x.outcomes), SUM(x.right_party),
    SUM(x.promises), SUM(x.kept), SUM(x.broken), TRUE
FROM (
    SELECT client_id, indicator_hour(occurred_at) AS hour, 1 AS outcomes,
        (contact_class = 'right_party')::INT AS right_party, 0 AS promises, 0 AS kept, 0 AS broken
    FROM outcomes
    UNION ALL
    SELECT client_id, indicator_hour(created_at), 0, 0, 1, 0, 0 FROM promises
    UNION ALL
    SELECT client_id, indicator_hour(resolved_at), 0, 0, 0, (state = 'kept')::INT, (state = 'broken')::INT
    FROM promises WHERE state IN ('kept', 'broken') AND resolved_at IS NOT NULL
) x JOIN clients c ON c.id = x.client_id
GROUP BY x.hour, COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0);

CREATE FUNCTION outcomes_indicator_hours() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO indicator_hours (hour, advisor_key, supervisor_key, outcomes, right_party)
    SELECT indicator_hour(NEW.occurred_at), COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0), 1,
        (NEW.contact_class = 'right_party')::INT
    FROM clients c WHERE c.id = NEW.client_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER outcomes_indicator_hours AFTER INSERT ON outcomes
    FOR EACH ROW EXECUTE FUNCTION outcomes_indicator_hours();

CREATE FUNCTION promises_indicator_hours() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO indicator_hours (hour, advisor_key, supervisor_key, promises, kept, broken)
    SELECT x.hour, COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0), x.promises, x.kept, x.broken
    FROM clients c, (
        SELECT indicator_hour(NEW.created_at) AS hour, 1 AS promises, 0 AS kept, 0 AS broken
        WHERE TG_OP = 'INSERT'
        UNION ALL
        SELECT indicator_hour(OLD.resolved_at), 0, -(OLD.state = 'kept')::INT, -(OLD.state = 'broken')::INT
        WHERE TG_OP = 'UPDATE' AND OLD.state IN ('kept', 'broken') AND OLD.resolved_at IS NOT NULL
        UNION ALL
        SELECT indicator_hour(NEW.resolved_at), 0, (NEW.state = 'kept')::INT, (NEW.state = 'broken')::INT
        WHERE NEW.state IN ('kept', 'broken') AND NEW.resolved_at IS NOT NULL
    ) x
    WHERE c.id = NEW.client_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER promises_indicator_hours AFTER INSERT ON promises
    FOR EACH ROW EXECUTE FUNCTION promises_indicator_hours();
CREATE TRIGGER promises_settled_indicator_hours AFTER UPDATE OF state, resolved_at ON promises
    FOR EACH ROW
    WHEN (OLD.state IN ('kept', 'broken') OR NEW.state IN ('kept', 'broken'))
    EXECUTE FUNCTION promises_indicator_hours();

CREATE FUNCTION clients_indicator_hours() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM client_indicator_hours(OLD.id, OLD.advisor_id, OLD.supervisor_id, -1);
    PERFORM client_indicator_hours(NEW.id, NEW.advisor_id, NEW.supervisor_id, 1);
    RETURN NULL;
END
$$;
CREATE TRIGGER clients_indicator_hours AFTER UPDATE OF advisor_id, supervisor_id ON clients
    FOR EACH ROW
    WHEN (OLD.advisor_id IS DISTINCT FROM NEW.advisor_id OR OLD.supervisor_id IS DISTINCT FROM NEW.supervisor_id)
    EXECUTE FUNCTION clients_indicator_hours();

-- The clients per alert key and holder (contactability and alerts on Indicadores),
-- and their debts per currency and due date (overdue money, aging and DSO): the
-- portfolio as of now, kept by triggers on every path that changes a key, a debt or
-- a client's holder. Appended and folded like indicator_hours.
CREATE TABLE portfolio_keys (
    advisor_key BIGINT NOT NULL,
    supervisor_key BIGINT NOT NULL,
    alert_key BIGINT NOT NULL,
    clients BIGINT NOT NULL,
    merged BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX portfolio_keys_merged ON portfolio_keys(advisor_key, supervisor_key, alert_key) WHERE merged;
CREATE INDEX portfolio_keys_supervisor ON portfolio_keys(supervisor_key);
CREATE INDEX portfolio_keys_appended ON portfolio_keys(advisor_key) WHERE NOT merged;

INSERT INTO portfolio_keys (advisor_key, supervisor_key, alert_key, clients, merged)
SELECT COALESCE(advisor_id, 0), COALESCE(supervisor_id, 0), alert_key, COUNT(*), TRUE
FROM clients GROUP BY COALESCE(advisor_id, 0), COALESCE(supervisor_id, 0), alert_key;

-- `open`: debts not fully paid. Paid debts still count for the DSO's recent sales.
CREATE TABLE portfolio_debts (
    advisor_key BIGINT NOT NULL,
    supervisor_key BIGINT NOT NULL,
    currency TEXT NOT NULL,
    due_date DATE NOT NULL,
    debts BIGINT NOT NULL,
    open BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL,
    unpaid_cents BIGINT NOT NULL,
    merged BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX portfolio_debts_merged ON portfolio_debts(advisor_key, supervisor_key, currency, due_date)
    WHERE merged;
-- Covering, in the order the page groups them: a scope's rows are summed by
-- currency and due date straight from one index.
CREATE INDEX portfolio_debts_dates ON portfolio_debts(currency, due_date, debts, open, amount_cents, unpaid_cents);
CREATE INDEX portfolio_debts_advisor ON portfolio_debts(advisor_key, currency, due_date, debts, open, amount_cents,
    unpaid_cents);
CREATE INDEX portfolio_debts_supervisor ON portfolio_debts(supervisor_key, currency, due_date, debts, open,
    amount_cents, unpaid_cents);
CREATE INDEX portfolio_debts_appended ON portfolio_debts(advisor_key) WHERE NOT merged;

INSERT INTO portfolio_debts (advisor_key, supervisor_key, currency, due_date, debts, open, amount_cents,
    unpaid_cents, merged)
SELECT COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0), d.currency, d.due_date, COUNT(*),
    COUNT(*) FILTER (WHERE d.amount_cents > d.paid_cents), SUM(d.amount_cents), SUM(d.amount_cents - d.paid_cents),
    TRUE
FROM debts d JOIN clients c ON c.id = d.client_id
GROUP BY COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0), d.currency, d.due_date;

-- One client's debts, negated when `factor` is -1, for the holder given.
CREATE FUNCTION client_portfolio_debts(client BIGINT, advisor BIGINT, supervisor BIGINT, factor BIGINT)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO portfolio_debts (advisor_key, supervisor_key, currency, due_date, debts, open, amount_cents,
        unpaid_cents)
    SELECT COALESCE(advisor, 0), COALESCE(supervisor, 0), d.currency, d.due_date, factor * COUNT(*),
        factor * COUNT(*) FILTER (WHERE d.amount_cents > d.paid_cents), factor * SUM(d.amount_cents),
        factor * SUM(d.amount_cents - d.paid_cents)
    FROM debts d WHERE d.client_id = client GROUP BY d.currency, d.due_date
$$;

CREATE FUNCTION clients_portfolio() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO portfolio_keys (advisor_key, supervisor_key, alert_key, clients)
        VALUES (COALESCE(OLD.advisor_id, 0), COALESCE(OLD.supervisor_id, 0), OLD.alert_key, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO portfolio_keys (advisor_key, supervisor_key, alert_key, clients)
        VALUES (COALESCE(NEW.advisor_id, 0), COALESCE(NEW.supervisor_id, 0), NEW.alert_key, 1);
    END IF;
    IF TG_OP = 'UPDATE' AND (OLD.advisor_id IS DISTINCT FROM NEW.advisor_id
            OR OLD.supervisor_id IS DISTINCT FROM NEW.supervisor_id) THEN
        PERFORM client_portfolio_debts(OLD.id, OLD.advisor_id, OLD.supervisor_id, -1);
        PERFORM client_portfolio_debts(NEW.id, NEW.advisor_id, NEW.supervisor_id, 1);
        PERFORM client_portfolio_payments(OLD.id, OLD.advisor_id, OLD.supervisor_id, -1);
        PERFORM client_portfolio_payments(NEW.id, NEW.advisor_id, NEW.supervisor_id, 1);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER clients_portfolio_insert_delete AFTER INSERT OR DELETE ON clients
    FOR EACH ROW EXECUTE FUNCTION clients_portfolio();
CREATE TRIGGER clients_portfolio_update AFTER UPDATE OF alert_key, advisor_id, supervisor_id ON clients
    FOR EACH ROW
    WHEN (OLD.alert_key IS DISTINCT FROM NEW.alert_key OR OLD.advisor_id IS DISTINCT FROM NEW.advisor_id
        OR OLD.supervisor_id IS DISTINCT FROM NEW.supervisor_id)
    EXECUTE FUNCTION clients_portfolio();

CREATE FUNCTION debts_portfolio() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO portfolio_debts (advisor_key, supervisor_key, currency, due_date, debts, open, amount_cents,
            unpaid_cents)
        SELECT COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0), OLD.currency, OLD.due_date, -1,
            -(OLD.amount_cents > OLD.paid_cents)::INT, -OLD.amount_cents, -(OLD.amount_cents - OLD.paid_cents)
        FROM clients c WHERE c.id = OLD.client_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO portfolio_debts (advisor_key, supervisor_key, currency, due_date, debts, open, amount_cents,
            unpaid_cents)
        SELECT COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0), NEW.currency, NEW.due_date, 1,
            (NEW.amount_cents > NEW.paid_cents)::INT, NEW.amount_cents, NEW.amount_cents - NEW.paid_cents
        FROM clients c WHERE c.id = NEW.client_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER debts_portfolio_insert_delete AFTER INSERT OR DELETE ON debts
    FOR EACH ROW EXECUTE FUNCTION debts_portfolio();
CREATE TRIGGER debts_portfolio_update AFTER UPDATE OF client_id, due_date, amount_cents, paid_cents, currency
    ON debts
    FOR EACH ROW
    WHEN (OLD.client_id IS DISTINCT FROM NEW.client_id OR OLD.due_date IS DISTINCT FROM NEW.due_date
        OR OLD.amount_cents IS DISTINCT FROM NEW.amount_cents OR OLD.paid_cents IS DISTINCT FROM NEW.paid_cents
        OR OLD.currency IS DISTINCT FROM NEW.currency)
    EXECUTE FUNCTION debts_portfolio();

-- The payments waiting for review per holder and currency.
CREATE TABLE portfolio_payments (
    advisor_key BIGINT NOT NULL,
    supervisor_key BIGINT NOT NULL,
    currency TEXT NOT NULL,
    to_verify BIGINT NOT NULL,
    to_verify_cents BIGINT NOT NULL,
    merged BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX portfolio_payments_merged ON portfolio_payments(advisor_key, supervisor_key, currency) WHERE merged;
CREATE INDEX portfolio_payments_supervisor ON portfolio_payments(supervisor_key);
CREATE INDEX portfolio_payments_appended ON portfolio_payments(advisor_key) WHERE NOT merged;

INSERT INTO portfolio_payments (advisor_key, supervisor_key, currency, to_verify, to_verify_cents, merged)
SELECT COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0), p.currency, COUNT(*), SUM(p.amount_cents), TRUE
FROM payments p JOIN clients c ON c.id = p.client_id WHERE p.status = 'to_verify'
GROUP BY COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0), p.currency;

-- One client's payments to verify, negated when `factor` is -1, for the holder given.
CREATE FUNCTION client_portfolio_payments(client BIGINT, advisor BIGINT, supervisor BIGINT, factor BIGINT)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO portfolio_payments (advisor_key, supervisor_key, currency, to_verify, to_verify_cents)
    SELECT COALESCE(advisor, 0), COALESCE(supervisor, 0), p.currency, factor * COUNT(*),
        factor * SUM(p.amount_cents)
    FROM payments p WHERE p.client_id = client AND p.status = 'to_verify' GROUP BY p.currency
$$;

CREATE FUNCTION payments_portfolio() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'to_verify' THEN
        INSERT INTO portfolio_payments (advisor_key, supervisor_key, currency, to_verify, to_verify_cents)
        SELECT COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0), OLD.currency, -1, -OLD.amount_cents
        FROM clients c WHERE c.id = OLD.client_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.status = 'to_verify' THEN
        INSERT INTO portfolio_payments (advisor_key, supervisor_key, currency, to_verify, to_verify_cents)
        SELECT COALESCE(c.advisor_id, 0), COALESCE(c.supervisor_id, 0), NEW.currency, 1, NEW.amount_cents
        FROM clients c WHERE c.id = NEW.client_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER payments_portfolio_insert_delete AFTER INSERT OR DELETE ON payments
    FOR EACH ROW EXECUTE FUNCTION payments_portfolio();
CREATE TRIGGER payments_portfolio_update AFTER UPDATE OF status, amount_cents, currency, client_id ON payments
    FOR EACH ROW
    WHEN ((OLD.status = 'to_verify' OR NEW.status = 'to_verify') AND (OLD.status IS DISTINCT FROM NEW.status
        OR OLD.amount_cents IS DISTINCT FROM NEW.amount_cents OR OLD.currency IS DISTINCT FROM NEW.currency
        OR OLD.client_id IS DISTINCT FROM NEW.client_id))
    EXECUTE FUNCTION payments_portfolio();
