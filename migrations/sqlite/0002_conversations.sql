-- Conversations: messages per client and party, their delivery history, attachments,
-- payment-portal visits, and the summary columns and counters the inbox reads.

-- One row per message in one conversation. An inbound from an address shared by
-- several clients or parties is stored once per conversation it lands in (same
-- provider id); an inbound from an unknown address has no client until it is linked
-- ("No registrados"). Parties are named by role and slot, not by id, so that editing a
-- client's references keeps their history.
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    client_id INTEGER REFERENCES clients(id) ON DELETE CASCADE,
    party_role TEXT CHECK (party_role IN ('client', 'reference', 'guarantor')),
    party_ordinal INTEGER CHECK (party_ordinal BETWEEN 1 AND 2),
    direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound', 'internal')),
    channel TEXT NOT NULL CHECK (channel IN ('whatsapp', 'whatsapp_business', 'email', 'sms', 'call', 'note')),
    address TEXT NOT NULL DEFAULT '',
    sender_name TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL,
    origin TEXT CHECK (origin IN ('manual', 'flow', 'event', 'campaign')),
    author_id INTEGER REFERENCES users(id),
    provider_message_id TEXT,
    occurred_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT CHECK (status IN ('queued', 'sent', 'delivered', 'read', 'failed')),
    pending BOOLEAN NOT NULL DEFAULT 0,
    handling TEXT CHECK (handling IN ('replied', 'dismissed')),
    handled_at TEXT,
    handled_by INTEGER REFERENCES users(id),
    linked_at TEXT,
    linked_by INTEGER REFERENCES users(id),
    CHECK ((client_id IS NULL) = (party_role IS NULL) AND (party_role IS NULL) = (party_ordinal IS NULL)),
    CHECK (NOT pending OR direction = 'inbound')
);
CREATE INDEX messages_client ON messages(client_id, occurred_at, id);
CREATE INDEX messages_pending ON messages(client_id) WHERE pending;
CREATE INDEX messages_unregistered ON messages(occurred_at, id) WHERE client_id IS NULL;
CREATE UNIQUE INDEX messages_provider ON messages(
    provider_message_id, COALESCE(client_id, 0), COALESCE(party_role, ''), COALESCE(party_ordinal, 0)
) WHERE provider_message_id IS NOT NULL;

-- Every status an outbound message went through, oldest first.
CREATE TABLE message_statuses (
    id INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'delivered', 'read', 'failed')),
    detail TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL
);
CREATE INDEX message_statuses_message ON message_statuses(message_id, at, id);

CREATE TABLE message_attachments (
    id INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    content BLOB NOT NULL
);
CREATE INDEX message_attachments_message ON message_attachments(message_id);

-- Visits to the payment portal ("Web de cobros"): not messages, shown beside them.
CREATE TABLE portal_visits (
    id INTEGER PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    page_name TEXT NOT NULL,
    visited_at TEXT NOT NULL
);
CREATE INDEX portal_visits_client ON portal_visits(client_id, visited_at);

CREATE TABLE portal_visit_states (
    id INTEGER PRIMARY KEY,
    visit_id INTEGER NOT NULL REFERENCES portal_visits(id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('opened', 'viewed_debt', 'started_payment', 'paid', 'abandoned')),
    at TEXT NOT NULL
);
CREATE INDEX portal_visit_states_visit ON portal_visit_states(visit_id, at);

-- Conversation summary, rewritten from the messages in the same transaction as every
-- change to them (server::conversations::summary).
ALTER TABLE clients ADD COLUMN pending_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN pending_client INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN pending_reference INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN pending_guarantor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN last_activity_at TEXT;
ALTER TABLE clients ADD COLUMN last_channel TEXT;
ALTER TABLE clients ADD COLUMN last_subject TEXT NOT NULL DEFAULT '';

-- The inbox's orders, per scope: pending conversations, and all conversations.
CREATE INDEX clients_adv_pending_recent ON clients(advisor_id, last_activity_at, id) WHERE pending_count > 0;
CREATE INDEX clients_adv_pending_oldest ON clients(advisor_id, oldest_unpaid_due_date, id) WHERE pending_count > 0;
CREATE INDEX clients_adv_pending_overdue ON clients(advisor_id, overdue_total_cents, id) WHERE pending_count > 0;
CREATE INDEX clients_sup_pending_recent ON clients(supervisor_id, last_activity_at, id) WHERE pending_count > 0;
CREATE INDEX clients_sup_pending_oldest ON clients(supervisor_id, oldest_unpaid_due_date, id) WHERE pending_count > 0;
CREATE INDEX clients_sup_pending_overdue ON clients(supervisor_id, overdue_total_cents, id) WHERE pending_count > 0;
CREATE INDEX clients_pending_recent ON clients(last_activity_at, id) WHERE pending_count > 0;
CREATE INDEX clients_pending_oldest ON clients(oldest_unpaid_due_date, id) WHERE pending_count > 0;
CREATE INDEX clients_pending_overdue ON clients(overdue_total_cents, id) WHERE pending_count > 0;
CREATE INDEX clients_adv_recent ON clients(advisor_id, last_activity_at, id) WHERE last_activity_at IS NOT NULL;
CREATE INDEX clients_sup_recent ON clients(supervisor_id, last_activity_at, id) WHERE last_activity_at IS NOT NULL;
CREATE INDEX clients_recent ON clients(last_activity_at, id) WHERE last_activity_at IS NOT NULL;

-- The to-do counter: pending messages per (advisor, supervisor) pair, kept by triggers
-- so that every path that changes a client's pending count or assignment keeps it
-- right. 0 stands for "none", so that the pair is a plain primary key.
CREATE TABLE pending_counters (
    advisor_key INTEGER NOT NULL,
    supervisor_key INTEGER NOT NULL,
    messages INTEGER NOT NULL,
    conversations INTEGER NOT NULL,
    PRIMARY KEY (advisor_key, supervisor_key)
);
CREATE INDEX pending_counters_supervisor ON pending_counters(supervisor_key);

CREATE TRIGGER clients_pending_insert AFTER INSERT ON clients WHEN new.pending_count <> 0
BEGIN
    INSERT INTO pending_counters (advisor_key, supervisor_key, messages, conversations)
    VALUES (COALESCE(new.advisor_id, 0), COALESCE(new.supervisor_id, 0), new.pending_count, 1)
    ON CONFLICT (advisor_key, supervisor_key) DO UPDATE
        SET messages = messages + excluded.messages, conversations = conversations + 1;
END;

CREATE TRIGGER clients_pending_delete AFTER DELETE ON clients WHEN old.pending_count <> 0
BEGIN
    UPDATE pending_counters SET messages = messages - old.pending_count, conversations = conversations - 1
    WHERE advisor_key = COALESCE(old.advisor_id, 0) AND supervisor_key = COALESCE(old.supervisor_id, 0);
END;

CREATE TRIGGER clients_pending_update AFTER UPDATE OF pending_count, advisor_id, supervisor_id ON clients
WHEN old.pending_count IS NOT new.pending_count OR old.advisor_id IS NOT new.advisor_id
    OR old.supervisor_id IS NOT new.supervisor_id
BEGIN
    UPDATE pending_counters SET messages = messages - old.pending_count,
        conversations = conversations - (old.pending_count <> 0)
    WHERE old.pending_count <> 0
        AND advisor_key = COALESCE(old.advisor_id, 0) AND supervisor_key = COALESCE(old.supervisor_id, 0);
    INSERT INTO pending_counters (advisor_key, supervisor_key, messages, conversations)
    SELECT COALESCE(new.advisor_id, 0), COALESCE(new.supervisor_id, 0), new.pending_count, 1
    WHERE new.pending_count <> 0
    ON CONFLICT (advisor_key, supervisor_key) DO UPDATE
        SET messages = messages + excluded.messages, conversations = conversations + 1;
END;
