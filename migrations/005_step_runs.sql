-- A recorded step's key survives `temporal workflow reset` (issue 10, scenario 8): the run that took
-- the step is part of it. A reset re-executes steps under a new run id with seq numbers already
-- recorded; (group_id, seq) alone made them silent no-ops. Rows written before run ids keep ''.
-- The audit hash covers run_id only where it is set, so every existing row still verifies.
ALTER TABLE audit_log ADD COLUMN run_id text NOT NULL DEFAULT '';
DROP INDEX audit_log_step;
CREATE UNIQUE INDEX audit_log_step ON audit_log (group_id, seq, run_id) WHERE seq IS NOT NULL;
