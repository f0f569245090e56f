-- Channel integrations. E-mail over SMTP and IMAP: the sanitised HTML of a received
-- e-mail, kept beside its text; the mailbox a channel reads replies and bounces from;
-- how far it has been read.
ALTER TABLE messages ADD COLUMN body_html TEXT NOT NULL DEFAULT '';

ALTER TABLE channel_settings DROP CONSTRAINT channel_settings_provider_check;
ALTER TABLE channel_settings ADD CONSTRAINT channel_settings_provider_check
    CHECK (provider IN ('sandbox', 'relay', 'whatsapp_cloud', 'twilio', 'smtp'));
ALTER TABLE channel_settings ADD COLUMN inbound_url TEXT NOT NULL DEFAULT '';

-- IMAP UIDs only mean something within one UIDVALIDITY: when the server changes it,
-- the mailbox is read again from the start (the message ids keep that from storing
-- anything twice).
CREATE TABLE mailbox_state (
    channel TEXT PRIMARY KEY,
    uid_validity BIGINT NOT NULL,
    last_uid BIGINT NOT NULL,
    polled_at TIMESTAMPTZ NOT NULL
);

-- Delivery reports (bounces) already applied: one read twice changes nothing.
CREATE TABLE mail_reports (
    report_id TEXT PRIMARY KEY,
    received_at TIMESTAMPTZ NOT NULL
);

-- Click-to-call rings the advisor's own phone first, then bridges the debtor.
ALTER TABLE users ADD COLUMN phone TEXT NOT NULL DEFAULT '';
