"""``@task.netapp_xcp``: the function says which xcp command to run; the task runs it detached.

::

    @task.netapp_xcp(ssh_conn_id="xcp_host")
    def migrate(project: str) -> list[str]:
        return ["copy", f"nfs1:/projects/{project}", f"nfs2:/projects/{project}"]

The function returns the xcp arguments as a list (``["copy", SRC, DST]``, ``["sync", "-id",
NAME]``, ``["resume", "-id", NAME]``, ``["verify", SRC, DST]``; ``-newid``, ``-id``, ``-parallel``
and ``-exclude`` are read into their parameters, any other option goes to ``extra_args``), the
operation alone as a string, or a dict of
:class:`~netapp_dataops_airflow.operators.xcp.XcpOperator` parameters (not ``ssh_conn_id`` nor
``cancel_on_kill``: see :mod:`netapp_dataops_airflow.decorators.base`). The result is the run's
summary, as for the operator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from airflow.providers.common.compat.sdk import TaskDecorator, task_decorator_factory

from netapp_dataops_airflow.decorators.base import SpecDecoratedOperator
from netapp_dataops_airflow.exceptions import InvalidInputError
from netapp_dataops_airflow.operators.xcp import XcpOperator

# xcp options that map onto operator parameters.
_VALUED = {"-newid": "index", "-id": "index", "-parallel": "parallel", "-exclude": "exclude"}


def spec_from_argv(argv: Sequence[Any]) -> dict[str, Any]:
    """Read ``["copy", "-parallel", "8", SRC, DST]`` into operator parameters."""
    words = list(argv)
    if not words or not all(isinstance(word, str) for word in words):
        raise InvalidInputError(f"the xcp arguments must be a non-empty list of strings, got {argv!r}")
    spec: dict[str, Any] = {"operation": words[0]}
    positional: list[str] = []
    extra: list[str] = []
    rest = iter(words[1:])
    for word in rest:
        if word in _VALUED:
            value = next(rest, None)
            if value is None:
                raise InvalidInputError(f"xcp option {word} needs a value")
            spec[_VALUED[word]] = value
        elif word.startswith("-"):
            extra.append(word)
        else:
            positional.append(word)
    if len(positional) == 2:
        spec["source"], spec["target"] = positional
    elif positional:
        raise InvalidInputError(
            f"xcp {words[0]}: expected a source and a target path, got {positional!r}; options with values "
            "other than -newid/-id/-parallel/-exclude go in a dict's extra_args"
        )
    if extra:
        spec["extra_args"] = extra
    return spec


class XcpDecoratedOperator(SpecDecoratedOperator, XcpOperator):
    """Run the decorated function for the xcp command, then run it detached and wait."""

    template_fields: Sequence[str] = (*SpecDecoratedOperator.template_fields, *XcpOperator.template_fields)
    custom_operator_name = "@task.netapp_xcp"
    spec_default_field: ClassVar[str] = "operation"

    def __init__(self, *, python_callable: Callable[..., Any], **kwargs: Any) -> None:
        kwargs.setdefault("operation", "")  # the function says it at run time
        super().__init__(python_callable=python_callable, **kwargs)

    def apply_spec(self, spec: Any) -> None:
        """Accept an argv list besides the string and dict every decorator takes."""
        if isinstance(spec, (list, tuple)):
            spec = spec_from_argv(spec)
        super().apply_spec(spec)


def xcp_task(python_callable: Callable[..., Any] | None = None, **kwargs: Any) -> TaskDecorator:
    """Make a function an XCP task: it returns the xcp arguments to run.

    Keyword arguments are those of :class:`~netapp_dataops_airflow.operators.xcp.XcpOperator`
    (except what the function returns) and of any Airflow task.
    """
    return task_decorator_factory(
        python_callable=python_callable,
        multiple_outputs=False,
        decorated_operator_class=XcpDecoratedOperator,
        **kwargs,
    )
