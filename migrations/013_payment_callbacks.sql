-- The bank's callbacks, kept until a batch is answered whole. The callback route used to signal the
-- group's workflow once per transfer: a Padat Karya wage batch of twenty workers was twenty signals
-- and about ten workflow tasks in the group's history, every week. Now each callback is written here
-- and the workflow is signalled once, with every transfer's answer, when the last transfer of the
-- batch is answered (a batch whose callbacks never all come is settled by the workflow's own poll of
-- the bank, as before). A later callback for the same transfer (a duplicate, or the true answer after
-- a false one) replaces the earlier: the workflow asks the bank before acting on either.
CREATE TABLE payment_callbacks (
    transfer_id text PRIMARY KEY REFERENCES payments (transfer_id),
    batch_id    text NOT NULL,
    status      text NOT NULL CHECK (status IN ('paid', 'failed')),
    reason      text NOT NULL DEFAULT '',
    permanent   boolean NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_callbacks_batch ON payment_callbacks (batch_id);
CREATE INDEX payments_batch ON payments (batch_id);
