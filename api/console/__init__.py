"""The officers' web console: HTML pages at `/` in Bahasa Indonesia (English with `?lang=en`)."""

from fastapi import APIRouter

from api.console import dashboard, grievances, public, reconciliation, routes, verification, wages
from api.console.lpj import router as lpj_router

router = APIRouter()
router.include_router(public.router)  # sign in and out, static files
router.include_router(routes.router)  # the officers' pages
router.include_router(lpj_router)  # a group's LPJ form and its evidence files
router.include_router(reconciliation.router)  # the bank reconciliation's mismatches
router.include_router(dashboard.router)  # the managers' dashboard, and Plotly's script
router.include_router(wages.router)  # a Padat Karya group's muster rolls and weekly wage runs
router.include_router(verification.router)  # the public status page; the verification report
router.include_router(grievances.router)  # grievances: the officers' cases, the public form

__all__ = ["router"]
