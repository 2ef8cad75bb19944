"""amnesty_intake."""
