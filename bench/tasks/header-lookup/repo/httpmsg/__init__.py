"""Parse and query HTTP/1.1 headers the way RFC 9110 says to."""

from httpmsg.headers import Headers

__all__ = ["Headers"]
