#!/usr/bin/env python3
"""Run rdma-core's pyverbs test suite against one device; write a table.

    pyverbs_suite.py --dev DEV [--gid N] --out TABLE [MODULE...]

TABLE gets a comment line naming the device and rdma-core version, a header,
then one tab-separated row per test: name, result (pass, fail, error, skip,
xfail, not-run), detail. Tests run in child processes that record each
outcome as it happens, so a child that crashes (libibverbs can segfault
after some skips) loses nothing already run; the test it died in then runs
on its own and the rest together again, and a process that hangs is killed
after --module-timeout seconds per module it runs; a test recorded twice
keeps its worse outcome. Stopped by SIGTERM, it writes the table of what it
has, the rest as not-run. test_flow and test_parent_domain always run
alone.
Exits 0 when every listed test has a recorded outcome.
"""
import argparse
import os
import signal
import subprocess
import sys
import unittest

TESTS_DIR = "/opt/rdma-core-tests"


def load_tests_package(dev_args):
    # The suite's own argument parser reads sys.argv.
    sys.argv = ["run_tests.py"] + dev_args
    sys.path.insert(0, TESTS_DIR)
    from args_parser import parser
    parser.parse_args()
    from importlib.machinery import SourceFileLoader
    return SourceFileLoader("tests", os.path.join(TESTS_DIR, "__init__.py")).load_module()


def iter_cases(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from iter_cases(t)
        else:
            yield t


def child(dev_args, rows_path, modules):
    tests = load_tests_package(dev_args)
    suite = unittest.TestLoader().loadTestsFromNames(modules, tests)
    rows = open(rows_path, "a", buffering=1)

    def row(test, result, detail=""):
        detail = " ".join(str(detail).split())[:300]
        rows.write(f"{test.id()}\t{result}\t{detail}\n")

    class Recorder(unittest.TextTestResult):
        def addSuccess(self, test):
            super().addSuccess(test)
            row(test, "pass")

        def addFailure(self, test, err):
            super().addFailure(test, err)
            row(test, "fail", err[1])

        def addError(self, test, err):
            super().addError(test, err)
            row(test, "error", err[1])

        def addSkip(self, test, reason):
            super().addSkip(test, reason)
            row(test, "skip", reason)

        def addExpectedFailure(self, test, err):
            super().addExpectedFailure(test, err)
            row(test, "xfail", err[1])

        def addUnexpectedSuccess(self, test):
            super().addUnexpectedSuccess(test)
            row(test, "fail", "unexpected success")

    # The slowest tests are listed at the end of the log.
    unittest.TextTestRunner(stream=sys.stdout, verbosity=2, resultclass=Recorder,
                            durations=20).run(suite)
    rows.close()
    # Skip interpreter teardown, where libibverbs may crash after a run.
    os._exit(0)


def list_tests(dev_args, modules):
    tests = load_tests_package(dev_args)
    suite = unittest.TestLoader().loadTestsFromNames(modules, tests)
    return [t.id() for t in iter_cases(suite)]


# Outcomes from worst to best: a test recorded twice (its module was run
# again after a crash) keeps the worse of its outcomes.
WORSE_FIRST = ["not-run", "error", "fail", "xfail", "skip", "pass"]


def read_rows(path):
    rows = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) != 3:
                    continue
                old = rows.get(parts[0])
                if old is None or WORSE_FIRST.index(parts[1]) < WORSE_FIRST.index(old[0]):
                    rows[parts[0]] = (parts[1], parts[2])
    return rows


def resolve(listed, rows):
    """Outcome per listed test; a class-level setUpClass outcome covers the
    tests of that class which have none of their own."""
    class_rows = {}
    for name, res in rows.items():
        # unittest names class fixtures 'setUpClass (tests.mod.Class)'.
        if name.startswith("setUpClass (") and name.endswith(")"):
            class_rows[name[len("setUpClass ("):-1]] = res
    out = {}
    for t in listed:
        if t in rows:
            out[t] = rows[t]
        elif t.rsplit(".", 1)[0] in class_rows:
            out[t] = class_rows[t.rsplit(".", 1)[0]]
        else:
            out[t] = ("not-run", "no outcome recorded (the test process died)")
    return out


def rdma_core_version():
    """The version of the python3-pyverbs package whose suite ran."""
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", "python3-pyverbs"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dev", required=True)
    ap.add_argument("--gid", type=int)
    ap.add_argument("--out", required=True)
    ap.add_argument("--child-rows")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--module-timeout", type=int, default=300,
                    help="seconds a test process may take per module it runs")
    ap.add_argument("modules", nargs="*")
    a = ap.parse_args()
    dev_args = ["--dev", a.dev] + (["--gid", str(a.gid)] if a.gid is not None else [])
    if a.child_rows:
        child(dev_args, a.child_rows, a.modules)
        return 0
    if a.list:
        print("\n".join(list_tests(dev_args, a.modules)))
        return 0

    modules = a.modules or sorted(
        f[:-3] for f in os.listdir(TESTS_DIR) if f.startswith("test_") and f.endswith(".py"))
    me = os.path.abspath(__file__)
    base = [sys.executable, me, "--dev", a.dev, "--out", a.out] + (
        ["--gid", str(a.gid)] if a.gid is not None else [])
    listed = subprocess.run(base + ["--list"] + modules, check=True,
                            capture_output=True, text=True).stdout.split()
    rows_path = a.out + ".rows"
    if os.path.exists(rows_path):
        os.unlink(rows_path)

    def write_table():
        outcome = resolve(listed, read_rows(rows_path))
        with open(a.out + ".new", "w") as f:
            f.write(f"# pyverbs suite on {a.dev}, rdma-core {rdma_core_version()}\n")
            f.write("test\tresult\tdetail\n")
            for t in listed:
                f.write(f"{t}\t{outcome[t][0]}\t{outcome[t][1]}\n")
        os.replace(a.out + ".new", a.out)
        return outcome

    # Stopped from outside (the scenario's limit): the table still holds
    # every outcome recorded so far, the rest as not-run.
    def stopped(signum, _frame):
        write_table()
        print(f"pyverbs: stopped by signal {signum}; table written", file=sys.stderr)
        os._exit(1)

    signal.signal(signal.SIGTERM, stopped)

    def run(names):
        # A test that hangs costs its process, not the table: what the
        # process recorded stays.
        spanned = {n.removeprefix("tests.").split(".")[0] for n in names}
        limit = a.module_timeout * len(spanned)
        try:
            rc = subprocess.run(base + ["--child-rows", rows_path] + names,
                                timeout=limit).returncode
        except subprocess.TimeoutExpired:
            rc = f"killed after {limit}s"
        shown = " ".join(names) if len(names) < 4 else f"{names[0]} and {len(names) - 1} more"
        print(f"pyverbs: {shown}: exit {rc}", file=sys.stderr)

    # These crash libibverbs when they skip mid-setup: each gets its own process.
    alone = [m for m in modules if m in ("test_flow", "test_parent_domain")]
    together = [m for m in modules if m not in alone]
    if together:
        run(together)
    # A process that died left its tests without outcome: the first of them
    # (the one it died in) runs on its own, the rest together again, until
    # every test has an outcome or has been tried on its own.
    tried_alone = set()
    while True:
        done = resolve(listed, read_rows(rows_path))
        pending = [t for t in listed if done[t][0] == "not-run" and t not in tried_alone
                   and t.split(".")[1] not in alone]
        if not pending:
            break
        tried_alone.add(pending[0])
        # Test ids name the package; the loader takes names within it.
        names = [t.removeprefix("tests.") for t in pending]
        run(names[:1])
        if names[1:]:
            run(names[1:])
    for m in alone:
        run([m])

    outcome = write_table()
    counts = {}
    for res, _ in outcome.values():
        counts[res] = counts.get(res, 0) + 1
    print(f"pyverbs {a.dev}: {len(listed)} tests: " +
          ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    return 1 if counts.get("not-run") else 0


if __name__ == "__main__":
    sys.exit(main())
