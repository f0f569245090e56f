-- A visit to the payment portal made by a link-preview or mail-scanning robot is kept,
-- marked with the robot's name, so that "Abrió el enlace" means the debtor did.
ALTER TABLE portal_visits ADD COLUMN preview_agent TEXT NOT NULL DEFAULT '';
