"""The edges of eligibility: the rule-set files, the person streams in PostgreSQL."""
