"""Benchmarks of the triggerer side: many concurrent waits in one event loop, against simulators.

Run them all with ``nox -s bench`` (``-- --quick`` for a smoke run); see :mod:`benchmarks.run`.
Each scenario runs in a process of its own (a stand-in for one triggerer) and its simulator in
another, so the event loop being measured runs only the library's code.
"""
