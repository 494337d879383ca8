"""Virtual cohorts from Python: ``needlesim.cohort(...)`` on local threads or on a Dask cluster."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _core
from ._api import PathLike, Progress, _looks_like_toml, _pandas
from ._errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from distributed import Client


def cohort_source(cohort: PathLike | str | Mapping[str, Any]) -> tuple[str, str]:
    """``(text, name)`` of a cohort given as a path, TOML text or dict. ``name`` is the path as
    given (as the command line names it), ``cohort.toml`` for text or a dict: the same cohort
    gives the same name, so the same fingerprint, in every process."""
    if isinstance(cohort, Mapping):
        return _core.toml_text(cohort), "cohort.toml"
    if isinstance(cohort, str) and _looks_like_toml(cohort):
        return cohort, "cohort.toml"
    if isinstance(cohort, (str, os.PathLike)):
        path = os.fspath(cohort)
        try:
            with open(path, encoding="utf-8") as f:
                return f.read(), path
        except OSError as e:
            raise InputError(
                f"cannot read cohort file `{path}`: {e.strerror or e}\n"
                "  hint: check the path; cohort files are TOML, see docs/COHORTS.md and examples/cohorts/"
            ) from None
    raise InputError(
        f"a cohort is a cohort file's path, its TOML text or a dict, not {type(cohort).__name__}"
    )


class CohortResult:
    """A finished cohort in its output folder.

    Attributes:
        out: the output folder.
        summary: the counts and per-protocol summary (title, patients, shards, draws, rows,
            failed_rows, failed_shards, protocols, files).
        text: the terminal summary, as ``needlesim cohort`` prints it.
    """

    def __init__(self, out: Path, summary: dict[str, Any], text: str) -> None:
        """Made by :func:`needlesim.cohort`."""
        self.out = out
        self.summary = summary
        self.text = text

    @property
    def failed_rows(self) -> int:
        """Rows whose evaluation failed (their message is in the ``error`` column)."""
        return int(self.summary["failed_rows"])

    @property
    def manifest(self) -> dict[str, Any]:
        """``manifest.json``: version, cohort fingerprint, seed, shards, draws, protocols, files."""
        return json.loads((self.out / "manifest.json").read_text())

    def results(self, protocol: str | None = None) -> pd.DataFrame:
        """The results (one row per patient x zone x protocol x draw) as a DataFrame, read from
        the hive-partitioned Parquet files (``results/protocol=<name>/``) with pyarrow;
        ``protocol`` keeps one protocol."""
        pd = _pandas()
        path = self.out / "results"
        if protocol is not None:
            part = path / f"protocol={protocol}"
            if not part.is_dir():
                names = sorted(p.name.split("=", 1)[1] for p in path.glob("protocol=*"))
                raise InputError(f"no protocol {protocol!r} in {path}; protocols: {names}")
            df = pd.read_parquet(part)
            df.insert(0, "protocol", protocol)
            return df
        return pd.read_parquet(path)

    def summary_table(self) -> pd.DataFrame:
        """``summary.csv`` as a DataFrame."""
        return _pandas().read_csv(self.out / "summary.csv")

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"<needlesim.CohortResult {s['title']!r}: {s['patients']} patients, {s['rows']} rows, "
            f"{s['failed_rows']} failed, in {self.out}>"
        )


def cohort(
    cohort: PathLike | str | Mapping[str, Any],
    out: PathLike,
    workers: int = 1,
    client: Client | None = None,
    progress: Progress | None = None,
) -> CohortResult:
    """Runs a virtual cohort: every virtual patient of the cohort file, for every protocol and
    parameter draw, at planner fidelity, into ``out`` (hive-partitioned Parquet under
    ``results/``, ``summary.csv``, plots, ``params.csv``, ``draws.csv``, ``cohort.toml``,
    ``manifest.json``; docs/COHORTS.md).

    The work is split into shards; a shard already complete in ``out`` is skipped, so a killed
    run resumes. The files are byte-identical whatever the worker count or executor.

    Args:
        cohort: a cohort file's path, its TOML text, or a dict shaped like it.
        out: the output folder (created if missing).
        workers: local worker threads (0: every core); ignored with ``client``.
        client: a ``dask.distributed.Client``: shards run on its workers (one thread each,
            ``RAYON_NUM_THREADS=1``), then the summary is written here. ``out`` must be on a
            file system the workers share.
        progress: ``progress("cohort: shards", done, total)`` as shards complete.

    Raises:
        FieldError: the cohort file is invalid (``.field`` names the field).
        InputError: ``out`` holds another cohort's shards, or an unusable argument.
        RunError: a shard or the summary could not be written.
    """
    text, name = cohort_source(cohort)
    spec = _core._Cohort.parse(text, name)
    out_path = Path(out)
    if client is not None:
        from .dask import run_on_client

        summary, summary_text = run_on_client(spec, text, name, out_path, client, progress)
    else:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
            raise InputError(f"workers = {workers!r}: give a whole number of worker threads >= 1 (0: every core)")
        summary, summary_text = spec.run(os.fspath(out_path), workers, progress)
    return CohortResult(out_path, json.loads(summary), summary_text)
