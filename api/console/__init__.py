"""The officers' web console: HTML pages at `/` in Bahasa Indonesia (English with `?lang=en`)."""

from fastapi import APIRouter

from api.console import dashboard, public, reconciliation, routes

router = APIRouter()
router.include_router(public.router)  # sign in and out, static files
router.include_router(routes.router)  # the officers' pages
router.include_router(reconciliation.router)  # the bank reconciliation's mismatches
router.include_router(dashboard.router)  # the managers' dashboard, and Plotly's script

__all__ = ["router"]
