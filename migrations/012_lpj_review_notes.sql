-- The verifier's notes beside the mentor's. The review used to write its notes over the submission's
-- own (`notes`), so a revised or rejected LPJ lost what its submitter wrote. Rows reviewed before
-- this migration hold the reviewer's words in `notes`: moved to `review_notes` (the submitter's are
-- gone; `notes` is left empty rather than showing the reviewer's words as the submitter's).
ALTER TABLE lpj_submissions ADD COLUMN review_notes text NOT NULL DEFAULT '';
UPDATE lpj_submissions SET review_notes = notes, notes = '' WHERE decision IS NOT NULL;
