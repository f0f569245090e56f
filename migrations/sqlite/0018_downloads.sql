-- How far each report download has got: written by the server that streams the file,
-- read by the page that asked for it (through any server), under a token the page
-- chose. Rows a day old mean nothing and are pruned by the hourly maintenance.
CREATE TABLE downloads (
    user_id INTEGER NOT NULL REFERENCES users(id),
    token TEXT NOT NULL,
    rows_written INTEGER NOT NULL DEFAULT 0,
    bytes_written INTEGER NOT NULL DEFAULT 0,
    total_rows INTEGER,
    state TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, token)
);
CREATE INDEX downloads_updated ON downloads(updated_at);
