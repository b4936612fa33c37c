"""Thin asyncio adapters that move bytes for the sans-IO cores."""

from tuyameter.transport.links import Link, LinkError, open_link, parse_link_url

__all__ = ["Link", "LinkError", "open_link", "parse_link_url"]
