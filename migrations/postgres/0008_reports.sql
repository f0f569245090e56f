-- Interacciones and Indicadores de gestión read each kind of record newest first within a
-- period, in pages that resume at (time, id): one index per table in that order.
CREATE INDEX messages_at ON messages(occurred_at, id);
CREATE INDEX outcomes_at ON outcomes(occurred_at, id);
CREATE INDEX portal_visits_at ON portal_visits(visited_at, id);
DROP INDEX promises_created;
CREATE INDEX promises_created ON promises(created_at, id);
DROP INDEX payments_declared;
CREATE INDEX payments_declared ON payments(declared_at, id);
-- DSO and aging read the unpaid debts of a portfolio by due date.
CREATE INDEX debts_due ON debts(due_date, client_id);
