"""Adapters to the systems we run on: the PostgreSQL pool and migrations, the audit chain, the
HTTP client shape, the Temporal client, schedules and the lifecycle client, the embedded servers.

Imports the core (`jps`) and nothing else of ours."""
