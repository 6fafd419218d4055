-- Issue 13: Padat Karya paid by the week from muster rolls (daftar hadir). A roll is written by the
-- lifecycle's submit-muster activity (activities/muster.py: nothing at all when it is refused); its
-- review, wage run and wage lines by the step that changed them (record_transition, in the same
-- transaction). The workflow's state is the source; these rows are its read model.

-- One row per group and week: the roll, and the wage run it became (figures of the run: total,
-- paid, owed, released).
CREATE TABLE muster_rolls (
    group_id       text NOT NULL REFERENCES groups (group_id),
    week_starts_on date NOT NULL CHECK (extract(isodow FROM week_starts_on) = 1),
    program        text NOT NULL,
    region_code    text NOT NULL,
    roll_key       text NOT NULL,             -- the submission's key: a retried activity finds its roll
    submitted_by   text NOT NULL,
    submitted_at   timestamptz NOT NULL,
    status         text NOT NULL CHECK (status IN ('in_review', 'accepted', 'to_authorize', 'approved',
                                                    'paying', 'settled')),
    workers        integer NOT NULL DEFAULT 0,
    workdays       integer NOT NULL DEFAULT 0,
    worker_days    integer NOT NULL DEFAULT 0,
    exceptions     integer NOT NULL DEFAULT 0,
    struck         integer NOT NULL DEFAULT 0,
    total          bigint NOT NULL DEFAULT 0 CHECK (total >= 0),
    paid           bigint NOT NULL DEFAULT 0 CHECK (paid >= 0),
    owed           bigint NOT NULL DEFAULT 0 CHECK (owed >= 0),
    released       bigint NOT NULL DEFAULT 0 CHECK (released >= 0),
    approved_by    text,
    authorized_by  text,
    result         jsonb NOT NULL,            -- what the roll's checks found, answered again on a retry
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, week_starts_on)
);
CREATE INDEX muster_rolls_region ON muster_rolls (program, region_code);

-- Each (worker, day) of a roll. `claims`: the entry holds the worker's day, so that no other roll,
-- of this group or another, can count the same worker on the same day (the partial unique index);
-- an entry for a person not in the group, or one a supervisor struck, holds nothing.
CREATE TABLE muster_entries (
    group_id       text NOT NULL,
    week_starts_on date NOT NULL,
    nik            text NOT NULL CHECK (nik ~ '^\d{16}$'),
    nik_masked     text NOT NULL,
    work_date      date NOT NULL,
    hours          integer NOT NULL CHECK (hours BETWEEN 1 AND 24),
    exception      text CHECK (exception IN ('no_evidence', 'outside_radius', 'not_member')),
    decision       text CHECK (decision IN ('accepted', 'struck')),
    reason         text NOT NULL DEFAULT '',
    decided_by     text,
    claims         boolean NOT NULL,
    PRIMARY KEY (group_id, nik, work_date),
    FOREIGN KEY (group_id, week_starts_on) REFERENCES muster_rolls (group_id, week_starts_on),
    CHECK (work_date >= week_starts_on AND work_date < week_starts_on + 7)
);
CREATE UNIQUE INDEX muster_one_roll_per_worker_day ON muster_entries (nik, work_date) WHERE claims;

-- The worksite's photos of each day (files.file_id), as the roll's checks judged them.
CREATE TABLE muster_evidence (
    group_id       text NOT NULL,
    week_starts_on date NOT NULL,
    work_date      date NOT NULL,
    file_id        text NOT NULL,
    sha256         text NOT NULL,
    lat            double precision,
    lon            double precision,
    captured_at    timestamptz,
    verdict        text NOT NULL CHECK (verdict IN ('counted', 'outside_radius', 'other_day', 'no_location')),
    distance_m     integer,
    PRIMARY KEY (group_id, work_date, file_id),
    FOREIGN KEY (group_id, week_starts_on) REFERENCES muster_rolls (group_id, week_starts_on)
);

-- Each worker's wage for a week, and the transfer that pays it (payments.transfer_id).
CREATE TABLE wage_lines (
    group_id       text NOT NULL,
    week_starts_on date NOT NULL,
    nik            text NOT NULL,
    nik_masked     text NOT NULL,
    member_no      integer NOT NULL,
    role           text NOT NULL CHECK (role IN ('worker', 'skilled', 'foreman')),
    days           integer NOT NULL CHECK (days >= 0),
    hours          integer NOT NULL CHECK (hours >= 0),
    rate           bigint NOT NULL CHECK (rate > 0),
    amount         bigint NOT NULL CHECK (amount > 0),
    status         text NOT NULL CHECK (status IN ('due', 'pending', 'paid', 'failed', 'released')),
    transfer_id    text,
    tries          integer NOT NULL DEFAULT 0,
    reason         text NOT NULL DEFAULT '',
    PRIMARY KEY (group_id, week_starts_on, nik),
    FOREIGN KEY (group_id, week_starts_on) REFERENCES muster_rolls (group_id, week_starts_on)
);

-- A wage bill is reserved once and paid out week by week: each paid batch draws from the
-- reservation (spent grows, reserved shrinks) once per draw id; settling the reservation at the end
-- releases what was never drawn.
ALTER TABLE budget_reservations ADD COLUMN drawn bigint NOT NULL DEFAULT 0 CHECK (drawn >= 0);
ALTER TABLE budget_reservations ADD CONSTRAINT budget_reservation_drawn_within CHECK (drawn <= amount);
CREATE TABLE budget_draws (
    draw_id        text PRIMARY KEY,
    reservation_id text NOT NULL REFERENCES budget_reservations (reservation_id),
    amount         bigint NOT NULL CHECK (amount >= 0),
    at             timestamptz NOT NULL DEFAULT now()
);
