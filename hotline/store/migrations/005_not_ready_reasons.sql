-- The not-ready reasons an agent may give, configurable through the API (issue 7): seeded
-- once with the reasons the agent desk used to have built in; changes after that stay.
INSERT INTO not_ready_reasons (code, label) VALUES
    ('break', 'Break'),
    ('meal', 'Meal'),
    ('training', 'Training'),
    ('meeting', 'Meeting'),
    ('callback_work', 'Callback work'),
    ('other', 'Other')
ON CONFLICT (code) DO NOTHING;
