-- Who has which conversation open, and who is writing in it: a heartbeat from each
-- open conversation every few seconds. Rows older than a minute mean nothing and are
-- pruned by the hourly maintenance.
CREATE TABLE presence (
    user_id BIGINT NOT NULL REFERENCES users(id),
    client_id BIGINT NOT NULL REFERENCES clients(id),
    seen_at TIMESTAMPTZ NOT NULL,
    typing_at TIMESTAMPTZ,
    PRIMARY KEY (client_id, user_id)
);
CREATE INDEX presence_seen ON presence(seen_at);
