-- Knowledge-base search, faster (issue #18.3's speed target): the published title's words in a
-- tsvector of their own, under a GIN index of their own. Search first takes the articles with
-- the question's words in their title; asked of `search` with ':A' weights, GIN cannot tell a
-- title word from a body word, so PostgreSQL fetched and rechecked every article with the words
-- anywhere (thousands, 45 ms of a 54 ms search at 50,000 articles). Generated from `search`, so
-- every writer (publish, retire, the bulk load) keeps it right without knowing of it.
ALTER TABLE kb_articles
    ADD COLUMN title_search tsvector GENERATED ALWAYS AS (ts_filter(search, '{a}')) STORED;
CREATE INDEX kb_articles_title_search ON kb_articles USING gin (title_search);
