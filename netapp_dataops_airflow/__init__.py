"""Deferrable Apache Airflow 3 tasks for NetApp data management.

Importing the package is cheap on purpose: DAG files import operators and decorators, and the
DAG processor parses them often. Heavy clients load inside the modules that need them.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0.dev0"
