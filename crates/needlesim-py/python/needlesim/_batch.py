"""``needlesim.Batch``: one scenario, many rows of parameter values (sensitivity, calibration)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import _core
from ._api import Study


class Batch:
    """A scenario prepared once (validation, punctures, channels) and run with the lumped
    healing model for every row of parameter values, nominal parameters only (no uncertainty
    samples), rows spread over threads with the GIL released.

    Args:
        study: a scenario study with a ``[protocol]`` (its ``params`` overrides are the base).
        names: the varied registry entries (``group.name``; groups healing, closure, injury,
            device), in the unit ``needlesim.parameters()`` lists.
        days: report days (from the first session, within the follow-up) whose outcomes are
            wanted as ``name@day`` columns; zone-level outcomes (``downtime_mean_days``,
            ``pih_risk_pct``) are always columns.

    ``run(rows)`` returns a DataFrame (or ``(array, errors)`` with ``as_frame=False``); a row that
    fails (a value outside its plausible range, say) is NaN, and its message is in
    ``batch.errors`` after the call.
    """

    __slots__ = ("_b", "errors")

    def __init__(self, study: Study, names: Sequence[str], days: Sequence[float] = ()) -> None:
        """Prepares ``study`` for runs varying ``names``, with outcomes at ``days``."""
        self._b = _core._Batch(study._s, list(names), [float(d) for d in days])
        self.errors: list[tuple[int, str]] = []

    @property
    def columns(self) -> list[str]:
        """The output columns, in order."""
        return self._b.columns

    @property
    def names(self) -> list[str]:
        """The varied parameters, in order."""
        return self._b.names

    def run(self, rows: Any, *, as_frame: bool = True) -> Any:
        """Runs every row (``rows[n, len(names)]``)."""
        a = np.ascontiguousarray(np.atleast_2d(np.asarray(rows, dtype=float)))
        values, self.errors = self._b.run(a)
        if not as_frame:
            return values, self.errors
        import pandas as pd

        return pd.DataFrame(values, columns=self.columns)

    def __repr__(self) -> str:
        return f"Batch({len(self.names)} parameters -> {len(self.columns)} outputs)"


def check_posterior(text: str | os.PathLike[str]) -> dict[str, Any]:
    """Checks a posterior file (``crates/needlesim/data/posterior.json`` format), given as its
    text or as a path to it, against this build's parameter registry, as the core does when it
    reads one: returns ``{"parameters": [...], "draws": n}``, or raises
    :class:`needlesim.InputError` naming the mismatch (registry version, entry count, an unknown
    name, a row of the wrong length)."""
    if isinstance(text, os.PathLike) or (
        isinstance(text, str) and not text.lstrip().startswith("{") and Path(text).is_file()
    ):
        text = Path(text).read_text()
    return _core.check_posterior(text)
