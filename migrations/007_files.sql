-- Evidence files (issue 12; issue 13's muster-roll photos too): one row per upload, the bytes in the
-- content-addressed store (infra/filestore.py) under their sha256. The same bytes uploaded twice are
-- stored once but get two rows; the LPJ refuses a receipt reused across groups by its sha256 (hence
-- the index). Written by the API's upload route only; never updated or deleted.
CREATE TABLE files (
    file_id        text PRIMARY KEY CHECK (file_id ~ '^F-[0-9A-HJKMNP-TV-Z]{26}$'),
    group_id       text NOT NULL REFERENCES groups (group_id),
    sha256         text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size           integer NOT NULL CHECK (size > 0),
    content_type   text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'application/pdf')),
    purpose        text NOT NULL CHECK (purpose IN ('receipt', 'goods_photo', 'worksite_photo')),
    lat            double precision CHECK (lat BETWEEN -90 AND 90),
    lon            double precision CHECK (lon BETWEEN -180 AND 180),
    captured_at    timestamptz,             -- when the photo was taken, as the officer's device says
    original_name  text NOT NULL DEFAULT '' CHECK (length(original_name) <= 200),  -- sanitised
    uploaded_by    text NOT NULL,
    uploaded_at    timestamptz NOT NULL
);
CREATE INDEX files_group ON files (group_id);
CREATE INDEX files_sha256 ON files (sha256);
