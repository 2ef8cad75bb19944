"""amnesty_runtime."""
