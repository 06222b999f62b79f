#!/usr/bin/env python3
"""Prints the rate an iperf3 client's JSON report (-J) gives, in MiB/s.

    iperf3_rate.py LOG

LOG holds the report, possibly among other lines. The rate is what the
receiver got (`end.sum_received`), or for UDP without it, the sum (`end.sum`).
Exits 1 if LOG holds no report.
"""
import json
import sys


def main():
    text = open(sys.argv[1]).read()
    try:
        report, _ = json.JSONDecoder().raw_decode(text[text.index("{"):])
        end = report["end"]
        total = end.get("sum_received") or end["sum"]
        rate = total["bits_per_second"]
    except (ValueError, KeyError) as e:
        print(f"no iperf3 report in {sys.argv[1]}: {e}", file=sys.stderr)
        return 1
    print(f"{rate / 8 / 2**20:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
