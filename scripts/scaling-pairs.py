#!/usr/bin/env python3
"""Time `meshcheck analyze A -o json` and `... B -o json` alternately and print their ratio.

On a VM whose speed drifts by tens of percent over minutes, timing one size after the other
(as a hyperfine batch does) measures the drift as much as the scaling; alternating the two
inputs run by run exposes both to the same drift.

usage: scripts/scaling-pairs.py BINARY SMALLER_DIR LARGER_DIR [PAIRS]
"""
import statistics
import subprocess
import sys
import time


def timed_run(binary: str, directory: str) -> float:
    started = time.perf_counter()
    subprocess.run([binary, "analyze", directory, "-o", "json"],
                   stdout=subprocess.DEVNULL, check=False)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__.strip().splitlines()[-1])
    binary, smaller, larger = sys.argv[1:4]
    pairs = int(sys.argv[4]) if len(sys.argv) == 5 else 25
    for _ in range(3):  # warm the page cache and the allocator's first pages
        timed_run(binary, smaller)
        timed_run(binary, larger)
    small, large = [], []
    for _ in range(pairs):
        small.append(timed_run(binary, smaller))
        large.append(timed_run(binary, larger))
    ratios = [b / a for a, b in zip(small, large)]
    print(f"{smaller}: median {statistics.median(small):.1f} ms; "
          f"{larger}: median {statistics.median(large):.1f} ms; "
          f"ratio of medians {statistics.median(large) / statistics.median(small):.2f}, "
          f"median of pair ratios {statistics.median(ratios):.2f}, "
          f"ratio of minimums {min(large) / min(small):.2f}")


if __name__ == "__main__":
    main()
