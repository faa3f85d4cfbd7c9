"""The demo federation's supporting pieces: a deterministic synthetic population (no real data)."""
