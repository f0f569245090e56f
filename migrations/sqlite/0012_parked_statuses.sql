-- A provider can report on a message before its answer to the send is stored (the
-- callback races the HTTP response). Such a status is kept here and applied, in the
-- same transaction, when the message's provider id is recorded.
CREATE TABLE parked_statuses (
    id INTEGER PRIMARY KEY,
    provider_message_id TEXT NOT NULL,
    -- The channel whose endpoint received it; empty from the sandbox, which serves all.
    channel TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    problem TEXT,
    at TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX parked_statuses_provider ON parked_statuses(provider_message_id);
CREATE INDEX parked_statuses_received ON parked_statuses(received_at);
