-- Timestamps are UTC RFC 3339 text as sqlx writes them ("+00:00" suffix, 0/3/6/9
-- fractional digits): they order correctly as strings, so range filters on them work.

-- Users, sessions and audit.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'advisor')),
    supervisor_id INTEGER REFERENCES users(id),
    filter_unlocked BOOLEAN NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT 1,
    is_demo BOOLEAN NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX users_supervisor ON users(supervisor_id);
CREATE INDEX users_demo ON users(is_demo) WHERE is_demo;

-- The cookie carries a random token; only its SHA-256 is stored.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expiry ON sessions(expires_at);

CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    ip TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX login_failures_email ON login_failures(email, at);
CREATE INDEX login_failures_ip ON login_failures(ip, at);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user_id INTEGER REFERENCES users(id),
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log(at);

-- Clients with their per-client summary columns (see domain::debt::DebtSummary).
-- supervisor_id is denormalised: the advisor's supervisor, or the assignee itself when
-- the client is assigned to a supervisor, so that a team is one indexed equality.
CREATE TABLE clients (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('person', 'company')),
    document_number TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    business_name TEXT NOT NULL DEFAULT '',
    display_name TEXT NOT NULL,
    advisor_id INTEGER REFERENCES users(id),
    supervisor_id INTEGER REFERENCES users(id),
    segment TEXT NOT NULL DEFAULT '',
    country TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    currency TEXT NOT NULL,
    overdue_total_cents INTEGER NOT NULL DEFAULT 0,
    balance_cents INTEGER NOT NULL DEFAULT 0,
    unpaid_orders INTEGER NOT NULL DEFAULT 0,
    oldest_unpaid_due_date TEXT,
    next_due_date TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX clients_adv_oldest ON clients(advisor_id, oldest_unpaid_due_date, id);
CREATE INDEX clients_adv_overdue ON clients(advisor_id, overdue_total_cents, id);
CREATE INDEX clients_sup_oldest ON clients(supervisor_id, oldest_unpaid_due_date, id);
CREATE INDEX clients_sup_overdue ON clients(supervisor_id, overdue_total_cents, id);
CREATE INDEX clients_oldest ON clients(oldest_unpaid_due_date, id);
CREATE INDEX clients_overdue ON clients(overdue_total_cents, id);
CREATE INDEX clients_next_due ON clients(next_due_date) WHERE next_due_date IS NOT NULL;

CREATE TABLE parties (
    id INTEGER PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('client', 'reference', 'guarantor')),
    ordinal INTEGER NOT NULL CHECK (ordinal BETWEEN 1 AND 2),
    name TEXT NOT NULL,
    relationship TEXT NOT NULL DEFAULT '',
    UNIQUE (client_id, role, ordinal)
);

CREATE TABLE contact_points (
    id INTEGER PRIMARY KEY,
    party_id INTEGER NOT NULL REFERENCES parties(id) ON DELETE CASCADE,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('phone', 'email', 'whatsapp')),
    value TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (party_id, kind, value)
);
CREATE INDEX contact_points_value ON contact_points(kind, value);
CREATE INDEX contact_points_client ON contact_points(client_id);

CREATE TABLE debts (
    id INTEGER PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    number TEXT NOT NULL,
    product TEXT NOT NULL DEFAULT '',
    issue_date TEXT NOT NULL,
    due_date TEXT NOT NULL,
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    paid_cents INTEGER NOT NULL DEFAULT 0 CHECK (paid_cents >= 0 AND paid_cents <= amount_cents),
    currency TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (client_id, number)
);

-- Token-prefix search (domain::search): one row per normalised term of a client.
CREATE TABLE client_search_terms (
    term TEXT NOT NULL,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    PRIMARY KEY (term, client_id)
) WITHOUT ROWID;
-- Serves both the deletes by client and the per-client EXISTS probe of a search word.
CREATE INDEX client_search_terms_client ON client_search_terms(client_id, term);
