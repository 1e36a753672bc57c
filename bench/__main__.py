"""`make bench`: run every benchmark in bench/b*_*.py, print a table, write bench/out/results.json.

python -m bench                 # all of them
python -m bench --only 2 4      # some of them
python -m bench --quick         # small sizes, a smoke run
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from datetime import UTC, datetime

from .common import OUT, ROOT, Context, Figure, as_json, machine


def discover() -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / "bench").glob("b[0-9]*_*.py")):
        number = path.stem.split("_", 1)[0][1:]
        found.append((number, path.stem))
    return sorted(found, key=lambda item: int(item[0]))


def table(figures: list[Figure]) -> str:
    head = ("bench", "measured", "value", "target", "met")
    rows = [head]
    for f in figures:
        value = "n/a" if f.value is None else f"{f.value:,.1f} {f.unit}"
        met = {True: "yes", False: "NO", None: ""}[f.met]
        label = f.name if f.kind == "ours" else f"  {f.kind}: {f.name}"
        rows.append((f.bench, label, value, f.target, met))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"  [{f.bench}] {f.name}: {f.note}" for f in figures if f.note]
    return "\n".join(lines + (["", *notes] if notes else []))


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", nargs="*", default=None, help="benchmark numbers to run")
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    args = parser.parse_args()
    ctx = Context(quick=args.quick)
    figures: list[Figure] = []
    started = time.perf_counter()
    failed = []
    for number, module_name in discover():
        if args.only and number not in args.only:
            continue
        module = importlib.import_module(f"bench.{module_name}")
        print(f"== {number}: {module.TITLE}", flush=True)
        t0 = time.perf_counter()
        try:
            found = module.run(ctx)
        except Exception:
            traceback.print_exc()
            failed.append(number)
            found = [Figure(number, module.TITLE, None, "", note="the benchmark raised; see the trace above")]
        figures.extend(found)
        print(table(found), f"\n   ({time.perf_counter() - t0:.0f} s)\n", flush=True)
    total = time.perf_counter() - started
    print("== all figures\n" + table(figures) + f"\n\ntotal {total:.0f} s")
    OUT.mkdir(parents=True, exist_ok=True)
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "quick": args.quick,
        "seconds": round(total, 1),
        "figures": as_json(figures),
    }
    (OUT / "results.json").write_text(json.dumps(report, indent=2))
    print(f"written {OUT / 'results.json'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
