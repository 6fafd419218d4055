-- Outbox delivery claims a round of messages for a while instead of holding their rows locked, and
-- a connection with them, across the gateway's HTTP calls (issue 10, scenario 7). A claim a crashed
-- delivery left behind expires; each recipient's messages still go out in order.
ALTER TABLE notification_outbox ADD COLUMN claimed_until timestamptz;
