"""Cohorts on Dask (point 3 of issue 22): a LocalCluster of two worker processes gives the same
files, byte for byte, as the local run; `python -m needlesim.dask` does the same from a shell; an
unreachable scheduler is a clear error within seconds."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

needlesim = pytest.importorskip("needlesim", reason="the needlesim wheel is not installed (bash .ci/run builds it)")
distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "cohorts" / "face_mixed_200.toml"


def small_cohort(tmp_path: Path, patients: int = 12, shard_size: int = 3) -> Path:
    text = EXAMPLE.read_text()
    text = text.replace("patients = 200", f"patients = {patients}").replace(
        "shard_size = 25", f"shard_size = {shard_size}"
    )
    p = tmp_path / "cohort.toml"
    p.write_text(text)
    return p


def tree(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as c:
        yield c


def test_dask_gives_the_local_runs_files(tmp_path, cluster):
    cohort = small_cohort(tmp_path)
    local = needlesim.cohort(cohort, tmp_path / "local", workers=1)
    calls = []
    with distributed.Client(cluster) as client:
        on_dask = needlesim.cohort(cohort, tmp_path / "dask", client=client, progress=lambda *a: calls.append(a))
        # every shard ran on a worker, one thread each, with RAYON_NUM_THREADS=1 set there
        env = client.run(lambda: os.environ.get("RAYON_NUM_THREADS"))
        pids = client.run(os.getpid)
    assert tree(tmp_path / "local") == tree(tmp_path / "dask")
    assert on_dask.summary == local.summary
    assert calls[0] == ("cohort: shards", 0, 4) and calls[-1] == ("cohort: shards", 4, 4)
    assert set(env.values()) == {"1"}, env
    assert os.getpid() not in pids.values()  # worker processes, not this one


def test_dask_resumes_a_cohort_started_locally(tmp_path, cluster):
    cohort = small_cohort(tmp_path, patients=12, shard_size=4)
    full = needlesim.cohort(cohort, tmp_path / "full")
    # two of three shards done here, then the cluster does the rest and the summary
    spec = needlesim._core._Cohort.parse(cohort.read_text(), str(cohort))
    for k in (0, 2):
        assert spec.run_shard(k, str(tmp_path / "part"), 1)["skipped"] is False
    with distributed.Client(cluster) as client:
        needlesim.cohort(cohort, tmp_path / "part", client=client)
    assert tree(tmp_path / "part") == tree(tmp_path / "full")
    assert full.summary["shards"] == 3


def test_the_module_runs_a_cohort_from_a_shell(tmp_path, cluster):
    cohort = small_cohort(tmp_path, patients=8, shard_size=4)
    r = subprocess.run(
        [sys.executable, "-m", "needlesim.dask", cohort.name, "--out", "shell", "--address", cluster.scheduler_address],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert "virtual patients" in r.stdout
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        needlesim.cohort(cohort.name, "local")
    finally:
        os.chdir(cwd)
    assert tree(tmp_path / "shell") == tree(tmp_path / "local")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_is_a_clear_error_within_seconds(tmp_path):
    cohort = small_cohort(tmp_path, patients=4, shard_size=4)
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    t0 = time.monotonic()
    r = subprocess.run(
        [sys.executable, "-m", "needlesim.dask", str(cohort), "--out", str(tmp_path / "out"), "--address", address, "--timeout", "3"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - t0
    assert r.returncode == 2, r.stderr
    assert f"cannot reach the Dask scheduler at `{address}`" in r.stderr and "hint:" in r.stderr
    assert elapsed < 30, elapsed  # the 3 s connect timeout, plus starting Python
    assert not (tmp_path / "out").exists()
    # from Python: an InputError naming the address
    t0 = time.monotonic()
    with pytest.raises(needlesim.InputError, match="cannot reach the Dask scheduler"):
        from needlesim.dask import connect

        connect(address, timeout=2)
    assert time.monotonic() - t0 < 15


def test_a_broken_cohort_file_is_reported_before_connecting(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.read_text().replace("sd_years = 13", "sd_years = -2"))
    r = subprocess.run(
        [sys.executable, "-m", "needlesim.dask", str(bad), "--out", str(tmp_path / "o"), "--address", "tcp://127.0.0.1:9", "--timeout", "30"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "age.sd_years" in r.stderr
    assert "Dask scheduler" not in r.stderr
