#!/usr/bin/env python3
"""Control-path rates of an RDMA device, for `make bench`.

    verbs_rates.py DEV QPS MR_MIB REGISTRATIONS

Creates QPS RC queue pairs on DEV (one completion queue for all, 16 send and
16 receive requests each) and then destroys them, and registers a buffer of
MR_MIB mebibytes (touched beforehand, so that the figure is the pinning and
the device's work, not page faults) REGISTRATIONS times, each registration
deregistered before the next. Prints one line per figure, NAME VALUE UNIT:

    qp_create QPS_PER_SECOND qp/s
    qp_destroy QPS_PER_SECOND qp/s
    mr_reg MIB_PER_SECOND MiB/s     (the median registration)
    mr_dereg MIB_PER_SECOND MiB/s   (the median deregistration)

Exits non-zero if any verb fails.
"""
import ctypes
import mmap
import statistics
import sys
import time

import pyverbs.enums as e
from pyverbs.cq import CQ
from pyverbs.device import Context
from pyverbs.mr import MR
from pyverbs.pd import PD
from pyverbs.qp import QP, QPCap, QPInitAttr

PAGE = 4096


def qp_rates(ctx, pd, count):
    cq = CQ(ctx, 64)
    init = QPInitAttr(qp_type=e.IBV_QPT_RC, scq=cq, rcq=cq,
                      cap=QPCap(max_send_wr=16, max_recv_wr=16))
    start = time.monotonic()
    qps = [QP(pd, init) for _ in range(count)]
    created = time.monotonic()
    for qp in qps:
        qp.close()
    destroyed = time.monotonic()
    cq.close()
    return count / (created - start), count / (destroyed - created)


def mr_rates(pd, mib, times):
    length = mib << 20
    buf = mmap.mmap(-1, length, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    for offset in range(0, length, PAGE):
        buf[offset] = 1
    address = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    access = e.IBV_ACCESS_LOCAL_WRITE | e.IBV_ACCESS_REMOTE_WRITE | e.IBV_ACCESS_REMOTE_READ
    reg, dereg = [], []
    for _ in range(times):
        start = time.monotonic()
        mr = MR(pd, length, access, address=address)
        registered = time.monotonic()
        mr.close()
        reg.append(registered - start)
        dereg.append(time.monotonic() - registered)
    return mib / statistics.median(reg), mib / statistics.median(dereg)


def main():
    dev, qps, mib, times = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    with Context(name=dev) as ctx:
        pd = PD(ctx)
        create, destroy = qp_rates(ctx, pd, qps)
        print(f"qp_create {create:.1f} qp/s")
        print(f"qp_destroy {destroy:.1f} qp/s")
        reg, dereg = mr_rates(pd, mib, times)
        print(f"mr_reg {reg:.1f} MiB/s")
        print(f"mr_dereg {dereg:.1f} MiB/s")
        pd.close()


if __name__ == "__main__":
    main()
