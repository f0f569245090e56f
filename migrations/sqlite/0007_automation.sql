-- Automation: segments (rule trees), the main flow and its steps, events, campaigns,
-- the organisation's contact hours and fallback message, and what each of them sent.
-- Every "sent" table's key is what makes the scheduler idempotent: a row is written in
-- the transaction that writes the message, so a repeated or concurrent pass finds it.

CREATE TABLE segments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    rule TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by INTEGER REFERENCES users(id)
);

CREATE TABLE flows (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    segment_id INTEGER NOT NULL REFERENCES segments(id),
    position INTEGER NOT NULL,
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by INTEGER REFERENCES users(id)
);

-- day: relative to the client's oldest unpaid due date (negative: before it).
-- A step with no template schedules a call in the Llamadas tray.
CREATE TABLE flow_steps (
    id INTEGER PRIMARY KEY,
    flow_id INTEGER NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
    day INTEGER NOT NULL,
    template_id INTEGER REFERENCES templates(id),
    -- The last day the scheduler sent this step for: a pass after a stop catches up
    -- on the days missed (a bounded number), and a new step starts on its first pass.
    covered_through TEXT,
    UNIQUE (flow_id, day, template_id)
);
CREATE INDEX flow_steps_flow ON flow_steps(flow_id, day);

CREATE TABLE flow_sends (
    step_id INTEGER NOT NULL REFERENCES flow_steps(id) ON DELETE CASCADE,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    sent_on TEXT NOT NULL,
    message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    PRIMARY KEY (step_id, client_id)
);
CREATE INDEX flow_sends_client ON flow_sends(client_id);

CREATE TABLE event_rules (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    trigger_kind TEXT NOT NULL CHECK (trigger_kind IN ('promise_created', 'promise_due', 'promise_broken',
        'payment_to_verify', 'payment_approved', 'payment_rejected')),
    days_before INTEGER NOT NULL DEFAULT 0,
    template_id INTEGER NOT NULL REFERENCES templates(id),
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by INTEGER REFERENCES users(id)
);

-- source_id: the promise or payment the event is about.
CREATE TABLE event_sends (
    rule_id INTEGER NOT NULL REFERENCES event_rules(id) ON DELETE CASCADE,
    source_id INTEGER NOT NULL,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (rule_id, source_id)
);
CREATE INDEX promises_created ON promises(created_at);
CREATE INDEX promises_resolved ON promises(resolved_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX payments_declared ON payments(declared_at);
CREATE INDEX payments_reviewed ON payments(reviewed_at) WHERE reviewed_at IS NOT NULL;

CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    segment_id INTEGER NOT NULL REFERENCES segments(id),
    template_id INTEGER NOT NULL REFERENCES templates(id),
    scheduled_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('scheduled', 'running', 'done', 'cancelled')),
    -- Clients the segment held when the campaign started, and the last one written.
    total INTEGER,
    after_client INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id),
    finished_at TEXT,
    cancelled_by INTEGER REFERENCES users(id)
);
CREATE INDEX campaigns_due ON campaigns(scheduled_at) WHERE state IN ('scheduled', 'running');

CREATE TABLE campaign_sends (
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    PRIMARY KEY (campaign_id, client_id)
);

-- A failed automated message and the standard message sent instead (or why none was).
CREATE TABLE fallbacks (
    failed_message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    fallback_message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    note TEXT NOT NULL DEFAULT '',
    decided_at TEXT NOT NULL
);
CREATE INDEX fallbacks_fallback ON fallbacks(fallback_message_id) WHERE fallback_message_id IS NOT NULL;
CREATE INDEX messages_auto_failed ON messages(id)
    WHERE status = 'failed' AND origin IN ('flow', 'event', 'campaign');
CREATE INDEX campaign_sends_message ON campaign_sends(message_id);

-- One row: when automated messages may go out, and the fallback message.
CREATE TABLE automation_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    contact_days TEXT NOT NULL,
    contact_start TEXT NOT NULL,
    contact_end TEXT NOT NULL,
    fallback_enabled BOOLEAN NOT NULL,
    fallback_body TEXT NOT NULL,
    updated_at TEXT,
    updated_by INTEGER REFERENCES users(id)
);
INSERT INTO automation_settings (id, contact_days, contact_start, contact_end, fallback_enabled, fallback_body)
VALUES (1, '1111110', '08:00', '20:00', 1,
    'Hola {{nombre}}, no pudimos hacerle llegar un mensaje sobre su cuenta. Puede ver su deuda y pagar aquí: {{link_pago}}');
