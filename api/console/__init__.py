"""The officers' web console: HTML pages at `/` in Bahasa Indonesia (English with `?lang=en`)."""

from api.console.routes import router

__all__ = ["router"]
