"""amnesty_eventstore."""
