-- The knowledge base (知识库, issue #18.3): articles in versions, reviewed and published by
-- editors (a role of its own), retired, flagged stale when not confirmed for a while, searched
-- in Chinese (hotline/kb/: the life cycle in model.py, segmentation in segment.py, the SQL in
-- queries.py; docs/knowledge-base.md).
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('agent', 'supervisor', 'qa', 'planner', 'back_office', 'editor', 'admin'));

-- An article; what agents read and search is its published version, copied here with its
-- search vector when it is published.
CREATE TABLE kb_articles (
    id            bigserial PRIMARY KEY,
    service       text NOT NULL DEFAULT '',   -- a service type, '' for every service
    kind          text NOT NULL CHECK (kind IN ('policy', 'tariff', 'outage_script',
                                   'sensitive_script', 'forbidden_phrases', 'procedure')),
    state         text NOT NULL DEFAULT 'draft'
                  CHECK (state IN ('draft', 'published', 'retired')),
    latest        integer NOT NULL DEFAULT 1,   -- the newest version
    published     integer,                      -- the version agents see (NULL: none yet)
    title         text NOT NULL DEFAULT '',     -- of the published version
    body          text NOT NULL DEFAULT '',
    tags          text[] NOT NULL DEFAULT '{}',
    ivr_keys      text[] NOT NULL DEFAULT '{}', -- menu=digit steps it is suggested for
    search        tsvector,                     -- kb_search_vector of the published version
    helped        bigint NOT NULL DEFAULT 0,    -- agents' "this helped" clicks (kb_helped)
    reviewed_at   timestamptz,                  -- last publish or confirm: the stale clock
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    retired_by    text,
    retired_at    timestamptz,
    CHECK ((state = 'published') = (search IS NOT NULL))
);
CREATE INDEX kb_articles_search ON kb_articles USING gin (search);
CREATE INDEX kb_articles_ivr ON kb_articles USING gin (ivr_keys) WHERE state = 'published';
CREATE INDEX kb_articles_service ON kb_articles (service, helped DESC)
    WHERE state = 'published';
CREATE INDEX kb_articles_state ON kb_articles (state, updated_at DESC);

-- Every version as written; a version's state follows hotline/kb/model.py RULES.
CREATE TABLE kb_versions (
    article_id  bigint NOT NULL REFERENCES kb_articles (id),
    version     integer NOT NULL CHECK (version >= 1),
    state       text NOT NULL DEFAULT 'draft'
                CHECK (state IN ('draft', 'in_review', 'published', 'superseded')),
    title       text NOT NULL CHECK (length(title) >= 1 AND length(title) <= 200),
    body        text NOT NULL CHECK (length(body) <= 20000),
    service     text NOT NULL,
    kind        text NOT NULL,
    tags        text[] NOT NULL DEFAULT '{}',
    ivr_keys    text[] NOT NULL DEFAULT '{}',
    written_by  text NOT NULL,
    written_at  timestamptz NOT NULL,
    submitted_by text,
    published_by text,
    published_at timestamptz,
    note        text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),  -- a rejection's why
    PRIMARY KEY (article_id, version)
);

-- "This helped": one click per user and call (or per user, without a call), counted on the
-- article.
CREATE TABLE kb_helped (
    article_id  bigint NOT NULL REFERENCES kb_articles (id),
    username    text NOT NULL,
    call_id     text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL,
    PRIMARY KEY (article_id, username, call_id)
);

-- The one definition of what search matches and how it weighs: the title (A) above the tags
-- and the service's name (B) above the body (C), each already segmented into words separated
-- by spaces (hotline/kb/segment.py), read by the 'simple' configuration (lower case, no
-- stemming, no stop words of its own).
CREATE FUNCTION kb_search_vector(title_words text, tag_words text, body_words text)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('simple', title_words), 'A')
        || setweight(to_tsvector('simple', tag_words), 'B')
        || setweight(to_tsvector('simple', body_words), 'C')
$$;
