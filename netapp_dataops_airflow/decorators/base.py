"""The shape of every ``@task.netapp_*`` decorator: the function returns the operation's spec.

The decorated function runs on the worker like any TaskFlow task, with XComs and context resolved,
and returns what to do: a string (the operator's main parameter, e.g. the PVC to snapshot) or a dict
of operator parameters. The spec is validated, applied to the operator, and the operator does the
rest (start, defer, result). On resume the function is not called again: Airflow goes straight to
``execute_complete``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from airflow.providers.common.compat.sdk import DecoratedOperator, context_merge, determine_kwargs
from airflow.sdk import Context

from netapp_dataops_airflow.exceptions import InvalidInputError


class SpecDecoratedOperator(DecoratedOperator):
    """Call the function, apply the spec it returns, then run the concrete operator's ``execute``.

    Subclasses also inherit the concrete operator (after this class) and set:

    - ``spec_fields``: the keys a returned dict may hold (operator parameter names);
    - ``spec_default_field``: the parameter a returned string sets.
    """

    custom_operator_name: str = "@task.netapp"
    spec_fields: ClassVar[tuple[str, ...]] = ()
    spec_default_field: ClassVar[str] = ""

    def execute(self, context: Context) -> Any:
        """Resolve the spec from the function, then start the operation."""
        context_merge(context, self.op_kwargs)
        kwargs = determine_kwargs(self.python_callable, self.op_args, context)
        self.apply_spec(self.python_callable(*self.op_args, **kwargs))
        return super().execute(context)

    def apply_spec(self, spec: Any) -> None:
        """Set operator parameters from the function's return value, rejecting anything unknown."""
        name = f"{self.custom_operator_name} function {self.task_id!r}"
        if isinstance(spec, str):
            spec = {self.spec_default_field: spec}
        if not isinstance(spec, Mapping):
            raise InvalidInputError(
                f"{name} must return a string ({self.spec_default_field}) or a dict with keys from "
                f"{', '.join(self.spec_fields)}; it returned {type(spec).__name__}"
            )
        unknown = sorted(str(key) for key in spec if key not in self.spec_fields)
        if unknown:
            raise InvalidInputError(
                f"{name} returned unknown keys {unknown}; allowed: {', '.join(self.spec_fields)}"
            )
        for key, value in spec.items():
            setattr(self, key, value)
