"""amnesty_statistics."""
