"""Run netapp-dataops-traditional's Cloud Sync functions under the toolkit's interpreter.

Invoked by ``test_cloud_sync_dataops_traditional.py`` with HOME pointing at a temporary directory that
holds ``.netapp_dataops/config.json`` (the refresh token, base64 as the toolkit stores it). The
toolkit's hard-coded service URLs are redirected at the transport only: a ``requests`` adapter,
mounted on every session for the two real hosts, sends the request to the simulator
(``CLOUD_SYNC_SIMULATOR_URL``) and verifies it against the simulator's CA (``CLOUD_SYNC_CA_FILE``).
Only the toolkit's 60-second sleeps are shortened (``SLEEP_SCALE``); its code runs unchanged.

``argv``: ``list`` or ``sync <relationship id> [quiet]``. Prints one JSON line:
``{"ok": true, "result": ...}`` or ``{"ok": false, "error": ..., "type": ...}``.
"""

from __future__ import annotations

import json
import os
import sys
import time
import types
from typing import Any

import keyring
import requests
from keyring.backend import KeyringBackend
from requests.adapters import HTTPAdapter

SLEEP_SCALE = 0.005
REAL_HOSTS = ("https://netapp-cloud-account.auth0.com", "https://cloudsync.netapp.com")


class MemoryKeyring(KeyringBackend):
    """A keyring that lives for this process only (the toolkit insists on ONTAP credentials in it)."""

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


class SimulatorAdapter(HTTPAdapter):
    """Send requests for the real service's hosts to the simulator, verified with its CA."""

    def __init__(self, simulator_url: str, ca_file: str) -> None:
        super().__init__()
        self._simulator_url = simulator_url
        self._ca_file = ca_file

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        assert request.url is not None
        for host in REAL_HOSTS:
            if request.url.startswith(host):
                request.url = self._simulator_url + request.url[len(host) :]
        kwargs["verify"] = self._ca_file
        return super().send(request, **kwargs)


def install_adapter() -> None:
    """Mount :class:`SimulatorAdapter` for the real hosts on every ``requests`` session."""
    adapter = SimulatorAdapter(os.environ["CLOUD_SYNC_SIMULATOR_URL"], os.environ["CLOUD_SYNC_CA_FILE"])
    original_init = requests.Session.__init__

    def init(self: requests.Session) -> None:
        original_init(self)
        for host in REAL_HOSTS:
            self.mount(host, adapter)

    requests.Session.__init__ = init  # type: ignore[method-assign]


def main() -> None:
    from netapp_dataops.constants import KEYRING_SERVICE_NAME
    from netapp_dataops.traditional.data_movement import cloud_sync_operations

    store = MemoryKeyring()
    keyring.set_keyring(store)
    store.set_password(KEYRING_SERVICE_NAME, "username", "unused")
    store.set_password(KEYRING_SERVICE_NAME, "password", "unused")
    install_adapter()
    cloud_sync_operations.time = types.SimpleNamespace(  # type: ignore[attr-defined]
        sleep=lambda seconds: time.sleep(seconds * SLEEP_SCALE)
    )

    result: Any = None
    try:
        if sys.argv[1] == "list":
            result = cloud_sync_operations.list_cloud_sync_relationships()
        else:
            quiet = sys.argv[3:] == ["quiet"]
            cloud_sync_operations.sync_cloud_sync_relationship(
                sys.argv[2], wait_until_complete=True, print_output=not quiet
            )
    except Exception as exc:  # report any failure to the test as data
        print(json.dumps({"ok": False, "type": type(exc).__name__, "error": str(exc)}))
        return
    print(json.dumps({"ok": True, "result": result}))


if __name__ == "__main__":
    main()
