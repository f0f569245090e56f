-- Bumped by every change to what the contact preflight reads (policies, holidays, the
-- organisation's contact hours), so that each server process keeps the policies in
-- memory and reads them again only after a change made by any process.
ALTER TABLE automation_settings ADD COLUMN policy_revision BIGINT NOT NULL DEFAULT 0;
