#!/usr/bin/env python3
"""Every result of `make check` accounted for, by name.

    results_manifest.py MANIFEST RESULTS

MANIFEST (tests/expected-results.txt) lists, one per line, each result that
`make check` reports besides the pyverbs suite (whose tests are judged by
their own table): `PASS NAME` or `SKIP NAME`. RESULTS is the run's
PASS/FAIL/SKIP lines.

Prints `FAIL expected-result:NAME: ...` for a listed result that was not
reported, or skipped where it is listed to pass; `FAIL unlisted-result:NAME`
for a pass or skip the manifest does not list (a new test is listed in the
same commit that adds it); a `NOTE` for a listed skip that now passes; and
`PASS results-manifest` when all of it holds. A listed result reported as a
failure is already counted as one and adds nothing here.
"""
import sys


# Outcomes from best to worst.
WORSE = ["PASS", "SKIP", "FAIL"]


def name_of(rest):
    """The test name of a result line's text after its status word."""
    return rest.split(": ", 1)[0].rstrip(":")


def read_manifest(path):
    """{name: PASS or SKIP}; raises ValueError on a line of another form or a
    name listed twice."""
    expected = {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            status, _, rest = line.partition(" ")
            name = name_of(rest)
            if status not in ("PASS", "SKIP") or not name:
                raise ValueError(f"{path}:{number}: not 'PASS NAME' or 'SKIP NAME': {line}")
            if name in expected:
                raise ValueError(f"{path}:{number}: {name} is listed twice")
            expected[name] = status
    return expected


def main():
    manifest_path, results_path = sys.argv[1:3]
    try:
        expected = read_manifest(manifest_path)
    except (OSError, ValueError) as ex:
        print(f"FAIL results-manifest: {ex}")
        return 1
    if not expected:
        print(f"FAIL results-manifest: {manifest_path} lists no result")
        return 1
    reported = {}
    with open(results_path) as f:
        for line in f:
            line = line.rstrip("\n")
            status, _, rest = line.partition(" ")
            if status not in ("PASS", "FAIL", "SKIP"):
                continue
            name = name_of(rest)
            if name.startswith("pyverbs:"):
                continue
            # A name reported twice counts by its worst outcome.
            reported[name] = max(status, reported.get(name, "PASS"), key=WORSE.index)
    bad = 0
    for name, want in sorted(expected.items()):
        got = reported.get(name)
        if got is None:
            print(f"FAIL expected-result:{name}: not reported (listed as {want})")
            bad += 1
        elif got == "SKIP" and want == "PASS":
            print(f"FAIL expected-result:{name}: skipped, listed to pass")
            bad += 1
        elif got == "PASS" and want == "SKIP":
            print(f"NOTE expected-result:{name}: passes now, listed as a skip: update {manifest_path}")
    for name, got in sorted(reported.items()):
        if name not in expected and got != "FAIL":
            print(f"FAIL unlisted-result:{name}: reported {got}, not in {manifest_path}")
            bad += 1
    if not bad:
        print(f"PASS results-manifest: the {len(expected)} listed results reported, none other")
    return 0


if __name__ == "__main__":
    sys.exit(main())
