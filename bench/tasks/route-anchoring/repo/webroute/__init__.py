"""URL routing: ``/users/{id:int}`` patterns, method dispatch, URL building."""

from webroute.router import Response, Router

__all__ = ["Response", "Router"]
