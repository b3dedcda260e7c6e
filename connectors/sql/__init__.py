"""SQL stores through SQLAlchemy Core."""

from .connector import CHUNK, SqlConnector

__all__ = ["CHUNK", "SqlConnector"]
