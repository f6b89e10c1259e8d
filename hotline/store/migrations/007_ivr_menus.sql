-- IVR menus edited through the API (issue 7): every version of the whole menu tree is kept,
-- the highest is the one the IVR runs. Seeded from asterisk-config/ivr.toml by the first
-- platform start. The 001 table (one row per menu name) was never written and is replaced.
DROP TABLE ivr_menus;

CREATE TABLE ivr_menus (
    version    integer PRIMARY KEY CHECK (version >= 1),
    tree       jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL
);
