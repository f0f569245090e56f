-- How far each report download has got: written by the server that streams the file,
-- read by the page that asked for it (through any server), under a token the page
-- chose. Rows a day old mean nothing and are pruned by the hourly maintenance.
CREATE TABLE downloads (
    user_id BIGINT NOT NULL REFERENCES users(id),
    token TEXT NOT NULL,
    rows_written BIGINT NOT NULL DEFAULT 0,
    bytes_written BIGINT NOT NULL DEFAULT 0,
    total_rows BIGINT,
    state TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, token)
);
CREATE INDEX downloads_updated ON downloads(updated_at);
