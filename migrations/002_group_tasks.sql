-- Every open task of a group, one row each: a group may wait on several people at once (an LPJ beside
-- mentoring visits, a muster roll beside a wage run). Written by `record_transition` with the rest of
-- a step (the group's rows replaced each time); the inbox lists each row. The single-task columns of
-- `groups` (task_kind, task_roles, task_due_at, claimed_by) keep the most urgent task.

CREATE TABLE group_tasks (
    group_id          text NOT NULL REFERENCES groups (group_id),
    kind              text NOT NULL,
    roles             text[] NOT NULL DEFAULT '{}',
    opened_at         timestamptz NOT NULL,
    due_at            timestamptz NOT NULL,
    escalation_level  integer NOT NULL DEFAULT 0,
    claimed_by        text,
    note              text NOT NULL DEFAULT '',
    PRIMARY KEY (group_id, kind)
);
CREATE INDEX group_tasks_due ON group_tasks (due_at);
CREATE INDEX group_tasks_roles ON group_tasks USING gin (roles);

-- Backfill from the groups' rows: the tasks of the stored state (`open_tasks`; states written before
-- tasks became a list hold one `open_task`), else the single-task columns.
INSERT INTO group_tasks (group_id, kind, roles, opened_at, due_at, escalation_level, claimed_by, note)
SELECT g.group_id,
       t->>'kind',
       ARRAY(SELECT jsonb_array_elements_text(coalesce(t->'roles', '[]'::jsonb))),
       coalesce((t->>'opened_at')::timestamptz, g.updated_at),
       (t->>'due_at')::timestamptz,
       coalesce((t->>'escalation_level')::integer, 0),
       t->>'claimed_by',
       coalesce(t->>'note', '')
  FROM groups g
 CROSS JOIN LATERAL jsonb_array_elements(
           CASE
               WHEN jsonb_typeof(g.state->'open_tasks') = 'array' THEN g.state->'open_tasks'
               WHEN jsonb_typeof(g.state->'open_task') = 'object' THEN jsonb_build_array(g.state->'open_task')
               ELSE '[]'::jsonb
           END) AS t
 WHERE t->>'kind' IS NOT NULL AND t->>'due_at' IS NOT NULL
ON CONFLICT (group_id, kind) DO NOTHING;

INSERT INTO group_tasks (group_id, kind, roles, opened_at, due_at, escalation_level, claimed_by, note)
SELECT group_id, task_kind, coalesce(task_roles, '{}'), updated_at, task_due_at, escalation_level, claimed_by, ''
  FROM groups g
 WHERE task_kind IS NOT NULL AND task_due_at IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM group_tasks t WHERE t.group_id = g.group_id);
