"""Workflows: one per file, deterministic, no I/O."""
