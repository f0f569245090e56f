-- What changed, in commit order, for the event stream (/api/events): a browser that
-- reconnects with the last id it saw is sent every later event it may see. The
-- client's assignment at that moment is copied, so the scope check needs no join.
-- AUTOINCREMENT: an id is never handed out twice, even once the newest rows are pruned.
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    client_id INTEGER NOT NULL,
    advisor_id INTEGER,
    supervisor_id INTEGER
);
CREATE INDEX events_at ON events(at);
-- The last id pruned: a cursor older than it missed events that no longer exist, and
-- is told to reload instead.
CREATE TABLE event_horizon (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    pruned_through INTEGER NOT NULL
);
INSERT INTO event_horizon (id, pruned_through) VALUES (1, 0);
