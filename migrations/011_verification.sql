-- Issue 14: post-payment verification (verifikasi pasca-pembayaran). Each day's draw from the payments
-- settled that day, and each person asked whether the money arrived: the read model of the daily
-- workflow and of each sample's own workflow (workflows/verification.py), written by their activities
-- (activities/verification.py). The phone asked is the member's (members.phone): not copied here.

-- One row per drawn day: a retried or repeated draw of the same day finds it and draws nothing new.
CREATE TABLE verification_days (
    sample_day  date PRIMARY KEY,               -- the WIB calendar day the payments settled
    seed        bigint NOT NULL,
    units       integer NOT NULL,               -- people who could have been asked
    sampled     integer NOT NULL,
    drawn_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE verification_samples (
    sample_id          text PRIMARY KEY,        -- verify-<transfer_id>-<member_no>: also its workflow id
    sample_day         date NOT NULL REFERENCES verification_days (sample_day),
    program            text NOT NULL,
    region_code        text NOT NULL,           -- the group's regency: the stratum
    group_id           text NOT NULL REFERENCES groups (group_id),
    transfer_id        text NOT NULL REFERENCES payments (transfer_id),
    member_no          integer NOT NULL,        -- members (group_id, member_no); no foreign key: a step
                                                -- that changes the members rewrites their rows
    is_leader          boolean NOT NULL DEFAULT false,
    amount             bigint NOT NULL,
    status             text NOT NULL DEFAULT 'drawn'
                       CHECK (status IN ('drawn', 'asked', 'reminded', 'confirmed', 'denied', 'no_answer')),
    drawn_at           timestamptz NOT NULL DEFAULT now(),
    asked_at           timestamptz,
    reminded_at        timestamptz,
    closed_at          timestamptz,             -- answered, or counted as no answer
    answer_message_id  text,                    -- the inbound SMS that answered
    grievance_id       text                     -- a "TIDAK": the payment_not_received case it opened
);
CREATE INDEX verification_samples_awaiting ON verification_samples (asked_at)
    WHERE status IN ('asked', 'reminded');
CREATE INDEX verification_samples_report ON verification_samples (region_code, program, sample_day);
CREATE INDEX verification_samples_transfer ON verification_samples (transfer_id);
