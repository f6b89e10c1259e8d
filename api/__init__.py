"""The HTTP surface: REST, the live websocket, the web pages (`create_app(settings, services)`)."""

from hotline.api.app import create_app
from hotline.api.services import Services

__all__ = ["Services", "create_app"]
