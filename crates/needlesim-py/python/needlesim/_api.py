"""Studies, their parameters and their results (the Python face of ``needlesim::study``)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from . import _core
from ._errors import InputError, UnknownParamError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

Progress = Callable[[str, int, int], Any]
"""A progress callback: ``progress(stage, done, total)``; ``total == 0`` for an open-ended count."""

PathLike = Union[str, "os.PathLike[str]"]


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as e:  # pragma: no cover - pandas is in the test requirements
        raise ImportError(
            "this needs pandas: pip install pandas (or needlesim[pandas])"
        ) from e
    return pandas


def _looks_like_toml(s: str) -> bool:
    return "\n" in s or "=" in s or s.lstrip().startswith("[")


class Study:
    """One validated input file (a scenario or a patient file) and its model parameters.

    Make one with :meth:`from_path`, :meth:`from_toml` or :meth:`from_dict`; set parameters
    through :attr:`params`; run a command with :meth:`run`. A scenario file (``examples/*.toml``)
    runs ``punctures``, ``deliver`` or ``simulate``; a patient file (``examples/patients/``)
    runs ``plan``. Invalid input raises :class:`needlesim.FieldError` naming the field.
    """

    __slots__ = ("_s",)

    def __init__(self, core: _core._Study) -> None:
        """Wraps a compiled study; use the ``from_*`` constructors."""
        self._s = core

    @classmethod
    def from_toml(cls, text: str, name: str = "<text>") -> Study:
        """Validates TOML text: a scenario file or a patient file.

        Args:
            text: the file's text.
            name: how messages name the input.
        """
        return cls(_core._Study.from_toml(text, name))

    @classmethod
    def from_path(cls, path: PathLike) -> Study:
        """Reads and validates a scenario or patient file."""
        return cls(_core._Study.from_path(os.fspath(path)))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], name: str = "<dict>") -> Study:
        """Validates a dict shaped like the TOML file: tables as dicts, arrays of tables as
        lists of dicts, dates as ``datetime.date`` or ISO strings. Keys set to None are left
        out (the default applies)."""
        return cls(_core._Study.from_dict(data, name))

    @property
    def kind(self) -> str:
        """``"scenario"`` or ``"patient"``."""
        return self._s.kind

    @property
    def name(self) -> str:
        """The input's name (its path, ``<text>`` or ``<dict>``)."""
        return self._s.name

    @property
    def text(self) -> str:
        """The TOML text the study was validated from, with the overrides set through
        :attr:`params` written into its ``[params.<group>]`` tables."""
        return self._s.text

    @property
    def seed(self) -> int | None:
        """The scenario's seed (None for a patient file)."""
        return self._s.seed

    @property
    def params(self) -> Params:
        """The model parameters of this study, by registry name (``"healing.collagen_half_life"``):
        read, set (checked against the registry's range) and list them. Setting one validates the
        input again with it, as a ``[params.<group>]`` entry of the file would be."""
        return Params(self._s)

    def run(
        self,
        command: str | None = None,
        *,
        seed: int | None = None,
        resolution: str | None = None,
        predict: bool = True,
        progress: Progress | None = None,
    ) -> Results:
        """Runs a command and returns its results. The GIL is released while it runs, so other
        Python threads go on; ``progress`` is called (with the GIL taken) as stages advance.

        Args:
            command: ``"punctures"``, ``"deliver"``, ``"simulate"`` (scenario files) or
                ``"plan"`` (patient files). Default: ``"plan"`` for a patient file,
                ``"simulate"`` for a scenario with a ``[protocol]``, ``"punctures"`` otherwise.
            seed: seed of every random stream (default: the file's ``seed``).
            resolution: ``simulate``'s model resolution, ``"lumped"``, ``"unit-cell"`` or
                ``"patch"`` (default: the file's ``protocol.resolution``, else lumped).
            predict: ``plan``: run the healing model's predictions and protocol search.
            progress: ``progress(stage, done, total)``. An exception it raises is raised when
                the run ends (the run itself is not interrupted).
        """
        core = self._s.run(
            command or self._s.default_command,
            seed=seed,
            resolution=resolution,
            predict=predict,
            progress=progress,
        )
        return Results(core)

    def __repr__(self) -> str:
        return repr(self._s)


class Params(MutableMapping[str, float]):
    """The model parameters of a study, as a mapping ``"group.name" -> value``.

    Values are in the unit the listing gives (SI, or the unit the name's suffix says).
    ``params[name] = value`` checks the name (an :class:`needlesim.UnknownParamError`, a
    ``KeyError``, names the closest ones), whether it may be set and its plausible range (an
    :class:`needlesim.ParamError`); the study is then validated again with it. ``del
    params[name]`` removes an override set here. :meth:`info` and :meth:`table` give unit,
    range, kind (literature / calibrated / assumed) and source.
    """

    __slots__ = ("_s",)

    def __init__(self, core: _core._Study) -> None:
        """A view of a study's parameters (use ``study.params``)."""
        self._s = core

    def __getitem__(self, name: str) -> float:
        """The value of ``name`` (``"group.name"``)."""
        return self._s.get_param(name)

    def __setitem__(self, name: str, value: float) -> None:
        """Sets ``name`` after checking it; the study is validated again."""
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise InputError(
                f"params[{name!r}] = {value!r}: a parameter value must be a number "
                f"(in the unit `needlesim.parameters()` lists)"
            ) from None
        self._s.set_param(name, v)

    def __delitem__(self, name: str) -> None:
        """Removes an override set from Python (back to the file's value or the default)."""
        if name not in self._s.overrides():
            self._s.get_param(name)  # unknown names raise UnknownParamError
            raise KeyError(f"{name!r} was not set from Python; overrides: {sorted(self._s.overrides())}")
        self._s.reset_param(name)

    def __iter__(self) -> Iterator[str]:
        """Every parameter name, in listing order."""
        return iter([r["name"] for r in self._s.param_rows()])

    def __len__(self) -> int:
        """How many parameters the registry has."""
        return len(self._s.param_rows())

    def __contains__(self, name: object) -> bool:
        """Whether ``name`` is a registered parameter."""
        if not isinstance(name, str):
            return False
        try:
            self._s.get_param(name)
        except UnknownParamError:
            return False
        return True

    @property
    def overrides(self) -> dict[str, float]:
        """The parameters set from Python (not those set in the file), ``{name: value}``."""
        return dict(self._s.overrides())

    def info(self, name: str) -> dict[str, Any]:
        """Everything the registry says about ``name``: value, unit, kind, min, max,
        range_reason, settable, source, note."""
        self._s.get_param(name)  # raises UnknownParamError with the closest names
        for r in self._s.param_rows():
            if r["name"] == name:
                return r
        raise UnknownParamError(f"unknown parameter `{name}`", field=f"params.{name}")  # pragma: no cover

    def rows(self, filter: str | None = None) -> list[dict[str, Any]]:
        """The listing as dicts; ``filter`` keeps names, kinds or sources containing it
        (case-insensitive)."""
        rows = self._s.param_rows()
        return _filter_rows(rows, filter)

    def table(self, filter: str | None = None) -> pd.DataFrame:
        """The listing as a pandas DataFrame indexed by name (columns group, value, unit, kind,
        min, max, range_reason, settable, source, note)."""
        return _rows_frame(self.rows(filter))

    def __repr__(self) -> str:
        o = self.overrides
        return f"<needlesim.Params: {len(self)} parameters, overrides {o}>"


def _filter_rows(rows: list[dict[str, Any]], filter: str | None) -> list[dict[str, Any]]:
    if not filter:
        return list(rows)
    f = filter.lower()
    return [
        r
        for r in rows
        if f in r["name"].lower() or r["kind"] == f or f in r["source"].lower()
    ]


def _rows_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    pd = _pandas()
    cols = ["name", "group", "value", "unit", "kind", "min", "max", "range_reason", "settable", "source", "note"]
    return pd.DataFrame(rows, columns=cols).set_index("name")


def parameters(filter: str | None = None, *, as_frame: bool = True) -> Any:
    """Every model parameter with its default value, unit, kind, plausible range (and why) and
    source (the listing of ``needlesim params``).

    Args:
        filter: keep names (``group.name``), kinds or sources containing it (case-insensitive).
        as_frame: a pandas DataFrame indexed by name (default), else a list of dicts.
    """
    rows = _filter_rows(_core.param_rows(), filter)
    return _rows_frame(rows) if as_frame else rows


class Results:
    """What a run produced.

    Attributes:
        command: the command that ran.
        seed: the seed of its random streams (None for a plan).
        data: the command's JSON document as a dict (``outcomes.json``, ``punctures.json``,
            ``delivery.json`` or ``plan.json``; fields in ``docs/OUTPUTS.md``).
    """

    def __init__(self, core: _core._Run) -> None:
        """Wraps a compiled run (made by :meth:`Study.run`)."""
        self._r = core
        self._files: dict[str, str] | None = None
        self.command: str = core.command
        self.seed: int | None = core.seed
        self.data: dict[str, Any] = json.loads(self.files[core.json_name()])

    @property
    def files(self) -> dict[str, str]:
        """The result files as ``{name: text}``, exactly as ``write`` (and the command line)
        writes them."""
        if self._files is None:
            self._files = self._r.files()
        return self._files

    @property
    def zones(self) -> list[str]:
        """The zone names, in file order (empty for a plan)."""
        return self._r.zones()

    @property
    def plan(self) -> dict[str, Any]:
        """``plan``: the plan (``plan.json``) as a dict."""
        if self.command != "plan":
            raise InputError(f"a `{self.command}` run has no plan; run a patient file with command='plan'")
        return self.data

    def _zone(self, zone: str | None) -> str:
        names = self.zones
        if zone is None:
            if len(names) == 1:
                return names[0]
            raise InputError(f"this run has {len(names)} zones: name one of {names}")
        if zone not in names:
            raise InputError(f"no zone {zone!r}; zones: {names}")
        return zone

    def arrays(self, zone: str | None = None) -> dict[str, np.ndarray]:
        """``simulate``: a zone's time series as numpy arrays, full precision: ``day``, the
        nominal trajectories and their 5-95 % bands (``*_p5``, ``*_p95``), the columns of
        ``timeseries_<zone>.csv`` (same names and units). ``zone`` may be left out when there is
        one zone."""
        if self.command != "simulate":
            raise InputError(
                f"per-zone time series come from `simulate`; this is a `{self.command}` run"
                + (" (use timeseries())" if self.command == "deliver" else "")
            )
        return dict(self._r.series(self._zone(zone)))

    def timeseries(self, zone: str | None = None) -> pd.DataFrame:
        """The run's time series as a pandas DataFrame.

        * ``simulate``: a zone's series (:meth:`arrays`), indexed by ``day``;
        * ``deliver``: the needled and intact arms over time (``delivery.json`` ``series``),
          indexed by ``t_h``, columns ``needled_*``, ``intact_*``, ``open_area_fraction``, ...
        """
        pd = _pandas()
        if self.command == "simulate":
            return pd.DataFrame(self.arrays(zone)).set_index("day")
        if self.command == "deliver":
            rows = []
            for p in self.data["series"]:
                row = {k: v for k, v in p.items() if not isinstance(v, dict)}
                for arm in ("needled", "intact"):
                    for k, v in p[arm].items():
                        row[f"{arm}_{k}"] = v
                rows.append(row)
            return pd.DataFrame(rows).set_index("t_h")
        raise InputError(f"a `{self.command}` run has no time series; see .data and .table(name)")

    def table(self, name: str) -> pd.DataFrame:
        """A CSV file of the result set as a DataFrame (e.g. ``channels_<zone>.csv`` of
        ``punctures``, ``delivery_profiles.csv``); ``name`` with or without ``.csv``."""
        import io

        pd = _pandas()
        key = name if name.endswith(".csv") else f"{name}.csv"
        if key not in self.files:
            csvs = [n for n in self.files if n.endswith(".csv")]
            raise InputError(f"no file {key!r} in this run's results; CSV files: {csvs}")
        return pd.read_csv(io.StringIO(self.files[key]))

    def write(self, out: PathLike) -> Path:
        """Writes the result files into the folder ``out`` as one set (atomically: the old set
        or the new one, never a mix) and returns its path."""
        self._r.write(os.fspath(out))
        return Path(out)

    def report_html(self) -> str:
        """The self-contained HTML report of the run."""
        return self._r.page()

    def summary(self) -> str:
        """The terminal summary, as the command line prints it."""
        return self._r.summary(".")

    def __repr__(self) -> str:
        return f"<needlesim.Results {self.command}, seed {self.seed}, {len(self.files)} files>"


def _patient_study(patient: Study | Mapping[str, Any] | PathLike) -> Study:
    if isinstance(patient, Study):
        return patient
    if isinstance(patient, Mapping):
        return Study.from_dict(patient)
    if isinstance(patient, str) and _looks_like_toml(patient):
        return Study.from_toml(patient)
    if isinstance(patient, (str, os.PathLike)):
        return Study.from_path(patient)
    raise InputError(
        f"plan() takes a patient file's path, its TOML text, a dict or a Study, not {type(patient).__name__}"
    )


def plan(
    patient: Study | Mapping[str, Any] | PathLike,
    *,
    predict: bool = True,
    progress: Progress | None = None,
) -> Results:
    """Plans a treatment for a patient: screening, depths per zone, schedule, numbing,
    aftercare and (``predict``) the healing model's predicted results and protocol search.

    Args:
        patient: a patient file's path, its TOML text (a string with a newline or ``=``), a
            dict shaped like the file, or a :class:`Study` of a patient file.
        predict: run the predictions (slower); ``False`` plans without them.
        progress: ``progress(stage, done, total)``.

    Returns:
        :class:`Results` whose ``.plan`` is ``plan.json`` as a dict.
    """
    study = _patient_study(patient)
    if study.kind != "patient":
        raise InputError(
            f"`{study.name}` is a scenario file: plan() needs a patient file (examples/patients/); "
            "run scenarios with Study.run()"
        )
    return study.run("plan", predict=predict, progress=progress)


class Validation:
    """The results of :func:`validate`.

    Attributes:
        data: ``validation.json`` as a dict (counts, status by model part, every case).
        text: the table ``needlesim validate`` prints.
        regressions: None, or the message naming the cases that passed in the baseline and
            fail now.
    """

    def __init__(self, data: dict[str, Any], text: str, regressions: str | None) -> None:
        """Made by :func:`validate`."""
        self.data = data
        self.text = text
        self.regressions = regressions

    @property
    def ok(self) -> bool:
        """True when no case regressed against the baseline."""
        return self.regressions is None

    @property
    def counts(self) -> dict[str, int]:
        """How many cases ended in each status (total, pass, open, regressed, now_passes)."""
        return dict(self.data["counts"])

    def cases(self) -> pd.DataFrame:
        """One row per case (id, part, source, quantity, expected, simulated, low, high,
        status, ...)."""
        return _pandas().DataFrame(self.data["cases"])

    def __repr__(self) -> str:
        c = self.counts
        return f"<needlesim.Validation {c['total']} cases: {c['pass']} pass, {c['open']} open, {c['regressed']} regressed>"


def validate(
    dir: PathLike = "validation",
    *,
    filter: str | list[str] | None = None,
    baseline: PathLike | None = None,
    progress: Progress | None = None,
) -> Validation:
    """Runs the validation cases (published measurements) and compares them with the reviewed
    baseline, as ``needlesim validate`` does (without writing files).

    Args:
        dir: the folder of case files (default ``validation``, relative to the working
            directory: the repository's ``validation/``).
        filter: patterns on case id, file path or model part (skin, devices, injury,
            delivery, healing); a case runs when it matches one.
        baseline: the reviewed baseline (default ``<dir>/baseline.json``).
        progress: ``progress(stage, done, total)``, once per case.
    """
    d = Path(dir)
    if not d.is_dir():
        raise InputError(
            f"no validation folder `{d}`: run from the repository root (its validation/ folder) "
            "or pass dir=PATH"
        )
    patterns = [filter] if isinstance(filter, str) else list(filter or [])
    b = Path(baseline) if baseline is not None else d / "baseline.json"
    text, table, regressions = _core.validate(str(d), patterns, str(b), progress)
    return Validation(json.loads(text), table, regressions)
