"""JPS Flow core: settings, logging, the domain (stages, roles, programmes, policies, NIK, models).

Nothing in this package imports from `api/`, `activities/` or `workflows/`; they all import it.
"""
