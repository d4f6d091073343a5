"""Structured header values: media types with parameters, Cache-Control directives."""

from __future__ import annotations

from dataclasses import dataclass, field

from httpmsg.headers import Headers


@dataclass(frozen=True)
class MediaType:
    """``text/html; charset=utf-8`` → type, subtype, {parameter: value}."""

    type: str
    subtype: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def essence(self) -> str:
        """``type/subtype`` without parameters."""
        return f"{self.type}/{self.subtype}"


def parse_media_type(text: str) -> MediaType:
    """Parse a Content-Type value; type and parameter names are lower-cased."""
    essence, *params = (part.strip() for part in text.split(";"))
    kind, sep, subtype = essence.partition("/")
    if not sep or not kind or not subtype:
        raise ValueError(f"not a media type: {text!r}")
    parsed = {}
    for param in params:
        name, eq, value = param.partition("=")
        if not eq:
            raise ValueError(f"parameter without value in {text!r}")
        parsed[name.strip().lower()] = value.strip().strip('"')
    return MediaType(kind.lower(), subtype.lower(), parsed)


def cache_control(headers: Headers) -> dict[str, str | None]:
    """Cache-Control directives (all fields combined); valueless ones map to None."""
    directives: dict[str, str | None] = {}
    for part in (headers.get("Cache-Control") or "").split(","):
        name, eq, value = part.strip().partition("=")
        if name:
            directives[name.lower()] = value.strip('"') if eq else None
    return directives


def max_age(headers: Headers) -> int | None:
    """Seconds a response may be cached: s-maxage, then max-age; 0 for no-store."""
    if "Cache-Control" not in headers:
        return None
    directives = cache_control(headers)
    if "no-store" in directives or "no-cache" in directives:
        return 0
    for name in ("s-maxage", "max-age"):
        value = directives.get(name)
        if value is not None and value.isdigit():
            return int(value)
    return None


def charset(headers: Headers, default: str = "utf-8") -> str:
    """The Content-Type charset, or ``default``."""
    if "Content-Type" not in headers:
        return default
    return parse_media_type(headers["Content-Type"]).params.get("charset", default).lower()
