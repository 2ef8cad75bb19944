"""amnesty_eligibility."""
