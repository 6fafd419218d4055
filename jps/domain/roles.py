"""Officer roles (peran) and region scope (wilayah kerja)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

NATIONAL = "*"


class Role(StrEnum):
    REGISTRAR = "registrar"  # submits and revises proposals, imports
    VERIFIER = "verifier"
    TRAINER = "trainer"
    FINANCE = "finance"
    SUPERVISOR = "supervisor"  # authorizes large payments, cancels, receives escalations
    MENTOR = "mentor"
    AUDITOR = "auditor"  # reads everything, changes nothing
    ADMIN = "admin"  # manages officers (the directory), nothing else


OFFICER_ROLES: frozenset[Role] = frozenset(r for r in Role if r not in (Role.AUDITOR, Role.ADMIN))


def region_in_scope(region_code: str, scopes: Iterable[str]) -> bool:
    """True when a group's 4-digit regency code lies inside one of the officer's scopes.

    A scope is `*` (national), a 2-digit province or a 4-digit regency/city prefix.
    """
    for scope in scopes:
        if scope == NATIONAL or (scope and region_code.startswith(scope)):
            return True
    return False


def manages_officers_only(roles: Iterable[Role]) -> bool:
    """No role but `admin` (or none at all): the officer manages the directory and does nothing else,
    not even read a group (issue 11, "Who may act")."""
    return not set(roles) - {Role.ADMIN}


def is_national(scopes: Iterable[str]) -> bool:
    return NATIONAL in scopes
