#!/usr/bin/env python3
"""Turn KUnit debugfs results (KTAP) into PASS/FAIL/SKIP lines.

    ktap.py RESULTS...

Each RESULTS file holds one suite as /sys/kernel/debug/kunit/SUITE/results
prints it: the suite's line at column 0, its cases indented by four spaces
under a plan `1..N`. A case prints as `PASS kunit:SUITE.CASE`. A suite
whose number of case results differs from its plan (a test that crashed)
fails as a whole. Exits 1 when no suite was found.
"""
import re
import sys

RESULT = re.compile(r"^( *)(ok|not ok) \d+ (\S+)(?:\s*#\s*(\S+)\s*(.*))?$")
PLAN = re.compile(r"^( *)1\.\.(\d+)$")


def parse(path):
    cases, plan, suite = [], None, None
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        m = PLAN.match(line)
        if m and len(m.group(1)) == 4:
            plan = int(m.group(2))
            continue
        m = RESULT.match(line)
        if not m:
            continue
        indent, ok, name, directive, comment = m.groups()
        status = "PASS" if ok == "ok" else "FAIL"
        if directive and directive.upper() == "SKIP":
            status = "SKIP"
        if len(indent) == 4:
            cases.append((status, name, comment or ""))
        elif not indent:
            suite = (status, name, comment or "")
    return suite, plan, cases


def main():
    nsuites = 0
    for path in sys.argv[1:]:
        suite, plan, cases = parse(path)
        if suite is None:
            print(f"FAIL kunit:{path}: no suite result")
            continue
        nsuites += 1
        status, name, comment = suite
        if status == "SKIP" and not cases:
            print(f"SKIP kunit:{name}: {comment}")
            continue
        for cstatus, cname, ccomment in cases:
            print(f"{cstatus} kunit:{name}.{cname}" + (f": {ccomment}" if ccomment else ""))
        if plan is None or plan != len(cases):
            print(f"FAIL kunit:{name}: planned {plan} cases, {len(cases)} reported")
        elif status == "FAIL" and all(c[0] != "FAIL" for c in cases):
            print(f"FAIL kunit:{name}: suite failed outside its cases")
    return 0 if nsuites else 1


if __name__ == "__main__":
    sys.exit(main())
