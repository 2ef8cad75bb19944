"""Eligibility's use cases: deciding a batch of case events, and what-if replays."""
