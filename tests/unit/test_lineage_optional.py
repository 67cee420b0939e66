"""The library works without the OpenLineage provider: nothing imports it until the provider asks."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_importing_every_operator_and_decorator_leaves_openlineage_unimported() -> None:
    script = textwrap.dedent(
        """
        import sys
        import netapp_dataops_airflow.decorators.cloud_sync
        import netapp_dataops_airflow.decorators.kubernetes
        import netapp_dataops_airflow.decorators.snapmirror
        import netapp_dataops_airflow.decorators.xcp
        # Airflow reads every installed provider's get_provider_info; the rest must stay unimported.
        found = sorted(
            m for m in sys.modules
            if m.partition(".")[0] == "openlineage"
            or m.startswith("airflow.providers.openlineage.") and not m.endswith(".get_provider_info")
        )
        print(found)
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert run.stdout.strip().splitlines()[-1] == "[]", run.stdout
