"""Speed-up of a virtual cohort from 1 to 2 Dask workers, measured in the same run.

    python benches/cohort_dask.py [COHORT_FILE] [--patients N] [--shard-size S] [--repeat R]

Runs the cohort on a LocalCluster of 1 worker process and then of 2 (one thread each, processes,
as `needlesim.cohort(..., client=...)` uses them), each into a fresh folder, alternating the two
R times, with the local run on one thread (`workers=1`, no Dask) as the baseline of Dask's own
cost; prints each wall time, the best of each, and the ratios. It also checks that every run
wrote byte-identical files. Results go in docs/BENCHMARKS.md ("Cohorts on Dask").
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import needlesim
from distributed import Client, LocalCluster

ROOT = Path(__file__).resolve().parents[1]


def tree(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("cohort", nargs="?", default=str(ROOT / "examples/cohorts/face_mixed_200.toml"))
    ap.add_argument("--patients", type=int, default=None, help="override the file's patient count")
    ap.add_argument("--shard-size", type=int, default=None, help="override the file's shard size")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()

    text = Path(args.cohort).read_text()
    if args.patients is not None:
        text = "\n".join(
            f"patients = {args.patients}" if line.startswith("patients =") else line for line in text.splitlines()
        )
    if args.shard_size is not None:
        text = "\n".join(
            f"shard_size = {args.shard_size}" if line.startswith("shard_size =") else line
            for line in text.splitlines()
        )
    spec = needlesim._core._Cohort.parse(text, "cohort.toml")
    print(f"{spec.title}: {spec.patients} patients, {spec.shard_count()} shards; {os.cpu_count()} CPUs")

    tmp = Path(tempfile.mkdtemp(prefix="needlesim-bench-dask-"))
    times: dict[int, list[float]] = {0: [], 1: [], 2: []}  # 0: local, one thread
    trees: dict[int, dict[str, bytes]] = {}
    try:
        clusters = {
            n: LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
            for n in (1, 2)
        }
        clients = {n: Client(c) for n, c in clusters.items()}
        for n, c in clients.items():  # workers up and needlesim imported before timing
            c.wait_for_workers(n)
            c.run(lambda: __import__("needlesim").__version__)
        for r in range(args.repeat):
            for n in (0, 1, 2) if r % 2 == 0 else (2, 1, 0):
                out = tmp / f"w{n}-{r}"
                t0 = time.perf_counter()
                if n == 0:
                    needlesim.cohort(text, out, workers=1)
                else:
                    needlesim.cohort(text, out, client=clients[n])
                dt = time.perf_counter() - t0
                times[n].append(dt)
                trees.setdefault(n, tree(out))
                shutil.rmtree(out)
                what = "local, 1 thread" if n == 0 else f"{n} Dask worker(s)"
                print(f"  {what}, run {r + 1}: {dt:.2f} s")
        for c in clients.values():
            c.close()
        for c in clusters.values():
            c.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    b0, b1, b2 = min(times[0]), min(times[1]), min(times[2])
    print(f"best: local 1 thread {b0:.2f} s, 1 Dask worker {b1:.2f} s, 2 Dask workers {b2:.2f} s")
    print(f"speed-up 1 -> 2 Dask workers: {b1 / b2:.2f}x; 1 Dask worker / local 1 thread: {b1 / b0:.2f}")
    print(f"patients per second: local {spec.patients / b0:.2f}, 1 worker {spec.patients / b1:.2f}, 2 workers {spec.patients / b2:.2f}")
    print("byte-identical files:", trees[0] == trees[1] == trees[2])


if __name__ == "__main__":
    main()
