#!/usr/bin/env python3
"""sharedisk-bench's JSON has real fio's keys: the same job runs with fio on a file
and with sharedisk-bench on a sharedisk-target LUN, each with --output-format=json
and json+, and the two results must have the same key set at every level (top,
jobs[], read/write/trim/sync, clat_ns with its percentile list, latency_*,
iodepth_*, job and global options) with the same JSON types (an integer where fio
writes an integer, a float where fio writes a float). Two differences are allowed,
named in EXCEPTIONS below. json+ must add clat_ns "bins" in both, plain json in
neither, and the numbers must hold together (bins sum to N, latency ranges and
depth levels sum to 100 %, no depth above the job's iodepth).

  fio_json_keys_test.py FIO SHAREDISK_BENCH SHAREDISK_TARGET

The target is started here on 127.0.0.1 with a free port and stopped by pid; every
step has a timeout; the temporary directory is removed at the end.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

# (path of the object, key): why one side has the key and the other does not.
EXCEPTIONS = {
    ("", "disk_util"):
        "fio writes disk_util only when it finds the job's files on a local disk in /sys"
        " (not on tmpfs); sharedisk-bench's LUN is reached over iSCSI, no local disk",
    ("jobs[]", "sharedisk"):
        "sharedisk-bench's one extension: all_ios, block size, capacity, verify counts"
        " and error_text, which bench/compare reads; fio readers ignore unknown keys",
}
assert len(EXCEPTIONS) == 2, "keep the list of differences small and named"

JOB = """[global]
ioengine=libaio
bs=4k
size=4m
runtime=1
time_based
filename=${SHAREDISK_BENCH_DEV}

[keys]
rw=randrw
rwmixread=60
iodepth=4
"""
IODEPTH = 4


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def free_port():
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port != 3260:
            return port
    fail("no free port")


def wait_for_port(port, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def run_json(argv, env, what):
    """Runs a program that writes JSON to stdout; fio may print notes before it."""
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        fail(f"{what} did not finish within 60 s")
    if r.returncode != 0:
        fail(f"{what} exited {r.returncode}: {r.stderr.strip()[-800:]}")
    text = r.stdout
    try:
        return json.loads(text[text.index("{"):])
    except ValueError as e:
        fail(f"{what} wrote no JSON ({e}): {text[:300]!r}")


def kind(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "str"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def compare(fio, ours, path, problems, counted):
    """Recursively compares key sets and value types; `bins` keys are data, not names."""
    fk, ok = set(fio), set(ours)
    for k in sorted(fk ^ ok):
        if (path, k) in EXCEPTIONS:
            continue
        side = "only fio" if k in fk else "only sharedisk-bench"
        problems.append(f"{path or '(top)'}: key {k!r} {side} has")
    for k in sorted(fk & ok):
        a, b = fio[k], ours[k]
        counted[0] += 1
        sub = f"{path}.{k}" if path else k
        if kind(a) != kind(b):
            problems.append(f"{sub}: fio writes {kind(a)} ({a!r:.40}), sharedisk-bench"
                            f" {kind(b)} ({b!r:.40})")
        elif isinstance(a, dict) and k != "bins":
            compare(a, b, sub, problems, counted)
        elif isinstance(a, list) and k == "jobs":
            if len(a) != len(b):
                problems.append(f"{sub}: fio has {len(a)} jobs, sharedisk-bench {len(b)}")
            for x, y in zip(a, b):
                compare(x, y, "jobs[]", problems, counted)


def check_values(data, who, plus, tolerance):
    """The numbers of one result hold together. fio shows a non-zero share below 0.1 %
    as 0.1, so its percentages may sum to a little over 100."""
    for job in data["jobs"]:
        if job["error"]:
            fail(f"{who}: job {job['jobname']} failed with error {job['error']}")
        ios = 0
        for d in ("read", "write"):
            s = job[d]
            ios += s["total_ios"]
            clat = s["clat_ns"]
            if s["total_ios"] == 0:
                fail(f"{who}: no {d}s in a randrw job")
            if clat["N"] != s["total_ios"]:
                fail(f"{who}: {d} clat_ns N={clat['N']} but total_ios={s['total_ios']}")
            pct = [clat["percentile"][k] for k in clat["percentile"]]
            if pct != sorted(pct):
                fail(f"{who}: {d} percentiles decrease: {pct}")
            if plus:
                if "bins" not in clat:
                    fail(f"{who}: json+ without {d}.clat_ns.bins")
                if sum(clat["bins"].values()) != clat["N"]:
                    fail(f"{who}: {d} bins sum to {sum(clat['bins'].values())}, N={clat['N']}")
                if not all(k.isdigit() for k in clat["bins"]):
                    fail(f"{who}: {d} bins keys are not nanoseconds")
            elif "bins" in clat:
                fail(f"{who}: plain json has {d}.clat_ns.bins")
        lat = sum(job["latency_ns"].values()) + sum(job["latency_us"].values()) + \
            sum(job["latency_ms"].values())
        if abs(lat - 100.0) > tolerance:
            fail(f"{who}: latency_ns/us/ms sum to {lat:.3f} %, not 100")
        depth = sum(job["iodepth_level"].values())
        if abs(depth - 100.0) > tolerance:
            fail(f"{who}: iodepth_level sums to {depth:.3f} %")
        over = {k: v for k, v in job["iodepth_level"].items()
                if v > 0 and (k.startswith(">=") or int(k) > IODEPTH)}
        if over:
            fail(f"{who}: depths above iodepth={IODEPTH}: {over}")
        if ios == 0:
            fail(f"{who}: no I/O")


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    fio_bin, bench, target = sys.argv[1:]
    tmp = tempfile.mkdtemp(prefix="fio-json-keys-")
    proc = None
    try:
        job = os.path.join(tmp, "keys.fio")
        with open(job, "w") as f:
            f.write(JOB)
        fio_file = os.path.join(tmp, "fio-file")
        with open(fio_file, "wb") as f:
            f.truncate(4 << 20)
        backing = os.path.join(tmp, "lun.img")
        with open(backing, "wb") as f:
            f.truncate(16 << 20)
        port = free_port()
        iqn = "iqn.2024-01.io.sharedisk:fio-json-keys"
        conf = os.path.join(tmp, "lun.yaml")
        with open(conf, "w") as f:
            f.write("log_level: warn\n"
                    f"admin_socket: {os.path.join(tmp, 'admin.sock')}\n"
                    f"portals:\n  - 127.0.0.1:{port}\n"
                    f"targets:\n  - iqn: {iqn}\n    luns:\n"
                    f"      - number: 1\n        type: file\n        path: {backing}\n"
                    "        direct: false\n")
        log = open(os.path.join(tmp, "target.log"), "w")
        proc = subprocess.Popen([target, "--config", conf], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        if not wait_for_port(port, proc, 10):
            fail(f"sharedisk-target not listening on 127.0.0.1:{port} (status {proc.poll()})")
        url = f"iscsi://127.0.0.1:{port}/{iqn}/1"

        problems = []
        counted = [0]
        for fmt in ("json", "json+"):
            plus = fmt == "json+"
            fio = run_json([fio_bin, f"--output-format={fmt}", job],
                           dict(os.environ, SHAREDISK_BENCH_DEV=fio_file), f"fio {fmt}")
            ours = run_json([bench, f"--output-format={fmt}", "--no-progress", job],
                            dict(os.environ, SHAREDISK_BENCH_DEV=url), f"sharedisk-bench {fmt}")
            if not fio["fio version"].startswith("fio-"):
                fail(f"fio's version is {fio['fio version']!r}")
            check_values(fio, f"fio {fmt}", plus, 1.0)
            check_values(ours, f"sharedisk-bench {fmt}", plus, 0.001)
            before = len(problems)
            compare(fio, ours, "", problems, counted)
            for p in problems[before:]:
                print(f"  {fmt}: {p}", file=sys.stderr)
            r = ours["jobs"][0]
            print(f"{fmt}: fio {fio['fio version']}, sharedisk-bench: read {r['read']['iops']:.0f}"
                  f" IOPS, write {r['write']['iops']:.0f} IOPS, p99 read"
                  f" {r['read']['clat_ns']['percentile']['99.000000']} ns,"
                  f" iodepth_level {r['iodepth_level']}")
        if problems:
            fail(f"{len(problems)} difference(s) from fio's JSON (see above)")
        for (path, key), why in EXCEPTIONS.items():
            print(f"allowed difference {path or '(top)'}.{key}: {why}")
        print(f"PASS: {counted[0]} keys compared with fio's, same names and types")
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
