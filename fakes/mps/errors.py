"""The old home of MpsError; the API errors now live in fakes/mps/exceptions.py."""

from .exceptions import MpsError

__all__ = ["MpsError"]
