"""Run netapp-dataops-traditional's sync_snap_mirror_relationship under the toolkit's interpreter.

Invoked by ``test_ontap_dataops_traditional.py`` with HOME pointing at a temporary directory that
holds ``.netapp_dataops/config.json``; the credentials arrive in ``ONTAP_USER`` / ``ONTAP_PASSWORD``
(environment, not argv) and go into an in-memory keyring, where the toolkit looks for them.
Prints one JSON line: ``{"ok": true}`` or ``{"ok": false, "error": ..., "type": ...}``.

Only the toolkit's 10-second sleeps are shortened (``SLEEP_SCALE``); its code runs unchanged.
"""

from __future__ import annotations

import json
import os
import sys
import time
import types

import keyring
from keyring.backend import KeyringBackend

SLEEP_SCALE = 0.01


class MemoryKeyring(KeyringBackend):
    """A keyring that lives for this process only."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self._secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self._secrets.pop((service, username), None)


def main() -> None:
    from netapp_dataops.constants import KEYRING_SERVICE_NAME
    from netapp_dataops.traditional.ontap import snapmirror_operations

    store = MemoryKeyring()
    keyring.set_keyring(store)
    store.set_password(KEYRING_SERVICE_NAME, "username", os.environ["ONTAP_USER"])
    store.set_password(KEYRING_SERVICE_NAME, "password", os.environ["ONTAP_PASSWORD"])
    snapmirror_operations.time = types.SimpleNamespace(
        sleep=lambda seconds: time.sleep(seconds * SLEEP_SCALE)
    )  # type: ignore[assignment]

    try:
        snapmirror_operations.sync_snap_mirror_relationship(
            volume_name=sys.argv[1], wait_until_complete=True, print_output=True
        )
    except Exception as exc:  # report any failure to the test as data
        print(json.dumps({"ok": False, "type": type(exc).__name__, "error": str(exc)}))
        return
    print(json.dumps({"ok": True}))


if __name__ == "__main__":
    main()
