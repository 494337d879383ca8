"""The exceptions of the needlesim package.

The compiled module raises these (``needlesim._core`` imports this module when it needs one):

* :class:`FieldError` -- a field of an input is wrong: ``.field`` (its path, e.g.
  ``device.needle_length_mm`` or ``params.healing.collagen_half_life``), ``.value`` (as written),
  ``.hint`` (what to do) of the first problem; ``.errors`` lists every problem found.
* :class:`ParamError` -- a model parameter set to a value it cannot take (a ``FieldError`` at
  ``params.<group>.<name>``); :class:`UnknownParamError` (also a ``KeyError``) for a name that
  does not exist, with the closest names in ``.closest``.
* :class:`InputError` -- any other fault of the input (the command line's exit status 2).
* :class:`RunError` -- a run that failed (the command line's exit status 1).
"""

from __future__ import annotations

from typing import Any


class NeedlesimError(Exception):
    """Base class of every needlesim exception."""


class InputError(NeedlesimError, ValueError):
    """The input is at fault: an unreadable or invalid file, a command that does not fit it, a
    cohort file with impossible distributions, an unreachable Dask scheduler."""


class FieldError(InputError):
    """An input field is wrong.

    Attributes:
        field: path of the (first) field, e.g. ``zones[0].site``.
        value: the offending value, as written.
        hint: what to do about it.
        errors: every problem found, as dicts with ``field``, ``value``, ``message``, ``hint``
            and ``line`` (1-based line in the file, or None).
    """

    def __init__(
        self,
        message: str,
        field: str | None = None,
        value: str | None = None,
        hint: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> None:
        """Made by the compiled module; ``extra`` keyword arguments become attributes."""
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value
        self.hint = hint
        self.errors = list(errors) if errors else (
            [{"field": field, "value": value, "message": message, "hint": hint, "line": None}]
            if field is not None
            else []
        )
        for k, v in extra.items():
            setattr(self, k, v)
        self._extra = extra

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Keeps the attributes when the exception travels (pickle: Dask, multiprocessing).
        return (
            _rebuild,
            (type(self), self.message, self.field, self.value, self.hint, self.errors, self._extra),
        )


def _rebuild(cls: type, message: str, field: Any, value: Any, hint: Any, errors: Any, extra: Any) -> Any:
    return cls(message, field=field, value=value, hint=hint, errors=errors, **extra)


class ParamError(FieldError):
    """A model parameter cannot be set to this value (fixed, out of its plausible range, not a
    whole number). ``.field`` is ``params.<group>.<name>``."""


class UnknownParamError(ParamError, KeyError):
    """No parameter of that name. ``.closest`` lists up to three similar names."""

    closest: list[str]

    def __init__(self, message: str, **kwargs: Any) -> None:
        """As :class:`FieldError`, with ``closest`` (a list of names)."""
        kwargs.setdefault("closest", [])
        super().__init__(message, **kwargs)

    def __str__(self) -> str:  # KeyError would show the repr
        return self.message


class RunError(NeedlesimError, RuntimeError):
    """A run failed (not the input's fault)."""


__all__ = [
    "NeedlesimError",
    "InputError",
    "FieldError",
    "ParamError",
    "UnknownParamError",
    "RunError",
]
