-- Reconciliation someone reads (issue 10, scenario 11): a mismatch is one open row per transfer and
-- kind until finance resolves it (who, how, why; the audit log holds the same), each run starts where
-- the last completed one's statement ended (`reconciliation_runs`, the watermark), and the runs find
-- our side's changes by `settled_at`.

ALTER TABLE reconciliation_mismatches
    ADD COLUMN group_id          text,
    ADD COLUMN last_run_id       text,
    ADD COLUMN last_seen_at      timestamptz,
    ADD COLUMN resolution        text CHECK (resolution IN
        ('explained', 'ledger_corrected', 'bank_corrected', 'recovered', 'written_off')),
    ADD COLUMN resolved_by       text,
    ADD COLUMN resolution_reason text NOT NULL DEFAULT '';

UPDATE reconciliation_mismatches m SET group_id = p.group_id
  FROM payments p WHERE p.transfer_id = m.transfer_id;
UPDATE reconciliation_mismatches SET last_run_id = run_id, last_seen_at = found_at;

-- Before this, every run recorded every mismatch again, and none was ever resolved: keep one open row
-- per transfer and kind, the first found (its run and time), carrying the latest run's figures; the
-- later copies said the same thing again and nobody had seen them.
UPDATE reconciliation_mismatches keep
   SET last_run_id = latest.run_id, last_seen_at = latest.found_at, ours = latest.ours, bank = latest.bank
  FROM (SELECT DISTINCT ON (transfer_id, kind) transfer_id, kind, run_id, found_at, ours, bank
          FROM reconciliation_mismatches WHERE resolved_at IS NULL
         ORDER BY transfer_id, kind, found_at DESC, id DESC) latest
 WHERE keep.resolved_at IS NULL AND keep.transfer_id = latest.transfer_id AND keep.kind = latest.kind
   AND keep.id = (SELECT min(id) FROM reconciliation_mismatches x
                   WHERE x.resolved_at IS NULL AND x.transfer_id = keep.transfer_id AND x.kind = keep.kind);
DELETE FROM reconciliation_mismatches d
 WHERE d.resolved_at IS NULL
   AND EXISTS (SELECT 1 FROM reconciliation_mismatches k
                WHERE k.resolved_at IS NULL AND k.transfer_id = d.transfer_id AND k.kind = d.kind
                  AND k.id < d.id);

ALTER TABLE reconciliation_mismatches ALTER COLUMN last_run_id SET NOT NULL,
                                      ALTER COLUMN last_seen_at SET NOT NULL,
                                      ALTER COLUMN last_seen_at SET DEFAULT now();
CREATE UNIQUE INDEX reconciliation_mismatches_one_open
    ON reconciliation_mismatches (transfer_id, kind) WHERE resolved_at IS NULL;
CREATE INDEX reconciliation_mismatches_group ON reconciliation_mismatches (group_id);
CREATE INDEX reconciliation_mismatches_listing ON reconciliation_mismatches ((resolved_at IS NULL), found_at);

-- One row per completed run. An incremental run reads the bank's statement from the latest
-- `statement_until` (the last paid_at it read: the bank's clock) and our rows settled since the
-- latest `ledger_until` (our clock); a run over an explicit window (`--days`) moves neither.
CREATE TABLE reconciliation_runs (
    run_id           text PRIMARY KEY,
    mode             text NOT NULL CHECK (mode IN ('full', 'incremental', 'window')),
    started_at       timestamptz NOT NULL,
    finished_at      timestamptz NOT NULL DEFAULT now(),
    statement_from   timestamptz,           -- NULL: the whole statement
    statement_until  timestamptz,           -- the last paid_at read (NULL: the statement was empty)
    ledger_from      timestamptz,           -- our rows settled since then (NULL: all of them)
    ledger_until     timestamptz NOT NULL,
    moves_watermark  boolean NOT NULL,
    compared         integer NOT NULL,
    bank_paid        integer NOT NULL,
    asked_bank       integer NOT NULL,
    found            integer NOT NULL,
    opened           integer NOT NULL
);
CREATE INDEX reconciliation_runs_watermark ON reconciliation_runs (finished_at) WHERE moves_watermark;

-- What an incremental run reads of our side: rows whose status changed, and rows still in flight.
CREATE INDEX payments_settled_at ON payments (settled_at);
CREATE INDEX payments_pending ON payments (instructed_at) WHERE status = 'pending';
