#!/usr/bin/env python3
"""Compare two pyverbs tables: every test that passes on the reference device
must pass on the device under test.

    pyverbs_compare.py REFERENCE.tsv UNDER_TEST.tsv

Prints `PASS pyverbs-parity:TEST` or `FAIL pyverbs-parity:TEST: result` for each
test that passed on the reference, and one line for the whole table. A test in
KNOWN_DIFFERENCES that fails on the device under test is a SKIP naming its
cause, never a pass.
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


# Tests that pass on rdma_rxe and fail on rrxe for a known cause: a feature
# rrxe does not offer yet. Each is reported as SKIP with its cause, never as a
# pass; a test listed here that passes on rrxe is reported as a pass.
KNOWN_DIFFERENCES = {
    "test_qpex.QpExTestCase.test_qp_ex_rc_atomic_write":
        "atomic write (IBV_WR_ATOMIC_WRITE) is not offered yet",
    "test_qpex.QpExTestCase.test_qp_ex_rc_flush":
        "flush (IBV_WR_FLUSH) is not offered yet",
    "test_qpex.QpExTestCase.test_qp_ex_rc_flush_type_violate":
        "flush (IBV_WR_FLUSH) is not offered yet",
}

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
    elif name in KNOWN_DIFFERENCES:
        print(f"SKIP pyverbs-parity:{name}: {KNOWN_DIFFERENCES[name]} ({got})")
    else:
        print(f"FAIL pyverbs-parity:{name}: {got} {detail}".rstrip())
