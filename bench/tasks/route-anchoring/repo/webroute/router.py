"""Dispatch a request (method, path) to the first route whose pattern matches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from webroute.pattern import Pattern

Handler = Callable[..., object]


@dataclass
class Response:
    """What a handler answered, or an error status the router produced."""

    status: int
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Route:
    """One pattern, its handlers per HTTP method, and an optional name for URL building."""

    pattern: Pattern
    handlers: dict[str, Handler]
    name: str | None = None


class Router:
    """Routes in registration order; the first matching pattern wins."""

    def __init__(self) -> None:
        self._routes: list[Route] = []
        self._names: dict[str, Route] = {}

    def add(self, template: str, handler: Handler, methods: tuple[str, ...] = ("GET",),
            name: str | None = None) -> None:
        """Register ``handler`` for ``template`` and ``methods``."""
        route = Route(Pattern(template), {m.upper(): handler for m in methods}, name)
        if name is not None:
            if name in self._names:
                raise ValueError(f"route name {name!r} already used")
            self._names[name] = route
        self._routes.append(route)

    def dispatch(self, method: str, path: str) -> Response:
        """Call the handler for ``method`` and ``path``: 404 if no route, 405 if no method."""
        for route in self._routes:
            params = route.pattern.match(path)
            if params is None:
                continue
            handler = route.handlers.get(method.upper())
            if handler is None:
                allow = ", ".join(sorted(route.handlers))
                return Response(405, headers={"Allow": allow})
            return Response(200, handler(**params))
        return Response(404)

    def url_for(self, name: str, **params: object) -> str:
        """The path of the route called ``name`` with ``params`` filled in."""
        try:
            route = self._names[name]
        except KeyError:
            raise KeyError(f"no route named {name!r}") from None
        return route.pattern.build(**params)
