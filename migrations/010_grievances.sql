-- Issue 14: grievances (pengaduan). Each case is its own Temporal workflow (workflows/grievance/); these
-- rows are its read model, written by the workflow's one recording activity
-- (activities/grievances.py: record_grievance_step), one transaction per step with its audit row.
-- No NIK or phone in clear: the NIK masked, the phone masked beside a keyed hash (to match an SMS
-- reply to the number that was asked).

CREATE TABLE grievances (
    grievance_id     text PRIMARY KEY,
    category         text NOT NULL,
    channel          text NOT NULL,
    status           text NOT NULL,
    group_id         text,                       -- as the complainant named it (may be unknown)
    group_known      boolean NOT NULL DEFAULT false,
    member_in_group  boolean NOT NULL DEFAULT false,
    region_code      text NOT NULL,              -- the group's, else the NIK's regency
    nik_masked       text NOT NULL,
    phone_masked     text NOT NULL,
    phone_hash       text NOT NULL,
    about_officer    text,                       -- misconduct: this officer never sees the case
    transfer_id      text,
    filed_by         text,
    filed_at         timestamptz NOT NULL,
    text             text NOT NULL,
    handler_role     text NOT NULL,
    decision         text,
    reason           text NOT NULL DEFAULT '',
    decided_at       timestamptz,
    resolve_due_at   timestamptz,
    answer_due_at    timestamptz,                -- while the complainant is asked
    escalation_level integer NOT NULL DEFAULT 0,
    reopened         integer NOT NULL DEFAULT 0,
    bank             jsonb,                      -- payment_not_received: the bank's own status of the transfer
    state            jsonb NOT NULL,
    seq              integer NOT NULL DEFAULT 0,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX grievances_group ON grievances (group_id) WHERE group_id IS NOT NULL;
CREATE INDEX grievances_region ON grievances (region_code, status);
CREATE INDEX grievances_asked ON grievances (phone_hash) WHERE status = 'info_requested';

-- The case's open task (at most one), for the inbox beside `group_tasks`.
CREATE TABLE grievance_tasks (
    grievance_id     text PRIMARY KEY REFERENCES grievances (grievance_id),
    kind             text NOT NULL,
    roles            text[] NOT NULL,
    opened_at        timestamptz NOT NULL,
    due_at           timestamptz NOT NULL,
    escalation_level integer NOT NULL DEFAULT 0
);
CREATE INDEX grievance_tasks_due ON grievance_tasks (due_at);

-- Every step of a case: its timeline (and the group's, for a case linked to a group).
CREATE TABLE grievance_events (
    grievance_id  text NOT NULL REFERENCES grievances (grievance_id),
    seq           integer NOT NULL,
    run_id        text NOT NULL DEFAULT '',
    at            timestamptz NOT NULL,
    event         text NOT NULL,
    officer       text,
    text          text NOT NULL DEFAULT '',
    details       jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (grievance_id, seq)
);

-- Inbound SMS already taken (POST /inbound/sms): a replayed or duplicated message id does nothing twice.
CREATE TABLE inbound_messages (
    message_id   text PRIMARY KEY,
    received_at  timestamptz NOT NULL,
    from_masked  text NOT NULL,
    handled_by   text,                           -- the handler that consumed it; NULL: nobody did
    outcome      jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now()
);
