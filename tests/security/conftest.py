"""The API's real-token fixtures and the pages' signed-in clients, shared with these tests."""

from ..api.conftest import api, now, tokens  # noqa: F401
from ..web.conftest import as_user  # noqa: F401
