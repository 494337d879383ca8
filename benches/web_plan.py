#!/usr/bin/env python3
"""A plan through the web app, per bundled patient, against a baseline build in the same run.

Starts `needlesim serve` of two builds on loopback (each with its own temporary data folder),
then for every patient in examples/patients/ posts the patient file to `POST /api/plan` (a plan
with prediction, as the app makes it) on each server in turn, alternating which goes first,
and reports the best wall time of each (client side: request sent to answer read), the
least CPU time the server process spent on the request (user + system, from /proc: less
sensitive to other load on the machine than the wall time) and the ratios. The answers of both builds are compared (plan.json; equal unless the plan changed).

    python3 benches/web_plan.py --bin target/release/needlesim --baseline OLD/needlesim [--repeat 3]
        [--concurrent 50]

With --concurrent N it then sends N plan requests at once to each build in turn (cycling
through the patients), checks every answer against `needlesim plan` of the same build on the
same file (plan.json, wall-clock keys aside), and reports answered / correct / lost and the
latency percentiles.

Standard library only. Results: docs/BENCHMARKS.md (Web app) and docs/APP.md.
"""

import argparse
import concurrent.futures
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, data):
    port = free_port()
    proc = subprocess.Popen(
        [binary, "serve", "--port", str(port), "--data", data],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            with urllib.request.urlopen(url + "/health", timeout=1) as r:
                if r.read() == b"ok":
                    return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit(f"{binary} serve did not answer on {url}")


def cpu_s(pid):
    """User + system CPU time of a process, s (Linux /proc)."""
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def plan(url, text):
    req = urllib.request.Request(
        url + "/api/plan",
        data=text.encode(),
        headers={"Content-Type": "application/toml"},
        method="POST",
    )
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=600) as r:
        body = r.read()
        status = r.status
    return time.perf_counter() - t0, status, body


def strip(x):
    """plan.json without wall-clock keys."""
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if k not in ("timings", "timings_ms", "wall_s")}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x


def load(binary, url, files, n):
    """n concurrent plan requests; returns (correct, wrong, lost, latencies s, wall s)."""
    want = {}
    with tempfile.TemporaryDirectory() as d:
        for f in files:
            out = Path(d) / f.stem
            subprocess.run(
                [binary, "plan", str(f), "--out", str(out), "--quiet"], check=True
            )
            want[f] = strip(json.loads((out / "plan.json").read_text()))
    jobs = [files[k % len(files)] for k in range(n)]

    def one(f):
        try:
            dt, status, body = plan(url, f.read_text())
        except OSError:
            return f, None, None
        return f, dt, (status, body)

    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as ex:
        results = list(ex.map(one, jobs))
    wall = time.perf_counter() - t0
    correct = wrong = lost = 0
    lat = []
    for f, dt, r in results:
        if dt is None:
            lost += 1
            continue
        lat.append(dt)
        status, body = r
        if status == 200 and strip(json.loads(body)) == want[f]:
            correct += 1
        else:
            wrong += 1
    return correct, wrong, lost, sorted(lat), wall


def pct(v, p):
    """Nearest-rank percentile of sorted values."""
    return v[max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))] if v else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True, help="needlesim binary to measure")
    ap.add_argument("--baseline", required=True, help="needlesim binary of the previous build")
    ap.add_argument("--repeat", type=int, default=3, help="requests per patient and build")
    ap.add_argument("--patients", default="examples/patients", help="folder of patient files")
    ap.add_argument("--concurrent", type=int, default=0, help="then N plan requests at once")
    a = ap.parse_args()
    files = sorted(Path(a.patients).glob("*.toml"))
    with tempfile.TemporaryDirectory() as d1, tempfile.TemporaryDirectory() as d2:
        new, new_url = start(a.bin, d1)
        old, old_url = start(a.baseline, d2)
        try:
            print(f"load average at start: {os.getloadavg()[0]:.2f}")
            print(
                "| patient | baseline wall, ms | this build wall, ms | ratio | "
                "baseline CPU, ms | this build CPU, ms | ratio | same plan |"
            )
            print("|---|---:|---:|---:|---:|---:|---:|---|")
            worst = 0.0
            for f in files:
                text = f.read_text()
                best = {"new": float("inf"), "old": float("inf")}
                cpu = {"new": float("inf"), "old": float("inf")}
                pids = {"new": new.pid, "old": old.pid}
                bodies = {}
                for k in range(a.repeat):
                    order = [("new", new_url), ("old", old_url)]
                    if k % 2:
                        order.reverse()
                    for name, url in order:
                        c0 = cpu_s(pids[name])
                        dt, status, body = plan(url, text)
                        cpu[name] = min(cpu[name], cpu_s(pids[name]) - c0)
                        if status != 200:
                            sys.exit(f"{f.name} on {name}: HTTP {status}")
                        best[name] = min(best[name], dt)
                        bodies[name] = body
                same = strip(json.loads(bodies["new"])) == strip(json.loads(bodies["old"]))
                worst = max(worst, best["new"])
                print(
                    f"| {f.stem} | {best['old'] * 1e3:.0f} | {best['new'] * 1e3:.0f} | "
                    f"{best['old'] / best['new']:.2f} | {cpu['old'] * 1e3:.0f} | "
                    f"{cpu['new'] * 1e3:.0f} | {cpu['old'] / max(cpu['new'], 1e-3):.2f} | "
                    f"{'yes' if same else 'NO'} |"
                )
            print(f"slowest plan through the app with this build: {worst * 1e3:.0f} ms")
            if a.concurrent:
                print(f"\n{a.concurrent} concurrent plan requests per build:")
                print("| build | correct | wrong | lost | p50 s | p90 s | p99 s | max s | all answered in s |")
                print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
                for name, binary, url in (
                    ("this build", a.bin, new_url),
                    ("baseline", a.baseline, old_url),
                ):
                    c, w, lost, lat, wall = load(binary, url, files, a.concurrent)
                    print(
                        f"| {name} | {c} | {w} | {lost} | {pct(lat, 50):.1f} | {pct(lat, 90):.1f} | "
                        f"{pct(lat, 99):.1f} | {lat[-1] if lat else float('nan'):.1f} | {wall:.1f} |"
                    )
            print(f"load average at end: {os.getloadavg()[0]:.2f}")
        finally:
            for p in (new, old):
                p.terminate()
                p.wait()


if __name__ == "__main__":
    main()
