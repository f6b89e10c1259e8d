-- The two-question survey (issue #17, docs/metrics.md "Survey"): satisfaction on the centre's
-- scale (1 = very satisfied .. scale = very dissatisfied) and the NPS question (0-10), kept
-- with the call's agent, queue, service type and responsible unit. Rows of the one-question
-- survey before it keep their 0-10 `score` (now nullable: new rows leave it empty) and read
-- as before; no figure of the two questions counts them.
ALTER TABLE survey_answers ALTER COLUMN score DROP NOT NULL;
ALTER TABLE survey_answers
    ADD COLUMN satisfaction smallint,
    ADD COLUMN scale        smallint CHECK (scale IS NULL OR scale BETWEEN 2 AND 9),
    ADD COLUMN nps          smallint CHECK (nps IS NULL OR nps BETWEEN 0 AND 10),
    ADD COLUMN queue        text NOT NULL DEFAULT '',
    ADD COLUMN service      text NOT NULL DEFAULT '',
    ADD COLUMN unit         text NOT NULL DEFAULT '',
    ADD CONSTRAINT survey_answers_satisfaction
        CHECK (satisfaction IS NULL OR (scale IS NOT NULL AND satisfaction BETWEEN 1 AND scale)),
    ADD CONSTRAINT survey_answers_some_answer
        CHECK (score IS NOT NULL OR satisfaction IS NOT NULL OR nps IS NOT NULL);
-- the figures by agent / queue / service over a period (hotline/qa/queries.py survey_figures)
CREATE INDEX survey_answers_agent_at ON survey_answers (agent_id, at);
