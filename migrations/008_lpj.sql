-- Issue 12: after the money. A paid TKM group accounts for the aid (LPJ, laporan
-- pertanggungjawaban); what it does not account for becomes a receivable (tuntutan ganti rugi) that
-- finance recovers in instalments or a supervisor writes off. All of it is written by the lifecycle's
-- record_transition step (the workflow's state is the source; these rows are its read model), in the
-- same transaction as the step that changed it.

-- One row per group that owes an LPJ: where it stands. paid = accounted + receivable.amount + what is
-- still awaiting a decision (status due / under_review / revise).
CREATE TABLE lpj (
    group_id     text PRIMARY KEY REFERENCES groups (group_id),
    program      text NOT NULL,
    region_code  text NOT NULL,
    paid         bigint NOT NULL CHECK (paid >= 0),
    paid_at      timestamptz NOT NULL,
    due_on       date NOT NULL,
    status       text NOT NULL CHECK (status IN ('due', 'under_review', 'revise', 'accepted', 'rejected', 'overdue')),
    version      integer NOT NULL DEFAULT 0,       -- submissions so far
    submitted    bigint NOT NULL DEFAULT 0,        -- the last submission's total
    accounted    bigint NOT NULL DEFAULT 0,        -- accepted: the accepted lines' total; else 0
    escalation_level integer NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT lpj_accounts_at_most_paid CHECK (accounted <= paid)
);
CREATE INDEX lpj_status ON lpj (status, due_on);
CREATE INDEX lpj_region ON lpj (program, region_code);

-- Each submission and its spending lines, kept whole (a revision is a new version).
CREATE TABLE lpj_submissions (
    group_id     text NOT NULL REFERENCES groups (group_id),
    version      integer NOT NULL CHECK (version >= 1),
    total        bigint NOT NULL CHECK (total > 0),
    submitted_by text NOT NULL,
    submitted_at timestamptz NOT NULL,
    decision     text CHECK (decision IN ('accept', 'revise', 'reject')),
    reviewed_by  text,
    reviewed_at  timestamptz,
    notes        text NOT NULL DEFAULT '',
    PRIMARY KEY (group_id, version)
);

CREATE TABLE lpj_lines (
    group_id      text NOT NULL,
    version       integer NOT NULL,
    line_no       integer NOT NULL CHECK (line_no >= 1),
    category      text NOT NULL CHECK (category IN ('capital_goods', 'working_capital')),
    amount        bigint NOT NULL CHECK (amount > 0),
    spent_on      date NOT NULL,
    supplier      text NOT NULL,
    file_id       text NOT NULL,                  -- the receipt (files.file_id)
    receipt_sha256 text NOT NULL,
    photo_file_id text,                           -- a photo of the goods, may carry its location
    PRIMARY KEY (group_id, version, line_no),
    FOREIGN KEY (group_id, version) REFERENCES lpj_submissions (group_id, version)
);

-- A receipt (by its bytes' sha256) accounts for one group's aid only: the first group to submit it
-- owns it; its own revisions may submit it again.
CREATE TABLE lpj_receipts (
    receipt_sha256 text PRIMARY KEY,
    group_id       text NOT NULL REFERENCES groups (group_id),
    first_version  integer NOT NULL
);

-- The receivable of a group (one at most): the unaccounted amount, and what became of it.
CREATE TABLE receivables (
    group_id     text PRIMARY KEY REFERENCES groups (group_id),
    program      text NOT NULL,
    region_code  text NOT NULL,
    amount       bigint NOT NULL CHECK (amount > 0),
    recovered    bigint NOT NULL DEFAULT 0 CHECK (recovered >= 0),
    written_off  bigint NOT NULL DEFAULT 0 CHECK (written_off >= 0),
    reason       text NOT NULL CHECK (reason IN ('overdue', 'rejected', 'short')),
    opened_at    timestamptz NOT NULL,
    settled_at   timestamptz,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT receivable_never_over CHECK (recovered + written_off <= amount)
);
CREATE INDEX receivables_open ON receivables (program, region_code) WHERE settled_at IS NULL;

-- Every movement of a receivable, once each (the step's key makes a retried write a no-op).
CREATE TABLE receivable_events (
    group_id     text NOT NULL REFERENCES groups (group_id),
    seq          integer NOT NULL,               -- the lifecycle step that recorded it
    kind         text NOT NULL CHECK (kind IN ('opened', 'repayment', 'write_off')),
    amount       bigint NOT NULL CHECK (amount > 0),
    paid_on      date,
    reference    text NOT NULL DEFAULT '',
    reason       text NOT NULL DEFAULT '',
    officer      text,
    at           timestamptz NOT NULL,
    PRIMARY KEY (group_id, seq)
);
