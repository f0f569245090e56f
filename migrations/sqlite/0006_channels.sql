-- Channel integrations. E-mail over SMTP and IMAP: the sanitised HTML of a received
-- e-mail, kept beside its text; the mailbox a channel reads replies and bounces from;
-- how far it has been read.
ALTER TABLE messages ADD COLUMN body_html TEXT NOT NULL DEFAULT '';

-- SQLite cannot change a CHECK in place: the table is rebuilt with the new provider.
CREATE TABLE channel_settings_new (
    channel TEXT PRIMARY KEY CHECK (channel IN ('whatsapp', 'whatsapp_business', 'email', 'sms', 'call')),
    active BOOLEAN NOT NULL DEFAULT 1,
    visible BOOLEAN NOT NULL DEFAULT 1,
    provider TEXT CHECK (provider IN ('sandbox', 'relay', 'whatsapp_cloud', 'twilio', 'smtp')),
    base_url TEXT NOT NULL DEFAULT '',
    sender TEXT NOT NULL DEFAULT '',
    secret TEXT NOT NULL DEFAULT '',
    webhook_secret TEXT NOT NULL DEFAULT '',
    inbound_url TEXT NOT NULL DEFAULT '',
    updated_at TEXT,
    updated_by INTEGER REFERENCES users(id)
);
INSERT INTO channel_settings_new (channel, active, visible, provider, base_url, sender, secret,
    webhook_secret, updated_at, updated_by)
SELECT channel, active, visible, provider, base_url, sender, secret, webhook_secret, updated_at, updated_by
FROM channel_settings;
DROP TABLE channel_settings;
ALTER TABLE channel_settings_new RENAME TO channel_settings;

-- IMAP UIDs only mean something within one UIDVALIDITY: when the server changes it,
-- the mailbox is read again from the start (the message ids keep that from storing
-- anything twice).
CREATE TABLE mailbox_state (
    channel TEXT PRIMARY KEY,
    uid_validity BIGINT NOT NULL,
    last_uid BIGINT NOT NULL,
    polled_at TEXT NOT NULL
);

-- Delivery reports (bounces) already applied: one read twice changes nothing.
CREATE TABLE mail_reports (
    report_id TEXT PRIMARY KEY,
    received_at TEXT NOT NULL
);

-- Click-to-call rings the advisor's own phone first, then bridges the debtor.
ALTER TABLE users ADD COLUMN phone TEXT NOT NULL DEFAULT '';
