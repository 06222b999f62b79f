#!/usr/bin/env python3
"""The pyverbs tables: a run's results judged against committed expectations.

    pyverbs_tables.py judge EXPECTED RESULT
    pyverbs_tables.py parity REFERENCE EXPECTED
    pyverbs_tables.py update EXPECTED RESULT

RESULT is a table written by qemu/guest/pyverbs_suite.py (test, result,
detail). EXPECTED (tests/pyverbs/rrxe0-expected.tsv) lists every test of the
suite with the outcome expected on rrxe0, the detail expected for an outcome
other than a pass, and the cause of that outcome. REFERENCE
(tests/pyverbs/rxe0-reference.tsv, from `make reference`) is rdma_rxe's
result table.

judge prints one line per test: `PASS pyverbs:TEST` for a pass, `SKIP
pyverbs:TEST: cause` for an expected skip or known difference met exactly
(same outcome, same detail), and `FAIL pyverbs:TEST: ...` for any other
outcome, a test missing from either table, or a missing or empty result
table. A test that passes where it was expected not to is named on a `NOTE`
line as well, so that the expectations are updated in the same commit.
judge exits non-zero when it could not judge the tables.

parity prints the README's parity figure from the two committed tables.

update writes EXPECTED anew from RESULT, keeping the causes already given;
a new outcome other than a pass gets the cause `TODO`, which judge refuses.
"""
import re
import sys

# How good an outcome is; judge fails anything below the expected rank.
RANK = {"pass": 3, "skip": 2, "xfail": 2, "fail": 1, "error": 1, "not-run": 0}


def read(path, columns):
    """Rows of a table as {test: (columns after the first)}; comment lines
    (the run's device and rdma-core version) and the header are skipped."""
    rows = {}
    with open(path) as f:
        header = None
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            if header is None:
                header = line
                continue
            parts = (line.split("\t") + [""] * columns)[:columns]
            rows[parts[0]] = tuple(parts[1:])
    return rows


def normalize(detail):
    """A detail without what differs run to run: addresses and object ids."""
    detail = re.sub(r"0x[0-9a-fA-F]+", "0x…", detail)
    return " ".join(detail.split())


def short(test):
    return test.removeprefix("tests.")


def judge(expected_path, result_path):
    try:
        expected = read(expected_path, 4)
    except OSError as ex:
        print(f"FAIL pyverbs-expectations: cannot read {expected_path}: {ex.strerror}")
        return False
    try:
        result = read(result_path, 3)
    except OSError as ex:
        print(f"FAIL pyverbs-results: no result table {result_path}: {ex.strerror}")
        return False
    if not result:
        print(f"FAIL pyverbs-results: the result table {result_path} has no test")
        return False
    if not expected:
        print(f"FAIL pyverbs-expectations: {expected_path} lists no test")
        return False
    counts = {}
    for test in sorted(set(expected) | set(result)):
        name = short(test)
        if test not in expected:
            got = result[test][0]
            print(f"FAIL pyverbs:{name}: not in {expected_path} (outcome {got})")
            continue
        want, want_detail, cause = expected[test]
        if test not in result:
            print(f"FAIL pyverbs:{name}: expected {want}, but the test was not listed by the run")
            continue
        got, got_detail = result[test]
        if want not in RANK or got not in RANK:
            print(f"FAIL pyverbs:{name}: unknown outcome (expected {want!r}, got {got!r})")
            continue
        if want != "pass" and (not cause or cause == "TODO"):
            print(f"FAIL pyverbs:{name}: the expected {want} names no cause")
            continue
        counts[got] = counts.get(got, 0) + 1
        if got == "pass":
            print(f"PASS pyverbs:{name}")
            if want != "pass":
                print(f"NOTE pyverbs:{name}: now passes, expected {want} ({cause}): "
                      f"update {expected_path}")
        elif RANK[got] < RANK[want]:
            print(f"FAIL pyverbs:{name}: {got}, expected {want}: {got_detail}".rstrip(": "))
        elif got != want or normalize(got_detail) != normalize(want_detail):
            # Another outcome that is no pass (a skip where an error was
            # expected, another error, another reason) is not accepted
            # unseen: the expectations name each one with its cause.
            print(f"FAIL pyverbs:{name}: {got} with '{got_detail}', expected {want} with '{want_detail}'")
        else:
            print(f"SKIP pyverbs:{name}: {cause}")
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    print(f"pyverbs: {len(result)} tests run on rrxe0: {summary}", file=sys.stderr)
    return True


def parity(reference_path, expected_path):
    reference = read(reference_path, 3)
    expected = read(expected_path, 4)
    ref_pass = {t for t, r in reference.items() if r[0] == "pass"}
    dut_pass = {t for t, r in expected.items() if r[0] == "pass"}
    print(f"pyverbs (the whole suite, {len(expected)} tests): rrxe0 passes "
          f"{len(ref_pass & dut_pass)} of the {len(ref_pass)} tests rdma_rxe passes, "
          f"and {len(dut_pass - ref_pass)} that rdma_rxe does not pass")
    for t in sorted(ref_pass - dut_pass):
        print(f"  {short(t)}: {expected.get(t, ('missing', '', ''))[2]}")


def update(expected_path, result_path):
    try:
        old = read(expected_path, 4)
    except OSError:
        old = {}
    result = read(result_path, 3)
    lines = ["test\texpected\tdetail\tcause"]
    for test in sorted(result):
        got, detail = result[test]
        if got == "pass":
            lines.append(f"{test}\tpass\t\t")
            continue
        prev = old.get(test)
        cause = prev[2] if prev and prev[0] == got and normalize(prev[1]) == normalize(detail) else "TODO"
        lines.append(f"{test}\t{got}\t{detail}\t{cause}")
    with open(expected_path, "w") as f:
        f.write("# The outcome of each pyverbs test expected on rrxe0 (qemu/pyverbs_tables.py)\n")
        f.write("\n".join(lines) + "\n")


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("judge", "parity", "update"):
        print(__doc__, file=sys.stderr)
        return 2
    done = {"judge": judge, "parity": parity, "update": update}[sys.argv[1]](sys.argv[2], sys.argv[3])
    return 0 if done is not False else 1


if __name__ == "__main__":
    sys.exit(main())
