-- Knowledge-base search, faster (issue #18.3's speed target): the published title's words in a
-- tsvector of their own, under a GIN index of their own. Search first takes the articles with
-- the question's words in their title; asked of `search` with ':A' weights, GIN cannot tell a
-- title word from a body word, so PostgreSQL fetched and rechecked every article with the words
-- anywhere (thousands, 45 ms of a 54 ms search at 50,000 articles). Generated from `search`, so
-- every writer (publish, retire, the bulk load) keeps it right without knowing of it.
ALTER TABLE kb_articles
    ADD COLUMN title_search tsvector GENERATED ALWAYS AS (ts_filter(search, '{a}')) STORED;
CREATE INDEX kb_articles_title_search ON kb_articles USING gin (title_search)
    WITH (fastupdate = off);

-- No pending list on the knowledge base's GIN indexes: with fastupdate (the default) what is
-- published goes to a list that every search then reads through, entry by entry, until a
-- vacuum merges it (5,000 articles just loaded made a search 6 -> 40 ms). Articles are written
-- rarely and searched on every call: each publish updates the index itself instead.
ALTER INDEX kb_articles_search SET (fastupdate = off);
ALTER INDEX kb_articles_ivr SET (fastupdate = off);
SELECT gin_clean_pending_list('kb_articles_search'::regclass),
       gin_clean_pending_list('kb_articles_ivr'::regclass);

-- Suggestions for a call take the most helpful 50 of each kind of match (ORDER BY helped DESC,
-- id): indexes in that order let PostgreSQL read those 50 and stop, where (service, helped)
-- alone made it fetch and sort every article of the service (4,500 at 50,000 articles, and as
-- many again for the IVR step and the forbidden phrases: 140 ms a call).
DROP INDEX kb_articles_service;
CREATE INDEX kb_articles_service ON kb_articles (service, helped DESC, id)
    WHERE state = 'published';
CREATE INDEX kb_articles_helped ON kb_articles (helped DESC, id) WHERE state = 'published';
CREATE INDEX kb_articles_forbidden ON kb_articles (helped DESC, id)
    WHERE state = 'published' AND service = '' AND kind = 'forbidden_phrases';
