-- A goal is closed with a status, a date and an evaluation (evaluering).
ALTER TABLE goals ADD COLUMN closed_on date, ADD COLUMN evaluation text;
