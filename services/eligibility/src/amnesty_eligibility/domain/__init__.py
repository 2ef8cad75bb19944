"""The amnesty law over a person's history: plain values and pure functions, no I/O."""
