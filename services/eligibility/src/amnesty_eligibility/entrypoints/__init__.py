"""Eligibility's doors: the consumer of amnesty.cases.v1 and the `amnesty whatif` command."""
