from __future__ import annotations

import pytest
from k8s_cluster import Cluster


@pytest.fixture
def cluster() -> Cluster:
    return Cluster()
