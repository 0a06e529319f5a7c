"""Shared fixtures. Each fixture module is owned by one area; conftest only gathers them."""

from tests.fixtures_env import *  # noqa: F403
from tests.fixtures_sandbox import *  # noqa: F403
