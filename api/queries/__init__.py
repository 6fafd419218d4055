"""The read-query layer: every SQL statement of the API, one module per resource.

Each function is keyword-only, takes the pool (or a connection) first and answers the API's schemas
(`api.schemas`), in the style of full-stack-fastapi-template's `crud.py`. Routes, console pages and
`jps` commands call these; none of them calls a route handler. Writes here are the API's own
(allocations through `infra.ledger`, freezes); a group's rows are written by the workflow's
`record_transition` activity only.
"""
