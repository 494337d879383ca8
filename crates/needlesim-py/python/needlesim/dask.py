"""Virtual cohorts on a Dask cluster.

From Python: ``needlesim.cohort(cohort, out, client=client)``. From a shell (and from
``needlesim cohort --dask ADDRESS``, which runs this module)::

    python -m needlesim.dask COHORT_FILE --out DIR --address tcp://scheduler:8786

Each shard of the cohort is one Dask task (``client.map``): the worker runs it on one thread
(``RAYON_NUM_THREADS=1``; the cluster provides the parallelism) and writes its Parquet files into
``DIR``, which must be on a file system every worker shares. When every shard is done, the summary
table, plots and manifests are written here, once. Shards complete in ``DIR`` are skipped, so a
run that was stopped resumes; the files are byte-identical to a local run's.

The workers need the ``needlesim`` wheel of the same version in their Python environment (a shared
virtual environment, or Dask's ``PipInstall`` plugin): see docs/PYTHON.md.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import InputError, NeedlesimError

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

    from . import _core
    from ._api import Progress

#: Seconds to wait for the scheduler before giving up (``--timeout``).
CONNECT_TIMEOUT_S = 10.0


@functools.lru_cache(maxsize=4)
def _spec(text: str, name: str) -> _core._Cohort:
    from . import _core

    return _core._Cohort.parse(text, name)


def run_shard_task(shard: int, *, text: str, name: str, out: str) -> dict[str, Any]:
    """The Dask task: runs shard ``shard`` of the cohort (``text`` named ``name``) into ``out`` on
    one thread, and returns its report (shard, patients, rows, failed_rows, skipped).

    ``RAYON_NUM_THREADS=1`` is set in the worker before needlesim runs anything (the pool of the
    shard is also built with one thread, whatever the worker's environment said)."""
    os.environ["RAYON_NUM_THREADS"] = "1"
    return _spec(text, name).run_shard(shard, out, 1)


def connect(address: str, timeout: float = CONNECT_TIMEOUT_S) -> Client:
    """A ``dask.distributed.Client`` of the scheduler at ``address``; an :class:`InputError`
    naming the address within ``timeout`` seconds when it cannot be reached."""
    try:
        from distributed import Client
    except ImportError as e:
        raise InputError(
            "running on Dask needs dask.distributed in this Python: pip install 'dask[distributed]'"
        ) from e
    t0 = time.monotonic()
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        raise InputError(
            f"cannot reach the Dask scheduler at `{address}` (gave up after "
            f"{time.monotonic() - t0:.1f} s): {e}\n"
            "  hint: check the address (tcp://HOST:PORT, as the scheduler prints it) and that the "
            "scheduler is running (`dask scheduler`, or a dask-jobqueue cluster; see docs/PYTHON.md)"
        ) from None


def run_on_client(
    spec: _core._Cohort,
    text: str,
    name: str,
    out: Path,
    client: Client,
    progress: Progress | None = None,
) -> tuple[str, str]:
    """Maps the cohort's shards over ``client``'s workers, waits for all of them, then writes the
    summary here. Returns ``(summary JSON, terminal summary)``."""
    from distributed import as_completed

    n = spec.shard_count()
    out_abs = os.path.abspath(out)
    os.makedirs(out_abs, exist_ok=True)
    futures = client.map(run_shard_task, range(n), text=text, name=name, out=out_abs, pure=False)
    done = 0
    if progress is not None:
        progress("cohort: shards", 0, n)
    try:
        for fut in as_completed(futures, loop=client.loop):
            fut.result()  # raises the task's exception here
            done += 1
            if progress is not None:
                progress("cohort: shards", done, n)
    except BaseException:
        client.cancel(futures)
        raise
    return spec.finish(os.fspath(out))


def _progress_printer(quiet: bool) -> Progress | None:
    if quiet:
        return None
    tty = sys.stderr.isatty()
    last = [0.0]

    def show(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - last[0] < (0.2 if tty else 10.0):
            return
        last[0] = now
        end = "\n" if (done == total or not tty) else ""
        print(f"\r{stage}: {done}/{total}", end=end, file=sys.stderr, flush=True)

    return show


def main(argv: list[str] | None = None) -> int:
    """``python -m needlesim.dask COHORT_FILE --out DIR --address ADDRESS``: exit status 0 when
    the cohort is complete, 2 for bad input (an invalid cohort file, an unreachable scheduler),
    1 when the run failed."""
    ap = argparse.ArgumentParser(
        prog="python -m needlesim.dask",
        description="Run a needlesim virtual cohort on a Dask cluster (one task per shard).",
    )
    ap.add_argument("cohort", help="cohort file (TOML; examples/cohorts/)")
    ap.add_argument("--out", required=True, help="output folder, on a file system the workers share")
    ap.add_argument("--address", required=True, help="the Dask scheduler, e.g. tcp://HOST:8786")
    ap.add_argument(
        "--timeout",
        type=float,
        default=CONNECT_TIMEOUT_S,
        help=f"seconds to wait for the scheduler (default {CONNECT_TIMEOUT_S:g})",
    )
    ap.add_argument("--quiet", action="store_true", help="print nothing but errors")
    args = ap.parse_args(argv)

    from ._cohort import cohort

    try:
        # The cohort file first: a broken one is reported without waiting for a cluster.
        from ._cohort import cohort_source
        from . import _core

        text, name = cohort_source(args.cohort)
        _core._Cohort.parse(text, name)
        client = connect(args.address, args.timeout)
        try:
            res = cohort(args.cohort, args.out, client=client, progress=_progress_printer(args.quiet))
        finally:
            client.close()
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except NeedlesimError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: completed shards are kept; run again to resume", file=sys.stderr)
        return 130
    except Exception as e:  # a worker lost, a task that could not run: say what, exit 1
        print(f"error: {type(e).__name__}: {e}\n  completed shards are kept; run again to resume", file=sys.stderr)
        return 1
    if not args.quiet:
        print(res.text, end="")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
