from __future__ import annotations

import pytest

from tests.helpers.kubernetes import SteppedKubernetes


@pytest.fixture
def stepped() -> SteppedKubernetes:
    """A backend and its controllers, stepped by the test."""
    return SteppedKubernetes()
