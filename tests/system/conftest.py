"""The fixtures the deployment tests share: a fresh database, a real SMTP server, the deployment."""

from ..scheduler.conftest import smtp_server  # noqa: F401
from ..test_migrations import empty_database  # noqa: F401
from .test_deployment import deployment  # noqa: F401
