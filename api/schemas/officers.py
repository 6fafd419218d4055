"""The officer directory as an admin sees it, and sign-in's answer. A password goes in (on create or
reset), never out; neither does the hash, the lock's count or the second factor's secret."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from jps.domain.roles import Role

OFFICER_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,63}$"
SCOPE_PATTERN = r"^(\*|\d{2}|\d{4})$"
# Text PostgreSQL can store and a log can show: no control characters (a NUL would be a 500).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
Scope = Annotated[str, Field(pattern=SCOPE_PATTERN)]


class OfficerOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "verifier-jakarta",
                    "name": "Siti Rahma",
                    "roles": ["verifier"],
                    "regions": ["31"],
                    "active": True,
                    "locked_until": None,
                    "second_factor": False,
                    "created_at": "2020-10-01T02:00:00Z",
                    "updated_at": "2020-10-01T02:00:00Z",
                }
            ]
        }
    )
    id: str
    name: str
    roles: list[Role]
    regions: list[str]
    active: bool
    locked_until: datetime | None = Field(None, description="set while five failed sign-ins lock the account")
    second_factor: bool = Field(description="a TOTP second factor is enrolled")
    created_at: datetime
    updated_at: datetime


class OfficerIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "verifier-jakarta",
                    "name": "Siti Rahma",
                    "roles": ["verifier"],
                    "regions": ["31"],
                    "password": "kata-sandi-yang-panjang",
                }
            ]
        },
    )
    id: str = Field(pattern=OFFICER_ID_PATTERN, description="the login name: lower case, digits, . _ -")
    name: str = Field(min_length=1, max_length=200, pattern=PRINTABLE)
    roles: list[Role] = Field(min_length=1, max_length=len(Role))
    regions: list[Scope] = Field(
        min_length=1, max_length=50, description="`*`, 2-digit provinces, 4-digit regencies"
    )
    active: bool = True
    password: str | None = Field(None, min_length=12, max_length=200, description="at least 12 characters")


class OfficerPatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"roles": ["verifier", "trainer"], "active": True}]},
    )
    name: str | None = Field(None, min_length=1, max_length=200, pattern=PRINTABLE)
    roles: list[Role] | None = Field(None, min_length=1, max_length=len(Role))
    regions: list[Scope] | None = Field(None, min_length=1, max_length=50)
    active: bool | None = None
    password: str | None = Field(None, min_length=12, max_length=200, description="a reset; ends the lock")
    clear_second_factor: bool = Field(False, description="a lost phone: the officer enrols again at sign-in")


class TokenOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"access_token": "eyJhbGciOiJIUzI1NiJ9.e30.x", "token_type": "bearer", "expires_in": 43200}
            ]
        }
    )
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds")


class SignInForm(BaseModel):
    """OAuth2's password form (application/x-www-form-urlencoded), with the one-time code."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"username": "verifier-jakarta", "password": "kata-sandi", "otp": ""}]
        }
    )
    username: str = Field(min_length=1, max_length=64, pattern=PRINTABLE)
    password: str = Field(min_length=1, max_length=200)
    otp: str = Field(
        "",
        max_length=12,
        pattern=PRINTABLE,
        description="the authenticator's code, where a second factor is required",
    )
    grant_type: str | None = Field(None, pattern="^password$")
