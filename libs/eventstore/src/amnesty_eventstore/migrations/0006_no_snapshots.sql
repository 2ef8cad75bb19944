-- No service keeps snapshots: eligibility's person histories are short and cached in memory, statistics
-- folds into its read models. The table and the code around it are gone rather than kept unused.
DROP TABLE IF EXISTS snapshots;
