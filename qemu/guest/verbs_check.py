#!/usr/bin/env python3
"""Verbs checks beyond pyverbs' own suites: sizes, limits and malformed calls,
each expected to succeed or fail with a given errno, on one device.

    verbs_check.py --dev DEV [--prefix NAME]

Prints `PASS NAME-check` or `FAIL NAME-check: detail` per check.
"""
import argparse
import errno
import traceback

from pyverbs.cq import CQ, CompChannel
from pyverbs.device import Context
from pyverbs.pyverbs_error import PyverbsRDMAError

parser = argparse.ArgumentParser()
parser.add_argument("--dev", required=True)
parser.add_argument("--prefix", default="verbs")
args = parser.parse_args()
ctx = Context(name=args.dev)
attr = ctx.query_device()


def check(name, fn):
    try:
        fn()
        print(f"PASS {args.prefix}-{name}")
    except Exception as ex:  # noqa: BLE001 - every failure is reported
        detail = " ".join(traceback.format_exception_only(ex)[-1].split())
        print(f"FAIL {args.prefix}-{name}: {detail}")


def expect_errno(want, fn, *a):
    try:
        fn(*a)
    except PyverbsRDMAError as ex:
        if ex.error_code != want:
            raise AssertionError(f"errno {ex.error_code}, expected {want}") from ex
        return
    raise AssertionError(f"succeeded, expected errno {want}")


def cq_sizes():
    for n in (1, 100, attr.max_cqe):
        cq = CQ(ctx, n)
        assert cq.cqe >= n, f"asked {n}, got {cq.cqe}"
        assert cq.poll()[0] == 0, "a new CQ holds completions"
        cq.close()


def cq_bad_sizes():
    expect_errno(errno.EINVAL, CQ, ctx, 0)
    expect_errno(errno.EINVAL, CQ, ctx, attr.max_cqe + 1)
    # The device keeps working after refusals.
    CQ(ctx, 4).close()


def cq_resize():
    cq = CQ(ctx, 10)
    for n in (100, 5, attr.max_cqe, 1):
        cq.resize(n)
        assert cq.cqe >= n, f"resized to {n}, got {cq.cqe}"
        assert cq.poll()[0] == 0
    expect_errno(errno.EINVAL, cq.resize, attr.max_cqe + 1)
    assert cq.cqe >= 1 and cq.poll()[0] == 0, "CQ unusable after a refused resize"
    cq.close()


def cq_notify():
    cc = CompChannel(ctx)
    cq = CQ(ctx, 16, None, cc, 0)
    cq.req_notify()
    cq.req_notify(solicited_only=True)
    cq.close()
    cc.close()


def cq_many():
    cqs = [CQ(ctx, 64) for _ in range(256)]
    for cq in cqs:
        cq.close()


check("cq-sizes", cq_sizes)
check("cq-bad-sizes-einval", cq_bad_sizes)
check("cq-resize", cq_resize)
check("cq-req-notify", cq_notify)
check("cq-256-create-destroy", cq_many)
ctx.close()
