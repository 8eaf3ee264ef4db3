"""Resource directory: multilingual, searchable, curated help resources."""

from bots.resources.plugin import ResourcesPlugin

__all__ = ["ResourcesPlugin"]
