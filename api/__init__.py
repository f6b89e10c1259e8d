"""The HTTP surface: REST, the live websocket, the web pages (`create_app(settings, services)`)."""

from .app import create_app
from .services import Services

__all__ = ["Services", "create_app"]
