-- JPS Flow core schema: the read model (written only by workflow activities), the hash-chained
-- audit log, the notification outbox, and the payment / budget ledger.

CREATE TABLE groups (
    group_id          text PRIMARY KEY,
    program           text NOT NULL CHECK (program IN ('tkm', 'padat_karya')),
    name              text NOT NULL,
    region_code       text NOT NULL CHECK (region_code ~ '^[0-9]{4}$'),
    stage             text NOT NULL,
    member_count      integer NOT NULL,
    requested_amount  bigint NOT NULL,
    approved_amount   bigint,
    paid_amount       bigint NOT NULL DEFAULT 0,
    task_kind         text,
    task_roles        text[],
    task_due_at       timestamptz,
    escalation_level  integer NOT NULL DEFAULT 0,
    claimed_by        text,
    submitted_by      text NOT NULL,
    submitted_at      timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    paid_at           timestamptz,
    closed_at         timestamptz,
    last_seq          integer NOT NULL DEFAULT 0,
    state             jsonb NOT NULL          -- the workflow's last state, NIKs masked
);
CREATE INDEX groups_program_stage ON groups (program, stage);
CREATE INDEX groups_region ON groups (region_code text_pattern_ops);
CREATE INDEX groups_task_due ON groups (task_due_at) WHERE task_kind IS NOT NULL;
CREATE INDEX groups_name_lower ON groups (lower(name) text_pattern_ops);

CREATE TABLE members (
    group_id     text NOT NULL REFERENCES groups (group_id),
    member_no    integer NOT NULL,
    nik          text NOT NULL,
    nik_masked   text NOT NULL,
    name         text NOT NULL,
    gender       text,
    birth_date   date,
    phone        text NOT NULL,
    is_leader    boolean NOT NULL,
    bank_code    text,
    account_no   text,
    active       boolean NOT NULL DEFAULT true,
    PRIMARY KEY (group_id, member_no)
);
-- A NIK may be in one active group only (any programme): the database itself enforces it.
CREATE UNIQUE INDEX members_one_active_group_per_nik ON members (nik) WHERE active;
CREATE INDEX members_nik ON members (nik);

CREATE TABLE stage_transitions (
    group_id    text NOT NULL REFERENCES groups (group_id),
    seq         integer NOT NULL,
    from_stage  text,
    to_stage    text NOT NULL,
    at          timestamptz NOT NULL,
    officer     text,
    reason      text NOT NULL DEFAULT '',
    PRIMARY KEY (group_id, seq)
);
CREATE INDEX stage_transitions_at ON stage_transitions (to_stage, at);

-- Append-only, hash-chained: hash = sha256(prev_hash || canonical row). Never updated or deleted.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    group_id    text,
    seq         integer,                    -- the workflow's step number; NULL for API-side events
    at          timestamptz NOT NULL,
    actor       text,                       -- officer id; NULL for automated events
    actor_roles text[] NOT NULL DEFAULT '{}',
    event       text NOT NULL,
    stage       text,
    reason      text NOT NULL DEFAULT '',
    details     jsonb NOT NULL DEFAULT '{}',
    prev_hash   text NOT NULL,
    hash        text NOT NULL
);
CREATE UNIQUE INDEX audit_log_step ON audit_log (group_id, seq) WHERE seq IS NOT NULL;
CREATE INDEX audit_log_group ON audit_log (group_id, id);

CREATE TABLE notification_outbox (
    id          text PRIMARY KEY,           -- group_id:seq:n, also the gateway's idempotency key
    group_id    text,
    recipient   text NOT NULL,              -- phone number or officer address (role:region)
    channel     text NOT NULL DEFAULT 'sms',
    template    text NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text
);
CREATE INDEX notification_outbox_pending ON notification_outbox (created_at) WHERE sent_at IS NULL;

CREATE TABLE budget_allocations (
    program     text NOT NULL,
    region_code text NOT NULL,              -- 2-digit province or 4-digit regency
    amount      bigint NOT NULL CHECK (amount >= 0),
    reserved    bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    spent       bigint NOT NULL DEFAULT 0 CHECK (spent >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (program, region_code),
    CONSTRAINT budget_never_overspent CHECK (reserved + spent <= amount)
);

CREATE TABLE budget_reservations (
    reservation_id text PRIMARY KEY,        -- group_id:attempt
    group_id    text NOT NULL,
    program     text NOT NULL,
    region_code text NOT NULL,              -- the allocation it draws on
    amount      bigint NOT NULL,
    status      text NOT NULL CHECK (status IN ('reserved', 'settled', 'released')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE payments (
    transfer_id     text PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    group_id        text NOT NULL,
    batch_id        text NOT NULL,
    attempt         integer NOT NULL,
    beneficiary     text NOT NULL,
    bank_code       text NOT NULL,
    account_no      text NOT NULL,
    amount          bigint NOT NULL CHECK (amount > 0),
    status          text NOT NULL CHECK (status IN ('pending', 'paid', 'failed')),
    reason          text NOT NULL DEFAULT '',
    instructed_at   timestamptz NOT NULL DEFAULT now(),
    settled_at      timestamptz
);
CREATE INDEX payments_group ON payments (group_id);

CREATE TABLE disbursement_freezes (
    freeze_id   bigserial PRIMARY KEY,
    program     text,                       -- NULL = every programme
    region_code text,                       -- NULL = national
    reason      text NOT NULL,
    frozen_by   text NOT NULL,
    frozen_at   timestamptz NOT NULL DEFAULT now(),
    lifted_by   text,
    lifted_at   timestamptz
);

CREATE TABLE reconciliation_mismatches (
    id          bigserial PRIMARY KEY,
    run_id      text NOT NULL,
    transfer_id text NOT NULL,
    kind        text NOT NULL,              -- paid_not_recorded | recorded_not_paid | amount_differs
    ours        jsonb,
    bank        jsonb,
    found_at    timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    UNIQUE (run_id, transfer_id, kind)
);
