-- The officer directory (issue 11): who may sign in and act, with which roles and regions. A token
-- is accepted only for an active officer whose token_version it carries; bumping the version (a
-- change of roles, regions, active or password) ends every token minted before it.
CREATE TABLE officers (
    id              text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    name            text NOT NULL DEFAULT '',
    roles           text[] NOT NULL DEFAULT '{}',
    regions         text[] NOT NULL DEFAULT '{}',
    active          boolean NOT NULL DEFAULT true,
    password_hash   text,                 -- argon2id; NULL: no password sign-in
    failed_attempts integer NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    token_version   integer NOT NULL DEFAULT 1,
    totp_sealed     text,                 -- the TOTP secret sealed with JPS_TOTP_SEAL_KEY (AES-GCM)
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
