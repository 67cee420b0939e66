"""Shared fixtures the integration tests use (``supervisor``, ``slow_ontap``): see tests.helpers.fixtures."""

from __future__ import annotations

from tests.helpers.fixtures import slow_ontap as slow_ontap
from tests.helpers.fixtures import supervisor as supervisor
