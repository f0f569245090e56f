-- What the contact preflight reads of a debtor, read from indexes alone: the contacts
-- around an attempt (client, time and channel of every outbound message not held
-- back) and whether the party wrote lately on a channel. A debtor's messages are spread
-- over the whole table, so reading them from the table costs a page per message.
CREATE INDEX messages_contacts ON messages(client_id, occurred_at, channel)
    WHERE direction = 'outbound' AND NOT held;
CREATE INDEX messages_inbound ON messages(client_id, party_role, party_ordinal, channel, occurred_at)
    WHERE direction = 'inbound';
