-- Customer accounts (户号) and the area each is supplied in: the IVR's outage self-service
-- takes an account number as well as an area code, and reads out the outages of the
-- account's area (issue 4). Area codes are "0" and 2-3 digits; account numbers are longer,
-- so the two never collide.
CREATE TABLE accounts (
    account_no text PRIMARY KEY CHECK (account_no ~ '^[0-9]{6,20}$'),
    area_code  text NOT NULL CHECK (area_code ~ '^0[0-9]{2,3}$'),
    holder     text NOT NULL DEFAULT ''
);
CREATE INDEX accounts_area ON accounts (area_code);

-- Demo accounts in the areas the demo and the tests put outages in (0571 Hangzhou, 010
-- Beijing, 021 Shanghai); real accounts come from the utility's customer system.
INSERT INTO accounts (account_no, area_code, holder) VALUES
    ('3305710001', '0571', 'demo: West Lake residence'),
    ('3305710002', '0571', 'demo: Binjiang shop'),
    ('1100100001', '010', 'demo: Chaoyang flat'),
    ('3100210001', '021', 'demo: Pudong office')
ON CONFLICT (account_no) DO NOTHING;
