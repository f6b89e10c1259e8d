-- The caller's whole story (客户 360, issue #18 item 4: docs/customer-story.md): an account's
-- address and sensitive-customer mark, the phone numbers registered to each account (one
-- number may hold several accounts, an account several numbers), and the VIP numbers whose
-- calls the router raises (router/definitions.py VIP_BOOST), set through the configuration.
ALTER TABLE accounts
    ADD COLUMN address        text NOT NULL DEFAULT '' CHECK (length(address) <= 500),
    -- 敏感客户: the centre marked this customer (a past escalation, media, a dispute); the
    -- agent sees the mark and its note before answering
    ADD COLUMN sensitive      boolean NOT NULL DEFAULT false,
    ADD COLUMN sensitive_note text NOT NULL DEFAULT '' CHECK (length(sensitive_note) <= 500);

-- (the numbers: hotline/core/ids.py PHONE_NUMBER_PATTERN)
CREATE TABLE account_phones (
    phone      text NOT NULL CHECK (phone ~ '^\+?[0-9]{1,32}$'),
    account_no text NOT NULL REFERENCES accounts (account_no) ON DELETE CASCADE,
    PRIMARY KEY (phone, account_no)
);
CREATE INDEX account_phones_account ON account_phones (account_no);

CREATE TABLE vip_numbers (
    number   text PRIMARY KEY CHECK (number ~ '^\+?[0-9]{1,32}$'),
    note     text NOT NULL DEFAULT '' CHECK (length(note) <= 200),
    added_by text NOT NULL DEFAULT '',
    added_at timestamptz NOT NULL DEFAULT now()
);

-- The demo accounts get an address (real ones come from the utility's customer system).
UPDATE accounts SET address = CASE account_no
    WHEN '3305710001' THEN 'demo: 1 Beishan Road, Xihu District, Hangzhou'
    WHEN '3305710002' THEN 'demo: 88 Jiangnan Avenue, Binjiang District, Hangzhou'
    WHEN '1100100001' THEN 'demo: 5 Jianguo Road, Chaoyang District, Beijing'
    WHEN '3100210001' THEN 'demo: 100 Century Avenue, Pudong, Shanghai'
    ELSE address END;
