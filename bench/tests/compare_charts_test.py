#!/usr/bin/env python3
"""bench/compare's charts: -iops.svg, -mbps.svg, -latency.svg and -cpu.svg beside its
results JSON, each valid SVG (parsed as XML, root <svg>) that names every target of
the results' medians and has at least one bar per target.

  compare_charts_test.py run COMPARE [compare options...]
      runs COMPARE with the options (it must exit 0), then checks the charts of the
      results file it reports ("results: PATH")
  compare_charts_test.py from COMPARE RESULTS_JSON
      copies RESULTS_JSON into a temporary directory, runs COMPARE --charts-from on
      the copy and checks the charts drawn there
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

SUFFIXES = ("iops", "mbps", "latency", "cpu")


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check_charts(results_json):
    with open(results_json) as f:
        result = json.load(f)
    targets = sorted({m["target"] for m in result["medians"]})
    if not targets:
        fail(f"{results_json} has no medians")
    prefix = results_json[:-5]
    for suffix in SUFFIXES:
        svg = f"{prefix}-{suffix}.svg"
        if not os.path.exists(svg):
            fail(f"no chart {svg}")
        try:
            root = ET.parse(svg).getroot()
        except ET.ParseError as e:
            fail(f"{svg} is not valid XML: {e}")
        if root.tag != "{http://www.w3.org/2000/svg}svg":
            fail(f"{svg}: root element is {root.tag}, not svg")
        text = " ".join(t.strip() for t in root.itertext() if t.strip())
        missing = [t for t in targets if not re.search(rf"(^|\s){re.escape(t)}(\s|$)", text)]
        if missing:
            fail(f"{svg} does not name {', '.join(missing)}")
        # gnuplot draws each bar as a filled path; there must be at least one per target.
        paths = sum(1 for e in root.iter() if e.tag.endswith("path"))
        if paths < len(targets):
            fail(f"{svg} has {paths} paths for {len(targets)} targets")
        print(f"chart ok: {svg} ({os.path.getsize(svg)} bytes, names {', '.join(targets)})")


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("run", "from"):
        sys.exit(__doc__)
    mode, compare = sys.argv[1], sys.argv[2]
    if mode == "run":
        proc = subprocess.run([sys.executable, compare] + sys.argv[3:], stdout=subprocess.PIPE,
                              text=True, timeout=600)
        sys.stdout.write(proc.stdout)
        sys.stdout.flush()
        if proc.returncode != 0:
            fail(f"compare exited {proc.returncode}")
        m = re.search(r"^results: (.+\.json) \(", proc.stdout, re.M)
        if not m:
            fail("compare did not report its results file")
        check_charts(m.group(1))
        print("PASS: compare wrote its charts")
        return
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    tmp = tempfile.mkdtemp(prefix="compare-charts-test-")
    try:
        copy = os.path.join(tmp, os.path.basename(sys.argv[3]))
        shutil.copy(sys.argv[3], copy)
        proc = subprocess.run([sys.executable, compare, "--charts-from", copy],
                              stdout=subprocess.PIPE, text=True, timeout=120)
        sys.stdout.write(proc.stdout)
        if proc.returncode != 0:
            fail(f"compare --charts-from exited {proc.returncode}")
        check_charts(copy)
        print("PASS: compare --charts-from drew the charts of an earlier run")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
