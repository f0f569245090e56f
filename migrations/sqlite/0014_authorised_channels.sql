-- The channels a debtor did not authorise on a contact point (Ley 2300 de 2023, art. 3:
-- contact only on the channels the consumer authorised), as channel codes separated by
-- commas ("sms,call"). Empty: every channel of the point's kind is authorised, which is
-- what every stored point meant before this column.
ALTER TABLE contact_points ADD COLUMN withheld TEXT NOT NULL DEFAULT '';
