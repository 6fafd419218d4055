"""Fixtures of the fast tier: see fakes.py."""

from tests.workflows.group_lifecycle.fakes import fakes, flow

__all__ = ["fakes", "flow"]
