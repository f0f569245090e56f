-- Replying from the conversation: message templates, what a sent message carries
-- (copies, the template it came from), the outbox the dispatcher delivers from, each
-- channel's settings, and the server's own signing keys.

CREATE TABLE templates (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL CHECK (channel IN ('whatsapp', 'whatsapp_business', 'email', 'sms')),
    recipient TEXT NOT NULL CHECK (recipient IN ('client', 'reference', 'guarantor')),
    purpose TEXT NOT NULL CHECK (purpose IN ('flow', 'event', 'campaign')),
    subject TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL,
    -- WhatsApp: approved by Meta, so usable outside the 24-hour window.
    approved BOOLEAN NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by INTEGER REFERENCES users(id)
);

-- Comma-separated addresses, as sent.
ALTER TABLE messages ADD COLUMN cc TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN bcc TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN template_id INTEGER REFERENCES templates(id) ON DELETE SET NULL;
-- The values of the template's tags in the order they appear: WhatsApp's approved
-- templates take them as parameters {{1}}, {{2}}… (JSON array).
ALTER TABLE messages ADD COLUMN template_params TEXT NOT NULL DEFAULT '[]';

-- One row per outbound message still to deliver or delivered. A worker claims a row by
-- setting state 'sending', its name and a lease end in due_at; a row whose lease ran
-- out (its worker died) is due again. due_at is the next attempt while 'pending'.
CREATE TABLE outbox (
    message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at TEXT NOT NULL,
    worker TEXT,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox(due_at) WHERE state IN ('pending', 'sending');
-- Replies written before the outbox existed are delivered now.
INSERT INTO outbox (message_id, state, due_at, created_at, updated_at)
SELECT id, 'pending', created_at, created_at, created_at FROM messages
WHERE direction = 'outbound' AND status = 'queued';

-- Per channel: whether the organisation uses it (active) and shows it (visible), and
-- its provider. provider NULL means not configured: the sandbox in demo mode, a clear
-- failure otherwise. secret and webhook_secret never leave the server.
CREATE TABLE channel_settings (
    channel TEXT PRIMARY KEY CHECK (channel IN ('whatsapp', 'whatsapp_business', 'email', 'sms', 'call')),
    active BOOLEAN NOT NULL DEFAULT 1,
    visible BOOLEAN NOT NULL DEFAULT 1,
    provider TEXT CHECK (provider IN ('sandbox', 'relay', 'whatsapp_cloud', 'twilio')),
    base_url TEXT NOT NULL DEFAULT '',
    sender TEXT NOT NULL DEFAULT '',
    secret TEXT NOT NULL DEFAULT '',
    webhook_secret TEXT NOT NULL DEFAULT '',
    updated_at TEXT,
    updated_by INTEGER REFERENCES users(id)
);
INSERT INTO channel_settings (channel) VALUES
    ('whatsapp'), ('whatsapp_business'), ('email'), ('sms'), ('call');

-- Keys the server signs with (payment-portal links, the sandbox's callbacks), created
-- on first use and shared by every server process.
CREATE TABLE app_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The payment portal's own states: what the debtor declared there.
CREATE TABLE portal_visit_states_new (
    id INTEGER PRIMARY KEY,
    visit_id INTEGER NOT NULL REFERENCES portal_visits(id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('opened', 'viewed_debt', 'started_payment', 'paid', 'abandoned',
        'declared_payment', 'declared_promise')),
    at TEXT NOT NULL
);
INSERT INTO portal_visit_states_new (id, visit_id, state, at) SELECT id, visit_id, state, at FROM portal_visit_states;
DROP TABLE portal_visit_states;
ALTER TABLE portal_visit_states_new RENAME TO portal_visit_states;
CREATE INDEX portal_visit_states_visit ON portal_visit_states(visit_id, at);

-- Who declares what the debtor declares on the portal: a user that cannot sign in
-- (inactive, no usable password), so that payments and promises name their source.
INSERT INTO users (name, email, password_hash, role, active, is_demo, created_at, updated_at)
VALUES ('Web de cobros (deudor)', 'web-de-cobros@recaudo.invalid', '!', 'advisor', 0, 0,
    strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'));
