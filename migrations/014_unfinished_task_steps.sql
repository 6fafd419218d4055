-- A step recorded by a workflow task that never completed is not the step its retry records (issue
-- 10, found by `make chaos`). A step is recorded by a local activity, which commits inside its
-- workflow task; a task that times out is tried again with what arrived meanwhile and may take
-- another path to the same seq of the same run. That step, taken later, is written beside the
-- unfinished task's (activities/steps.py `claim_step` decides, under the group's step lock): the
-- step's key is its run and the time its workflow task took it. Every existing row keeps its key.
DROP INDEX audit_log_step;
CREATE UNIQUE INDEX audit_log_step ON audit_log (group_id, seq, run_id, at) WHERE seq IS NOT NULL;
