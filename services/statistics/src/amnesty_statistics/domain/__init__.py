"""What the statistics count, as plain values and pure functions: the projection fold, no I/O."""
