#!/usr/bin/env python3
"""Compare two pyverbs tables: every test that passes on the reference device
must pass on the device under test.

    pyverbs_compare.py REFERENCE.tsv UNDER_TEST.tsv

Prints `PASS pyverbs-parity:TEST` or `FAIL pyverbs-parity:TEST: result` for each
test that passed on the reference, and one line for the whole table.
"""
import sys


def table(path):
    rows = {}
    with open(path) as f:
        next(f)
        for line in f:
            test, result, detail = (line.rstrip("\n").split("\t") + ["", ""])[:3]
            rows[test] = (result, detail)
    return rows


ref, dut = table(sys.argv[1]), table(sys.argv[2])
if not ref:
    print(f"FAIL pyverbs-parity: empty reference table {sys.argv[1]}")
for test, (result, _) in sorted(ref.items()):
    if result != "pass":
        continue
    name = test.removeprefix("tests.")
    got, detail = dut.get(test, ("missing", ""))
    if got == "pass":
        print(f"PASS pyverbs-parity:{name}")
    else:
        print(f"FAIL pyverbs-parity:{name}: {got} {detail}".rstrip())
