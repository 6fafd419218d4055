-- The workers' sweep of unreplayable workflows (tools/replay_reset.py) reads its own resets before
-- each one: at most one automatic reset per workflow a day, and a few an hour in all. Those rows
-- only, by time.
CREATE INDEX audit_log_replay_resets ON audit_log (at) WHERE event = 'workflow_reset_unreplayable';
