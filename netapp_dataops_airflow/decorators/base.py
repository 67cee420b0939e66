"""The shape of every ``@task.netapp_*`` decorator: the function returns the operation's spec.

The decorated function runs on the worker like any TaskFlow task, with XComs and context resolved,
and returns what to do: a string (the operator's main parameter, e.g. the PVC to snapshot) or a dict
of operator parameters. The spec is validated, applied to the operator, and the operator does the
rest (start, defer, result). On resume the function is not called again: Airflow goes straight to
``execute_complete``.

Which keys a returned dict may hold is read from the operator's signature, as trigger kwargs are read
from the trigger's (:meth:`~netapp_dataops_airflow.triggers.base.NetAppTrigger.serialize`): every
parameter of the concrete operator and its bases up to, not including, ``BaseOperator`` (so
``labels``, ``namespace``, ``deadline`` and ``failure_grace_period`` too), except those the resumed
task reads again: ``cancel_on_kill``, ``asset_events`` and the connection ids (``*_conn_id``).
``execute_complete`` and the deadline cleanup run on a fresh copy of the task without the
function's answer, so a returned connection id would have the transfer followed on one cluster
and aborted on another. Those stay decorator arguments. ``BaseOperator``'s own parameters
(``retries``, ``pool``, ...) are task settings, never a spec.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, ClassVar

from airflow.providers.common.compat.sdk import DecoratedOperator, context_merge, determine_kwargs
from airflow.sdk import BaseOperator, Context

from netapp_dataops_airflow.exceptions import InvalidInputError

# Read again when the task resumes (execute_complete, the deadline cleanup), where the function's
# answer is gone: a spec must not set them. Connection ids (*_conn_id) are excluded by their suffix.
_READ_ON_RESUME = frozenset({"cancel_on_kill", "asset_events"})
_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def spec_parameters(decorated: type) -> tuple[str, ...]:
    """Return the parameters a spec may set: the concrete operator's, base operators' included.

    ``decorated`` is a decorator class (a :class:`DecoratedOperator` that also inherits the operator).
    Its MRO is walked from the operator up to, not including, ``BaseOperator``; the decorator classes
    themselves are skipped. Order: the operator's own parameters first.
    """
    names: list[str] = []
    for cls in decorated.__mro__:
        if not issubclass(cls, BaseOperator) or cls is BaseOperator or issubclass(cls, DecoratedOperator):
            continue
        init = vars(cls).get("__init__")
        if init is None:
            continue
        for parameter in inspect.signature(init).parameters.values():
            name = parameter.name
            if parameter.kind in _NAMED and name != "self" and name not in names:
                names.append(name)
    return tuple(name for name in names if name not in _READ_ON_RESUME and not name.endswith("_conn_id"))


class SpecDecoratedOperator(DecoratedOperator):
    """Call the function, apply the spec it returns, then run the concrete operator's ``execute``.

    Subclasses also inherit the concrete operator (after this class) and set ``spec_default_field``,
    the parameter a returned string sets. ``spec_fields``, the keys a returned dict may hold, is
    derived from the operator's signature when the subclass is defined (see :func:`spec_parameters`).
    """

    custom_operator_name: str = "@task.netapp"
    spec_fields: ClassVar[tuple[str, ...]] = ()
    spec_default_field: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.spec_fields = spec_parameters(cls)
        if cls.spec_default_field not in cls.spec_fields:
            raise TypeError(
                f"{cls.__name__}.spec_default_field {cls.spec_default_field!r} is not one of the "
                f"operator's parameters {cls.spec_fields}"
            )

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
