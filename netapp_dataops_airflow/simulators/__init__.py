"""Local stand-ins for the systems this library talks to, for demos and tests.

Each simulator keeps its state machine (``models``) apart from its wire format (``responses`` /
``app``), answers the way the real service does (errors included), and has a control API for tests:
reset, seed objects, set delays, inject faults. Simulators import nothing from the library's
clients, hooks, triggers, operators or decorators: a simulator that shared the client's models
would silently accept the client's bugs.

Run one from the command line::

    python -m netapp_dataops_airflow.simulators serve kubernetes --port 8443
"""
