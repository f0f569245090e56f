-- Contact governance: each country's contact policy, its holidays, the opt-outs
-- debtors asked for, and every preflight decision on a contact.

-- A country's policy as edited by an administrator, as JSON (domain::governance::Policy).
-- A country without a row uses the policy shipped with the application.
CREATE TABLE contact_policies (
    country TEXT PRIMARY KEY,
    rules TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by INTEGER REFERENCES users(id)
);

-- Public holidays per country: no debtor is contacted on them where the policy says so.
-- Colombia (Ley 51 de 1983) and Chile (Ley 2.977, 19.668, 20.299, 21.357) for 2026–2027,
-- derived from the statutory rules; administrators add and remove days.
CREATE TABLE holidays (
    country TEXT NOT NULL,
    day TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (country, day)
);
INSERT INTO holidays (country, day, name) VALUES
    ('CO', '2026-01-01', 'Año Nuevo'),
    ('CO', '2026-01-12', 'Día de los Reyes Magos'),
    ('CO', '2026-03-23', 'Día de San José'),
    ('CO', '2026-04-02', 'Jueves Santo'),
    ('CO', '2026-04-03', 'Viernes Santo'),
    ('CO', '2026-05-01', 'Día del Trabajo'),
    ('CO', '2026-05-18', 'Ascensión del Señor'),
    ('CO', '2026-06-08', 'Corpus Christi'),
    ('CO', '2026-06-15', 'Sagrado Corazón'),
    ('CO', '2026-06-29', 'San Pedro y San Pablo'),
    ('CO', '2026-07-20', 'Día de la Independencia'),
    ('CO', '2026-08-07', 'Batalla de Boyacá'),
    ('CO', '2026-08-17', 'Asunción de la Virgen'),
    ('CO', '2026-10-12', 'Día de la Raza'),
    ('CO', '2026-11-02', 'Todos los Santos'),
    ('CO', '2026-11-16', 'Independencia de Cartagena'),
    ('CO', '2026-12-08', 'Inmaculada Concepción'),
    ('CO', '2026-12-25', 'Navidad'),
    ('CL', '2026-01-01', 'Año Nuevo'),
    ('CL', '2026-04-03', 'Viernes Santo'),
    ('CL', '2026-04-04', 'Sábado Santo'),
    ('CL', '2026-05-01', 'Día del Trabajo'),
    ('CL', '2026-05-21', 'Día de las Glorias Navales'),
    ('CL', '2026-06-21', 'Día Nacional de los Pueblos Indígenas'),
    ('CL', '2026-06-29', 'San Pedro y San Pablo'),
    ('CL', '2026-07-16', 'Virgen del Carmen'),
    ('CL', '2026-08-15', 'Asunción de la Virgen'),
    ('CL', '2026-09-18', 'Independencia Nacional'),
    ('CL', '2026-09-19', 'Glorias del Ejército'),
    ('CL', '2026-10-12', 'Encuentro de Dos Mundos'),
    ('CL', '2026-10-31', 'Día de las Iglesias Evangélicas y Protestantes'),
    ('CL', '2026-11-01', 'Todos los Santos'),
    ('CL', '2026-12-08', 'Inmaculada Concepción'),
    ('CL', '2026-12-25', 'Navidad'),
    ('CO', '2027-01-01', 'Año Nuevo'),
    ('CO', '2027-01-11', 'Día de los Reyes Magos'),
    ('CO', '2027-03-22', 'Día de San José'),
    ('CO', '2027-03-25', 'Jueves Santo'),
    ('CO', '2027-03-26', 'Viernes Santo'),
    ('CO', '2027-05-01', 'Día del Trabajo'),
    ('CO', '2027-05-10', 'Ascensión del Señor'),
    ('CO', '2027-05-31', 'Corpus Christi'),
    ('CO', '2027-06-07', 'Sagrado Corazón'),
    ('CO', '2027-07-05', 'San Pedro y San Pablo'),
    ('CO', '2027-07-20', 'Día de la Independencia'),
    ('CO', '2027-08-07', 'Batalla de Boyacá'),
    ('CO', '2027-08-16', 'Asunción de la Virgen'),
    ('CO', '2027-10-18', 'Día de la Raza'),
    ('CO', '2027-11-01', 'Todos los Santos'),
    ('CO', '2027-11-15', 'Independencia de Cartagena'),
    ('CO', '2027-12-08', 'Inmaculada Concepción'),
    ('CO', '2027-12-25', 'Navidad'),
    ('CL', '2027-01-01', 'Año Nuevo'),
    ('CL', '2027-03-26', 'Viernes Santo'),
    ('CL', '2027-03-27', 'Sábado Santo'),
    ('CL', '2027-05-01', 'Día del Trabajo'),
    ('CL', '2027-05-21', 'Día de las Glorias Navales'),
    ('CL', '2027-06-21', 'Día Nacional de los Pueblos Indígenas'),
    ('CL', '2027-06-28', 'San Pedro y San Pablo'),
    ('CL', '2027-07-16', 'Virgen del Carmen'),
    ('CL', '2027-08-15', 'Asunción de la Virgen'),
    ('CL', '2027-09-18', 'Independencia Nacional'),
    ('CL', '2027-09-19', 'Glorias del Ejército'),
    ('CL', '2027-10-11', 'Encuentro de Dos Mundos'),
    ('CL', '2027-10-31', 'Día de las Iglesias Evangélicas y Protestantes'),
    ('CL', '2027-11-01', 'Todos los Santos'),
    ('CL', '2027-12-08', 'Inmaculada Concepción'),
    ('CL', '2027-12-25', 'Navidad');

-- An address that asked for no more messages on a channel ("BAJA" on WhatsApp, an
-- e-mail unsubscribe): nothing more is sent there, whoever's contact point it is.
CREATE TABLE contact_opt_outs (
    id INTEGER PRIMARY KEY,
    address TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('whatsapp', 'whatsapp_business', 'email', 'sms', 'call')),
    at TEXT NOT NULL,
    source TEXT NOT NULL,
    UNIQUE (address, channel)
);

-- Every judgement on a contact: allowed, warned (and gone ahead with the advisor's
-- reason) or blocked, with the rules that spoke, who or which job asked, and when.
CREATE TABLE contact_decisions (
    id INTEGER PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    party_role TEXT NOT NULL CHECK (party_role IN ('client', 'reference', 'guarantor')),
    party_ordinal INTEGER NOT NULL,
    channel TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('allow', 'warn', 'block')),
    rules TEXT NOT NULL DEFAULT '',
    reasons TEXT NOT NULL DEFAULT '',
    override_reason TEXT NOT NULL DEFAULT '',
    user_id INTEGER REFERENCES users(id),
    job TEXT NOT NULL DEFAULT '',
    message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    decided_at TEXT NOT NULL
);
CREATE INDEX contact_decisions_client ON contact_decisions(client_id, decided_at);
CREATE INDEX contact_decisions_stopped ON contact_decisions(decided_at, id) WHERE verdict <> 'allow';

-- An outbound message written but held back (blocked before leaving) is not a contact.
ALTER TABLE messages ADD COLUMN held BOOLEAN NOT NULL DEFAULT FALSE;
