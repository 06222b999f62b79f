#!/usr/bin/env python3
"""Verbs checks beyond pyverbs' own suites: sizes, limits and malformed calls,
each expected to succeed or fail with a given errno, on one device.

    verbs_check.py --dev DEV --gid N [--prefix NAME] [--reference] [--only NAMES]

Prints `PASS NAME-check`, `FAIL NAME-check: detail` or `SKIP NAME-check:
reason` per check. --reference marks the C rdma_rxe, which does not
validate some QP attribute values: the checks of those skip for it.
"""
import argparse
import ctypes
import errno
import fcntl
import json
import mmap
import os
import select
import socket
import struct
import subprocess
import sys
import time
import traceback

import pyverbs.enums as e
from pyverbs.cq import CQ, CompChannel
from pyverbs.device import Context
from pyverbs.addr import AHAttr, GlobalRoute
from pyverbs.mr import MR, MW
from pyverbs.pd import PD
from pyverbs.qp import QP, QPAttr, QPCap, QPInitAttr
from pyverbs.srq import SRQ, SrqAttr, SrqInitAttr
from pyverbs.wr import SGE, RecvWR, SendWR
from pyverbs.pyverbs_error import PyverbsRDMAError

parser = argparse.ArgumentParser()
parser.add_argument("--dev", required=True)
parser.add_argument("--gid", type=int, required=True, help="a RoCE v2 GID index")
parser.add_argument("--prefix", default="verbs")
parser.add_argument("--reference", action="store_true")
parser.add_argument("--only", help="run only these checks (comma-separated names), to debug them")
args = parser.parse_args()


def event_fds():
    """The process's verbs event files: async event FDs and completion channels."""
    fds = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:[infinibandevent]":
                fds.add(int(fd))
        except OSError:
            pass
    return fds


before = event_fds()
ctx = Context(name=args.dev)
attr = ctx.query_device()
(ASYNC_FD,) = event_fds() - before


class Skip(Exception):
    pass


def check(name, fn):
    if args.only and name not in args.only.split(","):
        return
    start = time.monotonic()
    try:
        fn()
        print(f"PASS {args.prefix}-{name}", flush=True)
    except Skip as ex:
        print(f"SKIP {args.prefix}-{name}: {ex}", flush=True)
    except Exception as ex:  # noqa: BLE001 - every failure is reported
        detail = " ".join(traceback.format_exception_only(ex)[-1].split())
        print(f"FAIL {args.prefix}-{name}: {detail}", flush=True)
    print(f"{name}: {time.monotonic() - start:.1f} s", file=sys.stderr, flush=True)


def expect_errno(want, fn, *a, what="", **kw):
    what = f"{what}: " if what else ""
    try:
        fn(*a, **kw)
    except PyverbsRDMAError as ex:
        if ex.error_code != want:
            raise AssertionError(f"{what}errno {ex.error_code}, expected {want}") from ex
        return
    except OSError as ex:
        if ex.errno != want:
            raise AssertionError(f"{what}errno {ex.errno}, expected {want}") from ex
        return
    raise AssertionError(f"{what}succeeded, expected errno {want}")


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


LW = e.IBV_ACCESS_LOCAL_WRITE
REMOTE = e.IBV_ACCESS_REMOTE_READ | e.IBV_ACCESS_REMOTE_WRITE | e.IBV_ACCESS_REMOTE_ATOMIC


def mr_keys():
    with PD(ctx) as pd:
        a = MR(pd, 4096, LW)
        b = MR(pd, 8192, LW | REMOTE)
        assert a.lkey != b.lkey, "two regions share a key"
        for mr in (a, b):
            assert 1 <= mr.lkey >> 8 <= attr.max_mr, f"lkey {mr.lkey:#x} outside the MR index range"
        old = {a.lkey, b.lkey}
        a.close()
        b.close()
        # A new registration never gets a key that was just deregistered.
        c = MR(pd, 4096, LW)
        assert c.lkey not in old, f"key {c.lkey:#x} reused at once"
        c.close()


def mr_bad_access():
    with PD(ctx) as pd:
        # Remote write and atomics need local write (checked by the core).
        expect_errno(errno.EINVAL, MR, pd, 4096, e.IBV_ACCESS_REMOTE_WRITE)
        expect_errno(errno.EINVAL, MR, pd, 4096, e.IBV_ACCESS_REMOTE_ATOMIC)
        # Zero-based regions are not offered, nor flushes to persistence (the core refuses
        # what the device does not advertise); flushes to global visibility are.
        expect_errno(errno.EOPNOTSUPP, MR, pd, 4096, LW | e.IBV_ACCESS_ZERO_BASED)
        expect_errno(errno.EOPNOTSUPP, MR, pd, 4096, LW | e.IBV_ACCESS_FLUSH_PERSISTENT)
        MR(pd, 4096, LW | e.IBV_ACCESS_FLUSH_GLOBAL).close()
        MR(pd, 4096, LW).close()


def mr_bad_ranges():
    with PD(ctx) as pd:
        expect_errno(errno.EINVAL, MR, pd, 0, LW)
        # A range that wraps the address space.
        expect_errno(errno.EINVAL, MR, pd, 8192, LW, address=(1 << 64) - 4096)
        # Memory the process does not have.
        expect_errno(errno.EFAULT, MR, pd, 4096, LW, address=4096)
        MR(pd, 4096, LW).close()


IB_USER_VERBS_CMD_REREG_MR = 11


def rereg(mr, flags, pd, access=0, start=0, length=0, iova=0):
    """REREG_MR as a raw uverbs write: librxe does not offer ibv_rereg_mr."""
    resp = ctypes.create_string_buffer(8)
    cmd = struct.pack("<QIIQQQII", ctypes.addressof(resp), mr.handle, flags,
                      start, length, iova, pd.handle, access)
    hdr = struct.pack("<IHH", IB_USER_VERBS_CMD_REREG_MR, (8 + len(cmd)) // 4, 2)
    os.write(ctx.cmd_fd, hdr + cmd)
    return struct.unpack("<II", resp.raw)


def mr_rereg():
    with PD(ctx) as pd, PD(ctx) as pd2:
        mr = MR(pd, 4096, LW)
        lkey, rkey = rereg(mr, e.IBV_REREG_MR_CHANGE_ACCESS, pd, LW | REMOTE)
        assert lkey == mr.lkey, f"lkey {lkey:#x} changed from {mr.lkey:#x}"
        rereg(mr, e.IBV_REREG_MR_CHANGE_PD, pd2)
        rereg(mr, e.IBV_REREG_MR_CHANGE_PD | e.IBV_REREG_MR_CHANGE_ACCESS, pd, LW)
        # A new translation is refused, and so are rights the device lacks.
        expect_errno(errno.EOPNOTSUPP, rereg, mr, e.IBV_REREG_MR_CHANGE_TRANSLATION,
                     pd, 0, mr.buf, 4096, mr.buf)
        expect_errno(errno.EOPNOTSUPP, rereg, mr, e.IBV_REREG_MR_CHANGE_ACCESS, pd,
                     LW | e.IBV_ACCESS_ZERO_BASED)
        expect_errno(errno.EINVAL, rereg, mr, 0, pd)
        mr.close()
        # Pages pinned read-only cannot become writable in place.
        ro = MR(pd, 4096, 0)
        expect_errno(errno.EACCES, rereg, ro, e.IBV_REREG_MR_CHANGE_ACCESS, pd, LW)
        ro.close()


def vm_pinned():
    stat = dict(line.split() for line in open("/proc/vmstat"))
    pinned = int(stat["nr_foll_pin_acquired"]) - int(stat["nr_foll_pin_released"])
    with open("/proc/self/status") as f:
        vmpin = next(int(line.split()[1]) for line in f if line.startswith("VmPin:"))
    return pinned, vmpin


def mr_register_loop(size):
    """Registers SIZE bytes three times over. The process's pinned memory
    (VmPin) is exact; the system's pin counters also move with 9p's
    short-lived pins, hence their small tolerance."""
    noise = 256
    start_sys, start_vm = vm_pinned()
    with PD(ctx) as pd:
        for i in range(3):
            mr = MR(pd, size, LW)
            pinned, vmpin = vm_pinned()
            assert vmpin - start_vm == size // 1024, f"round {i}: VmPin {vmpin} kB, at start {start_vm}"
            assert pinned - start_sys >= size // 4096 - noise, f"round {i}: {pinned - start_sys} pages pinned"
            mr.close()
            pinned, vmpin = vm_pinned()
            assert vmpin == start_vm, f"round {i}: VmPin {vmpin} kB after dereg, {start_vm} at start"
            assert abs(pinned - start_sys) < noise, f"round {i}: {pinned - start_sys} pages still pinned"


def mw_alloc():
    with PD(ctx) as pd:
        mws = [MW(pd, t) for t in (e.IBV_MW_TYPE_1, e.IBV_MW_TYPE_2, e.IBV_MW_TYPE_1)]
        keys = [mw.rkey for mw in mws]
        assert len(set(keys)) == 3, f"windows share keys {keys}"
        mr = MR(pd, 4096, LW)
        # Windows and regions number from disjoint ranges.
        assert all(k >> 8 > attr.max_mr for k in keys), f"window keys {keys} in the MR range"
        assert mr.lkey >> 8 <= attr.max_mr
        for mw in mws:
            mw.close()
        mr.close()
        expect_errno(errno.EINVAL, MW, pd, 3)


def new_qp(pd, cq, qp_type=e.IBV_QPT_RC, **caps):
    cap = dict(max_send_wr=16, max_recv_wr=16, max_send_sge=1, max_recv_sge=1)
    cap.update(caps)
    return QP(pd, QPInitAttr(qp_type=qp_type, scq=cq, rcq=cq, cap=QPCap(**cap)))


def qp_bad_caps():
    with PD(ctx) as pd, CQ(ctx, 16) as cq:
        expect_errno(errno.EINVAL, new_qp, pd, cq, max_send_wr=attr.max_qp_wr + 1)
        expect_errno(errno.EINVAL, new_qp, pd, cq, max_recv_wr=attr.max_qp_wr + 1)
        expect_errno(errno.EINVAL, new_qp, pd, cq, max_send_sge=attr.max_sge + 1)
        expect_errno(errno.EINVAL, new_qp, pd, cq, max_recv_sge=attr.max_sge + 1)
        expect_errno(errno.EINVAL, new_qp, pd, cq, max_inline_data=513)
        # The refusals leave the device working; granted sizes cover the request.
        qp = new_qp(pd, cq, max_send_wr=100, max_send_sge=3, max_inline_data=64)
        _, init = qp.query(e.IBV_QP_CAP)
        c = init.cap
        assert c.max_send_wr >= 100 and c.max_send_sge >= 3 and c.max_inline_data >= 64, \
            f"granted {c.max_send_wr}/{c.max_send_sge}/{c.max_inline_data}"
        qp.close()


RC_TO_INIT = e.IBV_QP_STATE | e.IBV_QP_PKEY_INDEX | e.IBV_QP_PORT | e.IBV_QP_ACCESS_FLAGS
RC_TO_RTR = (e.IBV_QP_STATE | e.IBV_QP_AV | e.IBV_QP_PATH_MTU | e.IBV_QP_DEST_QPN |
             e.IBV_QP_RQ_PSN | e.IBV_QP_MAX_DEST_RD_ATOMIC | e.IBV_QP_MIN_RNR_TIMER)
RC_TO_RTS = (e.IBV_QP_STATE | e.IBV_QP_SQ_PSN | e.IBV_QP_TIMEOUT | e.IBV_QP_RETRY_CNT |
             e.IBV_QP_RNR_RETRY | e.IBV_QP_MAX_QP_RD_ATOMIC)


def rc_attr():
    gr = GlobalRoute(dgid=ctx.query_gid(1, args.gid), sgid_index=args.gid, hop_limit=64)
    qa = QPAttr(port_num=1)
    qa.pkey_index = 0
    qa.qp_access_flags = LW | e.IBV_ACCESS_REMOTE_WRITE | e.IBV_ACCESS_REMOTE_READ
    qa.ah_attr = AHAttr(gr=gr, is_global=1, port_num=1)
    qa.path_mtu = e.IBV_MTU_1024
    qa.dest_qp_num = 0x1234
    qa.rq_psn = 0x123456
    qa.max_dest_rd_atomic = 4
    qa.min_rnr_timer = 12
    qa.sq_psn = 0x654321
    qa.timeout = 14
    qa.retry_cnt = 7
    qa.rnr_retry = 7
    qa.max_rd_atomic = 4
    return qa


def to_state(qp, qa, state, mask):
    qa.qp_state = state
    qp.modify(qa, mask)


def qp_rc_lifecycle():
    with PD(ctx) as pd, CQ(ctx, 16) as cq:
        qp = new_qp(pd, cq)
        qa = rc_attr()
        to_state(qp, qa, e.IBV_QPS_INIT, RC_TO_INIT)
        to_state(qp, qa, e.IBV_QPS_RTR, RC_TO_RTR)
        to_state(qp, qa, e.IBV_QPS_RTS, RC_TO_RTS)
        got, _ = qp.query(0x1fffff)
        for field in ("qp_state", "path_mtu", "dest_qp_num", "rq_psn", "sq_psn", "timeout",
                      "retry_cnt", "rnr_retry", "min_rnr_timer", "max_rd_atomic",
                      "max_dest_rd_atomic", "qp_access_flags"):
            want = e.IBV_QPS_RTS if field == "qp_state" else getattr(qa, field)
            assert getattr(got, field) == want, f"{field}: {getattr(got, field)} != {want}"
        av = got.ah_attr
        assert av.port_num == 1 and av.is_global, "address vector lost"
        assert av.dgid == qa.ah_attr.dgid, f"dgid {av.dgid}, expected {qa.ah_attr.dgid}"
        assert (av.sgid_index, av.hop_limit) == (args.gid, 64), f"{av.sgid_index}/{av.hop_limit}"
        to_state(qp, qa, e.IBV_QPS_SQD, e.IBV_QP_STATE)
        # SQD -> RTS is refused while the send queue drains (rdma_rxe drains in
        # a task); an empty queue is drained at once or within moments.
        for _ in range(100):
            if not qp.query(e.IBV_QP_STATE)[0].sq_draining:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("an empty send queue still draining after 10s")
        to_state(qp, qa, e.IBV_QPS_RTS, e.IBV_QP_STATE)
        to_state(qp, qa, e.IBV_QPS_ERR, e.IBV_QP_STATE)
        to_state(qp, qa, e.IBV_QPS_RESET, e.IBV_QP_STATE)
        assert qp.query(e.IBV_QP_STATE)[0].qp_state == e.IBV_QPS_RESET
        qp.close()


def qp_illegal_modify():
    with PD(ctx) as pd, CQ(ctx, 16) as cq:
        qp = new_qp(pd, cq)
        qa = rc_attr()
        expect_errno(errno.EINVAL, to_state, qp, qa, e.IBV_QPS_RTR, RC_TO_RTR, what="RESET->RTR")
        expect_errno(errno.EINVAL, to_state, qp, qa, e.IBV_QPS_RTS, RC_TO_RTS, what="RESET->RTS")
        expect_errno(errno.EINVAL, to_state, qp, qa, e.IBV_QPS_INIT,
                     RC_TO_INIT & ~e.IBV_QP_ACCESS_FLAGS, what="INIT without access flags")
        expect_errno(errno.EINVAL, to_state, qp, qa, e.IBV_QPS_INIT, RC_TO_INIT | e.IBV_QP_QKEY,
                     what="RC INIT with a Q_Key")
        qa.port_num = 2
        expect_errno(errno.EINVAL, to_state, qp, qa, e.IBV_QPS_INIT, RC_TO_INIT, what="port 2")
        qa.port_num = 1
        assert qp.query(e.IBV_QP_STATE)[0].qp_state == e.IBV_QPS_RESET, "a refused modify moved the QP"
        to_state(qp, qa, e.IBV_QPS_INIT, RC_TO_INIT)
        expect_errno(errno.EINVAL, to_state, qp, qa, e.IBV_QPS_RTS, RC_TO_RTS, what="INIT->RTS")
        to_state(qp, qa, e.IBV_QPS_RTR, RC_TO_RTR)
        to_state(qp, qa, e.IBV_QPS_RTS, RC_TO_RTS)
        expect_errno(errno.EINVAL, to_state, qp, qa, e.IBV_QPS_INIT, e.IBV_QP_STATE, what="RTS->INIT")
        assert qp.query(e.IBV_QP_STATE)[0].qp_state == e.IBV_QPS_RTS
        qp.close()


def qp_out_of_range_values():
    """Each value on a fresh QP in RTR; the reference driver's acceptances
    are reported, not failed."""
    accepted = []
    with PD(ctx) as pd, CQ(ctx, 16) as cq:
        for field, bad in (("retry_cnt", 8), ("rnr_retry", 8), ("timeout", 32),
                           ("max_rd_atomic", attr.max_qp_init_rd_atom + 1)):
            qp = new_qp(pd, cq)
            qa = rc_attr()
            to_state(qp, qa, e.IBV_QPS_INIT, RC_TO_INIT)
            to_state(qp, qa, e.IBV_QPS_RTR, RC_TO_RTR)
            setattr(qa, field, bad)
            try:
                expect_errno(errno.EINVAL, to_state, qp, qa, e.IBV_QPS_RTS, RC_TO_RTS,
                             what=f"{field} {bad}")
                assert qp.query(e.IBV_QP_STATE)[0].qp_state == e.IBV_QPS_RTR
            except AssertionError:
                if not args.reference:
                    raise
                accepted.append(f"{field} {bad}")
            qp.close()
    if accepted:
        raise Skip(f"rdma_rxe accepts {', '.join(accepted)}")


def qp_many():
    with PD(ctx) as pd, CQ(ctx, 16) as cq:
        qps = [new_qp(pd, cq, t) for t in (e.IBV_QPT_RC, e.IBV_QPT_UC, e.IBV_QPT_UD) * 22]
        nums = {qp.qp_num for qp in qps}
        assert len(nums) == len(qps), "QP numbers repeat"
        assert all(16 <= n < 1 << 24 for n in nums), f"QP numbers {sorted(nums)[:3]}..."
        for qp in qps:
            qp.close()


def new_srq(pd, max_wr, max_sge=1):
    return SRQ(pd, SrqInitAttr(attr=SrqAttr(max_wr=max_wr, max_sge=max_sge)))


def srq_bad_attrs():
    with PD(ctx) as pd:
        expect_errno(errno.EINVAL, new_srq, pd, 0, what="max_wr 0")
        expect_errno(errno.EINVAL, new_srq, pd, attr.max_srq_wr + 1, what="max_wr beyond the device")
        expect_errno(errno.EINVAL, new_srq, pd, 16, attr.max_srq_sge + 1, what="max_sge beyond the device")
        new_srq(pd, 16).close()


def srq_resize_keeps_posted():
    with PD(ctx) as pd:
        mr = MR(pd, 4096, LW)
        srq = new_srq(pd, 16)
        assert srq.query().max_wr >= 16

        def post(n):
            for i in range(n):
                srq.post_recv(RecvWR(wr_id=i, num_sge=1, sg=[SGE(mr.buf, 64, mr.lkey)]))
        post(10)
        # Ten posted requests do not fit a queue of five.
        expect_errno(errno.EINVAL, srq.modify, SrqAttr(max_wr=5), e.IBV_SRQ_MAX_WR, what="shrink below posted")
        srq.modify(SrqAttr(max_wr=64), e.IBV_SRQ_MAX_WR)
        cap = srq.query().max_wr
        assert cap >= 64, f"resized to {cap}"
        # The ten moved over: exactly cap - 10 more fit.
        post(cap - 10)
        expect_errno(errno.ENOMEM, post, 1, what="post to a full SRQ")
        srq.modify(SrqAttr(srq_limit=7), e.IBV_SRQ_LIMIT)
        assert srq.query().srq_limit == 7
        expect_errno(errno.EINVAL, srq.modify, SrqAttr(srq_limit=cap + 1), e.IBV_SRQ_LIMIT,
                     what="limit beyond the size")
        with CQ(ctx, 16) as cq:
            qp = QP(pd, QPInitAttr(qp_type=e.IBV_QPT_RC, scq=cq, rcq=cq, srq=srq,
                                   cap=QPCap(max_send_wr=8, max_recv_wr=0, max_send_sge=1, max_recv_sge=0)))
            qp.close()
        srq.close()
        mr.close()


# Completion statuses and opcodes as user space sees them.
WC_FLUSH_ERR = e.IBV_WC_WR_FLUSH_ERR


def wait_readable(fd, timeout):
    return bool(select.select([fd], [], [], timeout)[0])


def async_events(want, timeout=5.0):
    """Reads async events until one of type `want` arrives (bounded); returns all read."""
    seen = []
    deadline = time.monotonic() + timeout
    while want not in seen:
        left = deadline - time.monotonic()
        if left <= 0 or not wait_readable(ASYNC_FD, left):
            break
        ev = ctx.get_async_event()
        seen.append(ev.event_type)
        ev.ack()
    return seen


def drain_async_events():
    while wait_readable(ASYNC_FD, 0):
        ctx.get_async_event().ack()


def poll_n(cq, n, timeout=5.0):
    """Polls until `n` completions arrived (bounded), then once more for any extra."""
    wcs = []
    deadline = time.monotonic() + timeout
    while len(wcs) < n and time.monotonic() < deadline:
        got, batch = cq.poll(n - len(wcs))
        wcs += batch[:got]
        if not got:
            time.sleep(0.01)
    got, extra = cq.poll(4)
    wcs += extra[:got]
    return wcs


def expect_flushed(wcs, wr_ids, qp_num, what):
    got = [wc.wr_id for wc in wcs]
    assert got == list(wr_ids), f"{what}: completions for {got}, expected {list(wr_ids)}"
    for wc in wcs:
        assert wc.status == WC_FLUSH_ERR, f"{what}: status {wc.status}"
        assert wc.qp_num == qp_num, f"{what}: qp_num {wc.qp_num}, expected {qp_num}"


def post_recvs(qp, mr, wr_ids):
    for i in wr_ids:
        qp.post_recv(RecvWR(wr_id=i, num_sge=1, sg=[SGE(mr.buf, 64, mr.lkey)]))


def post_sends(qp, mr, wr_ids, opcode=e.IBV_WR_SEND):
    for i in wr_ids:
        wr = SendWR(wr_id=i, opcode=opcode, num_sge=1, sg=[SGE(mr.buf, 64, mr.lkey)])
        if opcode == e.IBV_WR_RDMA_WRITE:
            wr.set_wr_rdma(mr.rkey, mr.buf)
        qp.post_send(wr)


def new_rc_qp(pd, scq, rcq, srq=None, **caps):
    cap = dict(max_send_wr=16, max_recv_wr=0 if srq else 16, max_send_sge=1,
               max_recv_sge=0 if srq else 1)
    cap.update(caps)
    return QP(pd, QPInitAttr(qp_type=e.IBV_QPT_RC, scq=scq, rcq=rcq, srq=srq, cap=QPCap(**cap)))


def qp_err_flushes():
    with PD(ctx) as pd, CQ(ctx, 64) as scq, CQ(ctx, 64) as rcq:
        mr = MR(pd, 4096, LW | e.IBV_ACCESS_REMOTE_WRITE)
        qp = new_rc_qp(pd, scq, rcq)
        qa = rc_attr()
        to_state(qp, qa, e.IBV_QPS_INIT, RC_TO_INIT)
        expect_errno(errno.EINVAL, post_sends, qp, mr, [1], what="post_send in INIT")
        post_recvs(qp, mr, range(100, 105))
        to_state(qp, qa, e.IBV_QPS_ERR, e.IBV_QP_STATE)
        expect_flushed(poll_n(rcq, 5), range(100, 105), qp.qp_num, "receive queue")
        # The send refused in INIT stayed in the queue and is flushed with it.
        expect_flushed(poll_n(scq, 1), [1], qp.qp_num, "send queue")
        # Sends posted in the error state complete at once, in order.
        post_sends(qp, mr, [200, 201])
        post_sends(qp, mr, [202], opcode=e.IBV_WR_RDMA_WRITE)
        expect_flushed(poll_n(scq, 3), [200, 201, 202], qp.qp_num, "sends posted in ERR")
        assert rcq.poll(1)[0] == 0, "send completions on the receive CQ"
        qp.close()
        mr.close()


def qp_err_flushes_beyond_a_batch():
    """3000 posted receives, more than one flush takes at a time (1024): entering ERR
    flushes them all, in order, the rest a batch per engine round."""
    count = 3000
    with PD(ctx) as pd, CQ(ctx, 4096) as cq:
        mr = MR(pd, 4096, LW)
        qp = new_rc_qp(pd, cq, cq, max_recv_wr=4096)
        to_state(qp, rc_attr(), e.IBV_QPS_INIT, RC_TO_INIT)
        post_recvs(qp, mr, range(10000, 10000 + count))
        to_state(qp, rc_attr(), e.IBV_QPS_ERR, e.IBV_QP_STATE)
        wcs = poll_n(cq, count, timeout=60)
        expect_flushed(wcs, range(10000, 10000 + count), qp.qp_num, "3000 receives")
        qp.close()
        mr.close()


def qp_reset_drops_posted():
    with PD(ctx) as pd, CQ(ctx, 64) as cq:
        mr = MR(pd, 4096, LW)
        qp = new_rc_qp(pd, cq, cq)
        qa = rc_attr()
        to_state(qp, qa, e.IBV_QPS_INIT, RC_TO_INIT)
        to_state(qp, qa, e.IBV_QPS_ERR, e.IBV_QP_STATE)
        # Posted without the kernel's knowledge in ERR, then dropped by the reset.
        post_recvs(qp, mr, [300])
        to_state(qp, qa, e.IBV_QPS_RESET, e.IBV_QP_STATE)
        to_state(qp, qa, e.IBV_QPS_INIT, RC_TO_INIT)
        post_recvs(qp, mr, [400, 401])
        to_state(qp, qa, e.IBV_QPS_ERR, e.IBV_QP_STATE)
        wcs = poll_n(cq, 2)
        got = [wc.wr_id for wc in wcs]
        if args.reference and got != [400, 401]:
            raise Skip(f"rdma_rxe flushed {got} after a reset")
        expect_flushed(wcs, [400, 401], qp.qp_num, "receive queue after a reset")
        qp.close()
        mr.close()


def cq_overrun():
    drain_async_events()
    with PD(ctx) as pd, CQ(ctx, 4) as cq:
        mr = MR(pd, 4096, LW)
        cap = cq.cqe
        qp = new_rc_qp(pd, cq, cq, max_recv_wr=cap + 3)
        qa = rc_attr()
        to_state(qp, qa, e.IBV_QPS_INIT, RC_TO_INIT)
        post_recvs(qp, mr, range(cap + 3))
        to_state(qp, qa, e.IBV_QPS_ERR, e.IBV_QP_STATE)
        seen = async_events(e.IBV_EVENT_CQ_ERR)
        assert seen == [e.IBV_EVENT_CQ_ERR], f"async events {seen}, expected one CQ error"
        # The CQ holds what fit, nothing was written past it.
        expect_flushed(poll_n(cq, cap), range(cap), qp.qp_num, "overrun CQ")
        qp.close()
        mr.close()


def cq_completion_event():
    before = event_fds()
    cc = CompChannel(ctx)
    (channel_fd,) = event_fds() - before
    with PD(ctx) as pd, CQ(ctx, 16, None, cc, 0) as cq:
        mr = MR(pd, 4096, LW)
        qp = new_rc_qp(pd, cq, cq)
        qa = rc_attr()
        to_state(qp, qa, e.IBV_QPS_INIT, RC_TO_INIT)
        post_recvs(qp, mr, [7])
        cq.req_notify()
        assert not wait_readable(channel_fd, 0), "a completion event before any completion"
        to_state(qp, qa, e.IBV_QPS_ERR, e.IBV_QP_STATE)
        assert wait_readable(channel_fd, 5), "no completion event within 5 s"
        cc.get_cq_event(cq)
        cq.ack_events(1)
        expect_flushed(poll_n(cq, 1), [7], qp.qp_num, "notified CQ")
        qp.close()
        mr.close()
    cc.close()


def qp_srq_last_wqe_reached():
    drain_async_events()
    with PD(ctx) as pd, CQ(ctx, 16) as cq:
        srq = new_srq(pd, 16)
        qp = new_rc_qp(pd, cq, cq, srq=srq)
        qa = rc_attr()
        to_state(qp, qa, e.IBV_QPS_INIT, RC_TO_INIT)
        to_state(qp, qa, e.IBV_QPS_ERR, e.IBV_QP_STATE)
        seen = async_events(e.IBV_EVENT_QP_LAST_WQE_REACHED)
        assert e.IBV_EVENT_QP_LAST_WQE_REACHED in seen, f"async events {seen}"
        qp.close()
        srq.close()


def srq_limit_event():
    """An armed SRQ limit fires when messages take the posted requests below it, and the
    event disarms it."""
    drain_async_events()
    with PD(ctx) as pd, CQ(ctx, 32) as cq:
        mr = MR(pd, 4096, LW)
        srq = new_srq(pd, 16)
        for i in range(4):
            srq.post_recv(RecvWR(wr_id=100 + i, num_sge=1, sg=[SGE(mr.buf + 1024, 64, mr.lkey)]))
        srq.modify(SrqAttr(srq_limit=3), e.IBV_SRQ_LIMIT)
        qp = new_rc_qp(pd, cq, cq, srq=srq)
        connect(qp, qp)
        for i in range(2):
            qp.post_send(SendWR(wr_id=i, opcode=e.IBV_WR_SEND, num_sge=1,
                                sg=[SGE(mr.buf, 16, mr.lkey)], send_flags=e.IBV_SEND_SIGNALED))
        wcs = poll_n(cq, 4)
        assert sorted(w.wr_id for w in wcs if w.status == 0) == [0, 1, 100, 101], \
            f"completions {[(w.wr_id, w.status) for w in wcs]}"
        seen = async_events(e.IBV_EVENT_SRQ_LIMIT_REACHED)
        assert e.IBV_EVENT_SRQ_LIMIT_REACHED in seen, f"async events {seen}"
        assert srq.query().srq_limit == 0, "the limit stayed armed after its event"
        qp.close()
        srq.close()
        mr.close()


def qp_sqd_drained_event():
    drain_async_events()
    with PD(ctx) as pd, CQ(ctx, 16) as cq:
        qp = new_rc_qp(pd, cq, cq)
        qa = rc_attr()
        to_state(qp, qa, e.IBV_QPS_INIT, RC_TO_INIT)
        to_state(qp, qa, e.IBV_QPS_RTR, RC_TO_RTR)
        to_state(qp, qa, e.IBV_QPS_RTS, RC_TO_RTS)
        qa.en_sqd_async_notify = 1
        to_state(qp, qa, e.IBV_QPS_SQD, e.IBV_QP_STATE | e.IBV_QP_EN_SQD_ASYNC_NOTIFY)
        seen = async_events(e.IBV_EVENT_SQ_DRAINED)
        assert e.IBV_EVENT_SQ_DRAINED in seen, f"async events {seen}"
        qp.close()


def uverbs_mappings():
    """The process's mappings of a uverbs device: {(start, end)}."""
    maps = set()
    with open("/proc/self/maps") as f:
        for line in f:
            if "/dev/infiniband/uverbs" in line:
                start, end = (int(x, 16) for x in line.split()[0].split("-"))
                maps.add((start, end))
    return maps


# Header of a shared queue (struct rxe_queue_buf): geometry, then the indices.
Q_LOG2_ELEM, Q_INDEX_MASK, Q_PRODUCER, Q_CONSUMER, Q_DATA = 0, 4, 128, 256, 384


def poke32(addr, value):
    ctypes.c_uint32.from_address(addr).value = value & 0xffffffff


def poke64(addr, value):
    ctypes.c_uint64.from_address(addr).value = value


def peek32(addr):
    return ctypes.c_uint32.from_address(addr).value


def garbage_qp(pd, cq):
    """An RC QP in INIT and its (send, receive) queue mappings with their slot sizes."""
    before = uverbs_mappings()
    # Queues of different sizes, to tell the receive queue (the larger) from the send
    # queue among the new mappings.
    qp = new_rc_qp(pd, cq, cq, max_send_wr=4, max_recv_wr=64)
    new = sorted(uverbs_mappings() - before, key=lambda m: m[1] - m[0])
    assert len(new) == 2, f"expected 2 queue mappings, found {len(new)}"
    (sq, _), (rq, _) = new
    assert peek32(rq + Q_INDEX_MASK) == 127, f"receive queue mask {peek32(rq + Q_INDEX_MASK)}"
    assert peek32(sq + Q_INDEX_MASK) == 7, f"send queue mask {peek32(sq + Q_INDEX_MASK)}"
    to_state(qp, rc_attr(), e.IBV_QPS_INIT, RC_TO_INIT)
    return qp, (sq, 1 << peek32(sq + Q_LOG2_ELEM)), (rq, 1 << peek32(rq + Q_LOG2_ELEM))


def scribble(queue, slots, first_id):
    """Fills slots with random bytes, each starting with a known request identifier."""
    base, elem = queue
    for slot in slots:
        ctypes.memmove(base + Q_DATA + slot * elem, os.urandom(elem), elem)
        poke64(base + Q_DATA + slot * elem, first_id + slot)


def still_works(pd, cq, mr):
    qp = new_rc_qp(pd, cq, cq)
    to_state(qp, rc_attr(), e.IBV_QPS_INIT, RC_TO_INIT)
    post_recvs(qp, mr, [5000])
    to_state(qp, rc_attr(), e.IBV_QPS_ERR, e.IBV_QP_STATE)
    expect_flushed(poll_n(cq, 1), [5000], qp.qp_num, "a new QP after the garbage")
    qp.close()


def connect(qp, peer):
    """Moves an RC QP to RTS, connected to `peer` through the device's own GID."""
    qa = rc_attr()
    qa.dest_qp_num = peer.qp_num
    qa.rq_psn = qa.sq_psn
    to_state(qp, qa, e.IBV_QPS_INIT, RC_TO_INIT)
    to_state(qp, qa, e.IBV_QPS_RTR, RC_TO_RTR)
    to_state(qp, qa, e.IBV_QPS_RTS, RC_TO_RTS)


def connected_to_self(pd, cq):
    """An RC QP in RTS connected to itself."""
    qp = new_rc_qp(pd, cq, cq)
    connect(qp, qp)
    return qp


def status_of(wcs, wr_id):
    return [wc.status for wc in wcs if wc.wr_id == wr_id]


def data_loopback_and_bad_keys():
    """Data moves through an RC QP connected to itself; a send naming another PD's lkey
    completes with a local protection error and a write to a bad rkey with a remote access
    error, each moving the QP to the error state, and other QPs keep working."""
    with PD(ctx) as pd, PD(ctx) as other_pd, CQ(ctx, 64) as cq:
        mr = MR(pd, 8192, LW | e.IBV_ACCESS_REMOTE_WRITE | e.IBV_ACCESS_REMOTE_READ)
        foreign = MR(other_pd, 4096, LW)
        qp = connected_to_self(pd, cq)
        mr.write(b"rrxe-data" * 8, 72, 0)
        qp.post_recv(RecvWR(wr_id=1, num_sge=1, sg=[SGE(mr.buf + 4096, 1024, mr.lkey)]))
        qp.post_send(SendWR(wr_id=2, opcode=e.IBV_WR_SEND, num_sge=1,
                            sg=[SGE(mr.buf, 72, mr.lkey)], send_flags=e.IBV_SEND_SIGNALED))
        wcs = poll_n(cq, 2)
        assert status_of(wcs, 1) == [0] and status_of(wcs, 2) == [0], \
            f"send/recv completions {[(w.wr_id, w.status) for w in wcs]}"
        got = [w for w in wcs if w.wr_id == 1][0]
        assert got.byte_len == 72, f"received {got.byte_len} bytes"
        assert mr.read(72, 4096) == b"rrxe-data" * 8, "received bytes differ"
        # An RDMA write lands at the remote address, a read brings it back.
        wr = SendWR(wr_id=3, opcode=e.IBV_WR_RDMA_WRITE, num_sge=1,
                    sg=[SGE(mr.buf, 72, mr.lkey)], send_flags=e.IBV_SEND_SIGNALED)
        wr.set_wr_rdma(mr.rkey, mr.buf + 6000)
        qp.post_send(wr)
        wr = SendWR(wr_id=4, opcode=e.IBV_WR_RDMA_READ, num_sge=1,
                    sg=[SGE(mr.buf + 7000, 72, mr.lkey)], send_flags=e.IBV_SEND_SIGNALED)
        wr.set_wr_rdma(mr.rkey, mr.buf + 6000)
        qp.post_send(wr)
        wcs = poll_n(cq, 2)
        assert status_of(wcs, 3) == [0] and status_of(wcs, 4) == [0], \
            f"write/read completions {[(w.wr_id, w.status) for w in wcs]}"
        assert mr.read(72, 7000) == b"rrxe-data" * 8, "read bytes differ"
        # The lkey of a region of another protection domain.
        qp.post_send(SendWR(wr_id=5, opcode=e.IBV_WR_RDMA_WRITE, num_sge=1,
                            sg=[SGE(foreign.buf, 16, foreign.lkey)]))
        wcs = poll_n(cq, 1)
        deviation = None
        if args.reference and status_of(wcs, 5) == [e.IBV_WC_WR_FLUSH_ERR]:
            # Seen in this harness: rdma_rxe moves the QP to ERR and flushes the request
            # that caused it, where IBTA completes it with the error.
            deviation = "rdma_rxe completes a send naming another PD's lkey with a flush error"
        else:
            assert status_of(wcs, 5) == [e.IBV_WC_LOC_PROT_ERR], \
                f"foreign lkey: {[(w.wr_id, w.status) for w in wcs]}"
        assert qp.query(e.IBV_QP_STATE)[0].qp_state == e.IBV_QPS_ERR, "QP not in ERR"
        qp.close()
        # A write to an rkey that names nothing, between two QPs: the requester's request
        # completes with a remote access error, and both end in the error state.
        qp, peer = new_rc_qp(pd, cq, cq), new_rc_qp(pd, cq, cq)
        connect(qp, peer)
        connect(peer, qp)
        wr = SendWR(wr_id=6, opcode=e.IBV_WR_RDMA_WRITE, num_sge=1,
                    sg=[SGE(mr.buf, 16, mr.lkey)], send_flags=e.IBV_SEND_SIGNALED)
        wr.set_wr_rdma(mr.rkey ^ 0x5a00, mr.buf)
        qp.post_send(wr)
        wcs = poll_n(cq, 1)
        assert status_of(wcs, 6) == [e.IBV_WC_REM_ACCESS_ERR], \
            f"bad rkey: {[(w.wr_id, w.status) for w in wcs]}"
        assert qp.query(e.IBV_QP_STATE)[0].qp_state == e.IBV_QPS_ERR, "requester not in ERR"
        qp.close()
        peer.close()
        still_works(pd, cq, mr)
        foreign.close()
        mr.close()
    if deviation:
        raise Skip(deviation)


def rnr_retry_delivers():
    """A send that finds no receive request posted is NAKed receiver-not-ready and resent
    after the RNR timer; once a receive is posted it lands. Twice, so the timer is rearmed."""
    with PD(ctx) as pd, CQ(ctx, 16) as cq:
        mr = MR(pd, 4096, LW)
        qp, peer = new_rc_qp(pd, cq, cq), new_rc_qp(pd, cq, cq)
        connect(qp, peer)
        connect(peer, qp)
        for i in range(2):
            mr.write(bytes([0x40 + i]) * 32, 32, 0)
            qp.post_send(SendWR(wr_id=10 + i, opcode=e.IBV_WR_SEND, num_sge=1,
                                sg=[SGE(mr.buf, 32, mr.lkey)], send_flags=e.IBV_SEND_SIGNALED))
            # Nothing can land yet: the peer has no receive request.
            got, _ = cq.poll(1)
            assert got == 0, "a send completed without a receive request posted"
            peer.post_recv(RecvWR(wr_id=20 + i, num_sge=1, sg=[SGE(mr.buf + 2048, 64, mr.lkey)]))
            wcs = poll_n(cq, 2)
            assert sorted((w.wr_id, w.status) for w in wcs) == [(10 + i, 0), (20 + i, 0)], \
                f"round {i}: {[(w.wr_id, w.status) for w in wcs]}"
            assert mr.read(32, 2048) == bytes([0x40 + i]) * 32, f"round {i}: bytes differ"
        qp.close()
        peer.close()
        mr.close()


def ring_garbage_recv():
    with PD(ctx) as pd, CQ(ctx, 64) as cq:
        mr = MR(pd, 4096, LW)
        qp, _, rq = garbage_qp(pd, cq)
        post_recvs(qp, mr, [1, 2, 3])
        # Garbage entries behind a wild producer index (masked: 10 entries posted) and a
        # wild geometry in the header.
        scribble(rq, range(3, 10), 1000)
        poke32(rq[0] + Q_PRODUCER, 0xdead0000 | 10)
        poke32(rq[0] + Q_INDEX_MASK, 0xffffffff)
        poke32(rq[0] + Q_LOG2_ELEM, 31)
        to_state(qp, rc_attr(), e.IBV_QPS_ERR, e.IBV_QP_STATE)
        wcs = poll_n(cq, 10)
        got = [wc.wr_id for wc in wcs]
        assert got == [1, 2, 3] + [1000 + s for s in range(3, 10)], f"receive flushes {got}"
        assert all(wc.status == WC_FLUSH_ERR for wc in wcs), "a flush with another status"
        # The kernel kept its own geometry: the consumer index it published is in range.
        assert peek32(rq[0] + Q_CONSUMER) == 10, f"consumer {peek32(rq[0] + Q_CONSUMER):#x}"
        qp.close()
        still_works(pd, cq, mr)
        mr.close()


def ring_garbage_send():
    if args.reference:
        # Seen in this harness: after this check, destroying the QP waits 50 s for a QP
        # reference rdma_rxe never drops, then WARNs in __rxe_cleanup.
        raise Skip("rdma_rxe leaks a QP reference over garbage send entries")
    with PD(ctx) as pd, CQ(ctx, 64) as cq:
        mr = MR(pd, 4096, LW)
        qp, sq, _ = garbage_qp(pd, cq)
        # Garbage entries (operation, flags, lengths, keys) behind a wild producer index
        # (masked: 5 of the 7 slots), flushed when the QP enters the error state.
        scribble(sq, range(5), 2000)
        poke32(sq[0] + Q_PRODUCER, 0xbeef0000 | 5)
        to_state(qp, rc_attr(), e.IBV_QPS_ERR, e.IBV_QP_STATE)
        wcs = poll_n(cq, 5)
        got = [wc.wr_id for wc in wcs]
        assert got == [2000 + s for s in range(5)], f"send flushes {got}"
        assert all(wc.status == WC_FLUSH_ERR for wc in wcs), "a flush with another status"
        assert peek32(sq[0] + Q_CONSUMER) == 5, f"consumer {peek32(sq[0] + Q_CONSUMER):#x}"
        # The doorbell in the error state over more garbage: the producer index is moved
        # past two garbage entries (librxe itself trusts the index, so it stays in range),
        # the provider posts its request in slot 7 and wraps the index to 0, and the kernel
        # finds slots 5, 6 and 7 posted.
        scribble(sq, range(5, 7), 3000)
        poke32(sq[0] + Q_PRODUCER, 7)
        post_sends(qp, mr, [3007])
        got = [wc.wr_id for wc in poll_n(cq, 3)]
        assert got == [3005, 3006, 3007], f"flushes after the doorbell {got}"
        qp.close()
        still_works(pd, cq, mr)
        mr.close()


def connected_pair(pd, cq, max_rd_atomic=4, max_dest_rd_atomic=4):
    """Two RC QPs connected to each other with the given read/atomic limits."""
    qp, peer = new_rc_qp(pd, cq, cq), new_rc_qp(pd, cq, cq)
    for one, other in ((qp, peer), (peer, qp)):
        qa = rc_attr()
        qa.dest_qp_num = other.qp_num
        qa.rq_psn = qa.sq_psn
        qa.max_rd_atomic = max_rd_atomic
        qa.max_dest_rd_atomic = max_dest_rd_atomic
        to_state(one, qa, e.IBV_QPS_INIT, RC_TO_INIT)
        to_state(one, qa, e.IBV_QPS_RTR, RC_TO_RTR)
        to_state(one, qa, e.IBV_QPS_RTS, RC_TO_RTS)
    return qp, peer


def qp_details(qpn):
    """What `rdma res show qp -dd` shows of queue pair `qpn` of the device."""
    out = subprocess.run(["rdma", "-j", "-dd", "res", "show", "qp", "link", f"{args.dev}/1",
                          "lqpn", str(qpn)], check=True, capture_output=True, text=True).stdout
    (entry,) = json.loads(out)
    # The tool names the driver's values with a prefix of its own.
    return {k.removeprefix("drv_"): v for k, v in entry.items() if k.startswith("drv_")}


def qp_details_follow_the_transport():
    """`rdma res show qp -dd` shows an RC QP's transport state: the requester's next and
    first unacknowledged PSNs start at its send PSN, the responder expects its receive PSN,
    the window is full and nothing is in flight; once a write of 3 packets completes, both
    PSNs of the requester and the PSN its peer expects are 3 further."""
    if args.reference:
        raise Skip("rdma_rxe shows no driver details")
    with PD(ctx) as pd, CQ(ctx, 8) as cq, \
            MR(pd, 8192, LW | e.IBV_ACCESS_REMOTE_WRITE) as mr:
        qp, peer = connected_pair(pd, cq)
        psn = rc_attr().sq_psn
        shown = qp_details(qp.qp_num)
        want = {"next_psn": psn, "unacked_psn": psn, "expected_psn": psn, "window": 128,
                "in_flight": 0, "deferred": 0}
        assert {k: shown.get(k) for k in want} == want, f"shown {shown}"
        wr = SendWR(wr_id=1, opcode=e.IBV_WR_RDMA_WRITE, num_sge=1,
                    sg=[SGE(mr.buf, 3000, mr.lkey)], send_flags=e.IBV_SEND_SIGNALED)
        wr.set_wr_rdma(mr.rkey, mr.buf + 4096)
        qp.post_send(wr)
        wcs = poll_n(cq, 1)
        assert [(wc.wr_id, wc.status) for wc in wcs] == [(1, e.IBV_WC_SUCCESS)], wcs
        shown, peer_shown = qp_details(qp.qp_num), qp_details(peer.qp_num)
        assert (shown["next_psn"], shown["unacked_psn"]) == (psn + 3, psn + 3), f"shown {shown}"
        assert peer_shown["expected_psn"] == psn + 3, f"peer shows {peer_shown}"


def post_read(qp, wr_id, local, lkey, remote, rkey, length):
    wr = SendWR(wr_id=wr_id, opcode=e.IBV_WR_RDMA_READ, num_sge=1,
                sg=[SGE(local, length, lkey)], send_flags=e.IBV_SEND_SIGNALED)
    wr.set_wr_rdma(rkey, remote)
    qp.post_send(wr)


def progress(what):
    print(f"{time.monotonic():.1f}: {what}", file=sys.stderr, flush=True)


def driver_memory_kb():
    """The kernel's slab and vmalloc memory, where the driver's packets and queues live."""
    with open("/proc/meminfo") as f:
        fields = dict(line.split(":", 1) for line in f)
    return sum(int(fields[k].split()[0]) for k in ("Slab", "VmallocUsed"))


def slab_cache_kb():
    """Each slab cache's size in kB, to name those that grew."""
    sizes = {}
    with open("/proc/slabinfo") as f:
        for line in f.readlines()[2:]:
            fields = line.split()
            sizes[fields[0]] = int(fields[2]) * int(fields[3]) // 1024
    return sizes


def slab_growth(before, after, top=5):
    grown = sorted(((after.get(k, 0) - v, k) for k, v in before.items()), reverse=True)
    return ", ".join(f"{name} +{kb} kB" for kb, name in grown[:top])


# Response packets are generated a burst at a time, and a responder holds back its bursts
# while its reader has 64 or more packets waiting: the 17 readers hold a few hundred
# kB each, whatever the read sizes (a read answered in one go would hold its whole length).
READ_MEMORY_BOUND_KB = 48 * 1024


def fill_kasan_quarantine():
    """Fills the debug kernel's KASAN quarantine, which keeps up to RAM/32 (64 MiB here) of
    freed slab objects before they are reused, so that it is part of the baseline rather than
    of the growth measured: 128 MiB of 4000-byte datagrams through loopback UDP free twice
    that much in 8 KiB socket buffers."""
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(10)
        payload = bytes(4000)
        for _ in range((128 << 20) // len(payload)):
            tx.sendto(payload, rx.getsockname())
            assert len(rx.recv(len(payload))) == len(payload)
    finally:
        rx.close()
        tx.close()


def reads_in_flight_bounded_memory():
    """While a 1 GiB RDMA read and 16 concurrent 64 MiB reads are in flight, the kernel's
    slab and vmalloc memory stays within READ_MEMORY_BOUND_KB of where it was; a 4 KiB read
    on another pair completes meanwhile with its data; destroying the queue pairs
    mid-transfer gives the memory back."""
    gib, part, small_len = 1 << 30, 64 << 20, 4096
    # The reads keep both CPUs busy in the driver's workers; the check itself runs ahead
    # of them (real-time) so that it posts, samples and destroys on time.
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    try:
        reads_in_flight(gib, part, small_len)
    finally:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))


def reads_in_flight(gib, part, small_len):
    with PD(ctx) as pd, CQ(ctx, 64) as cq:
        mr = MR(pd, gib, LW | e.IBV_ACCESS_REMOTE_READ)
        progress("1 GiB region registered")
        small = MR(pd, 2 * small_len, LW | e.IBV_ACCESS_REMOTE_READ)
        pattern = os.urandom(small_len)
        small.write(pattern, small_len, 0)
        pairs = [connected_pair(pd, cq) for _ in range(18)]
        fill_kasan_quarantine()
        base, base_slabs = driver_memory_kb(), slab_cache_kb()
        progress(f"18 pairs connected, KASAN quarantine filled, driver memory {base} kB")
        # Each read copies memory onto itself from the region's first byte on: 1 GiB of
        # pinned memory serves them all. (A copy walks the region's scatterlist from its
        # start, so packets far into a large region cost more: each read starts at 0.)
        post_read(pairs[0][0], 1, mr.buf, mr.lkey, mr.buf, mr.rkey, gib)
        for i in range(16):
            post_read(pairs[1 + i][0], 10 + i, mr.buf, mr.lkey, mr.buf, mr.rkey, part)
        post_read(pairs[17][0], 100, small.buf + small_len, small.lkey, small.buf, small.rkey,
                  small_len)
        progress("reads posted")
        peak, wcs = base, []
        start = time.monotonic()
        while time.monotonic() - start < 15 or not any(w.wr_id == 100 for w in wcs):
            assert time.monotonic() - start < 120, "the 4 KiB read did not complete in 120 s"
            now_kb = driver_memory_kb()
            if now_kb > peak:
                progress(f"driver memory {now_kb} kB")
                peak_slabs = slab_cache_kb()
            peak = max(peak, now_kb)
            got, batch = cq.poll(8)
            wcs += batch[:got]
            time.sleep(0.2)
        assert all(w.status == 0 for w in wcs), f"completions {[(w.wr_id, w.status) for w in wcs]}"
        assert small.read(small_len, small_len) == pattern, "the 4 KiB read brought other bytes"
        big_done = sum(1 for w in wcs if w.wr_id != 100)
        print(f"driver memory: {base} kB before, peak {peak} kB with the reads in flight "
              f"({big_done} of 17 large reads done)", file=sys.stderr)
        if peak > base:
            print(f"slab caches grown most at the peak: {slab_growth(base_slabs, peak_slabs)}",
                  file=sys.stderr)
        assert peak - base <= READ_MEMORY_BOUND_KB, f"grew by {peak - base} kB"
        progress("destroying the queue pairs")
        for qp, peer in pairs:
            qp.close()
            peer.close()
        after = driver_memory_kb()
        print(f"driver memory: {after} kB after the queue pairs were destroyed", file=sys.stderr)
        assert after - base <= 8 * 1024, f"{after - base} kB more than before the reads"
        small.close()
        mr.close()


def dereg_stops_writes_in_progress():
    """A region deregistered while a 64 MiB RDMA write into it is landing is written no more
    once dereg returns (the memory is the process's own, mapped apart from the region), and
    the write completes with a remote access error."""
    size = 64 << 20
    buf = mmap.mmap(-1, size)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    with PD(ctx) as pd, CQ(ctx, 16) as cq:
        src = MR(pd, size, LW)
        src.write(b"\xa5" * size, size, 0)
        target = MR(pd, size, LW | e.IBV_ACCESS_REMOTE_WRITE, address=addr)
        qp, peer = connected_pair(pd, cq)
        wr = SendWR(wr_id=1, opcode=e.IBV_WR_RDMA_WRITE, num_sge=1,
                    sg=[SGE(src.buf, size, src.lkey)], send_flags=e.IBV_SEND_SIGNALED)
        wr.set_wr_rdma(target.rkey, addr)
        qp.post_send(wr)
        start = time.monotonic()
        while buf[0] != 0xA5:
            assert time.monotonic() - start < 60, "the write did not start in 60 s"
            time.sleep(0.01)
        target.close()
        landed = bytes(buf)
        written = landed.count(0xA5)
        print(f"dereg after {written} of {size} bytes written", file=sys.stderr)
        assert written < size, "the write ended before the region was deregistered"
        wcs = poll_n(cq, 1, timeout=60)
        assert status_of(wcs, 1) == [e.IBV_WC_REM_ACCESS_ERR], \
            f"write completions {[(w.wr_id, w.status) for w in wcs]}"
        assert bytes(buf) == landed, "bytes written after the region was deregistered"
        qp.close()
        peer.close()
        src.close()
    buf.close()


def dereg_fails_read_in_progress():
    """A region deregistered while a 64 MiB read from it is being answered is read no more:
    the read completes with a remote access error instead of hanging."""
    size = 64 << 20
    with PD(ctx) as pd, CQ(ctx, 16) as cq:
        source = MR(pd, size, LW | e.IBV_ACCESS_REMOTE_READ)
        source.write(b"\x5a" * 4096, 4096, 0)
        sink = MR(pd, size, LW)
        qp, peer = connected_pair(pd, cq)
        post_read(qp, 1, sink.buf, sink.lkey, source.buf, source.rkey, size)
        start = time.monotonic()
        while sink.read(1, 0) != b"\x5a":
            assert time.monotonic() - start < 60, "the read did not start in 60 s"
            time.sleep(0.01)
        source.close()
        wcs = poll_n(cq, 1, timeout=60)
        assert status_of(wcs, 1) == [e.IBV_WC_REM_ACCESS_ERR], \
            f"read completions {[(w.wr_id, w.status) for w in wcs]}"
        qp.close()
        peer.close()
        sink.close()


def reads_within_rd_atomic_limits():
    """Eight 256 KiB reads posted at once through max_rd_atomic 2 and max_dest_rd_atomic 2
    complete in order with their data; a responder whose max_dest_rd_atomic is 0 answers a
    read with an invalid request NAK (IBV_WC_REM_INV_REQ_ERR)."""
    size, count = 256 << 10, 8
    with PD(ctx) as pd, CQ(ctx, 64) as cq:
        mr = MR(pd, 2 * count * size, LW | e.IBV_ACCESS_REMOTE_READ)
        pattern = os.urandom(count * size)
        mr.write(pattern, count * size, 0)
        qp, peer = connected_pair(pd, cq, max_rd_atomic=2, max_dest_rd_atomic=2)
        for i in range(count):
            post_read(qp, 200 + i, mr.buf + (count + i) * size, mr.lkey, mr.buf + i * size,
                      mr.rkey, size)
        wcs = poll_n(cq, count, timeout=120)
        got = [(w.wr_id, w.status) for w in wcs]
        assert got == [(200 + i, 0) for i in range(count)], f"completions {got}"
        assert mr.read(count * size, count * size) == pattern, "read bytes differ"
        qp.close()
        peer.close()
        qp, peer = connected_pair(pd, cq, max_rd_atomic=2, max_dest_rd_atomic=0)
        post_read(qp, 300, mr.buf + size, mr.lkey, mr.buf, mr.rkey, 4096)
        wcs = poll_n(cq, 1)
        assert status_of(wcs, 300) == [e.IBV_WC_REM_INV_REQ_ERR], \
            f"read to max_dest_rd_atomic 0: {[(w.wr_id, w.status) for w in wcs]}"
        qp.close()
        peer.close()
        mr.close()


def retry_exceeded_when_peer_is_gone():
    """A requester whose peer queue pair is gone (its packets are dropped on arrival) sends
    again after each wait for an acknowledgment, retry_cnt times, then its oldest request
    completes with IBV_WC_RETRY_EXC_ERR (a retry count of 7 means seven here, not forever as
    for RNR retries). With no round trip measured the first wait is the local ACK timeout and
    each timeout in a row doubles the next, up to four timeouts: the error comes not before
    those retry_cnt + 1 waits have passed, and not much later. The queue pair is then in the
    error state and flushes the request behind it."""
    code = 14
    timeout = 4.096e-6 * 2 ** code
    with PD(ctx) as pd, CQ(ctx, 16) as cq_once, CQ(ctx, 16) as cq_seven:
        mr = MR(pd, 4096, LW)
        qps = []
        for retries, cq in ((0, cq_once), (7, cq_seven)):
            gone, qp = new_rc_qp(pd, cq, cq), new_rc_qp(pd, cq, cq)
            qa = rc_attr()
            qa.dest_qp_num = gone.qp_num
            qa.rq_psn = qa.sq_psn
            qa.timeout = code
            qa.retry_cnt = retries
            to_state(qp, qa, e.IBV_QPS_INIT, RC_TO_INIT)
            to_state(qp, qa, e.IBV_QPS_RTR, RC_TO_RTR)
            to_state(qp, qa, e.IBV_QPS_RTS, RC_TO_RTS)
            gone.close()
            qps.append((retries, cq, qp))
        start = time.monotonic()
        for retries, cq, qp in qps:
            for wr_id in (1, 2):
                qp.post_send(SendWR(wr_id=wr_id, opcode=e.IBV_WR_SEND, num_sge=1,
                                    sg=[SGE(mr.buf, 64, mr.lkey)],
                                    send_flags=e.IBV_SEND_SIGNALED))
        done = {}
        while len(done) < len(qps) and time.monotonic() - start < 30:
            for retries, cq, qp in qps:
                got, batch = cq.poll(2)
                if got and retries not in done:
                    done[retries] = (time.monotonic() - start, [])
                if got:
                    done[retries][1].extend((w.wr_id, w.status) for w in batch[:got])
            time.sleep(0.002)
        for retries, cq, qp in qps:
            assert retries in done, f"retry_cnt {retries}: no completion in 30 s"
            elapsed, wcs = done[retries]
            wcs += [(w.wr_id, w.status) for w in poll_n(cq, 2 - len(wcs), timeout=5)]
            least = sum(min(2 ** k, 4) for k in range(retries + 1)) * timeout
            most = 2 * least + 0.5
            print(f"retry_cnt {retries}: IBV_WC_RETRY_EXC_ERR after {elapsed * 1e3:.0f} ms "
                  f"({retries + 1} waits from {timeout * 1e3:.1f} ms: {least * 1e3:.0f} ms)",
                  file=sys.stderr)
            assert wcs == [(1, e.IBV_WC_RETRY_EXC_ERR), (2, e.IBV_WC_WR_FLUSH_ERR)], \
                f"retry_cnt {retries}: completions {wcs} after {elapsed:.3f} s"
            assert least <= elapsed <= most, \
                f"retry_cnt {retries}: failed after {elapsed * 1e3:.0f} ms, not within " \
                f"{least * 1e3:.0f}..{most * 1e3:.0f} ms"
            assert qp.query(e.IBV_QP_STATE)[0].qp_state == e.IBV_QPS_ERR, "QP not in ERR"
            qp.close()
        mr.close()


UVERBS_CMD_POST_SEND = 28
UVERBS_WR_SEND = 2
UVERBS_SEND_SIGNALED, UVERBS_SEND_INLINE = 2, 8
# The first page of the kernel's direct map on x86-64 (no KASLR in the test guest's
# layout matters here: any kernel address must be refused).
KERNEL_ADDRESS = 0xFFFF888000000000


def legacy_post_send(cmd_fd, qp_handle, wrs=()):
    """Writes uverbs' legacy POST_SEND command; returns (errno or 0, the response's
    bad_wr). Each of `wrs` is (wr_id, opcode, flags, [(addr, length, lkey)...])."""
    wr_size = 56
    body, sges = b"", b""
    for wr_id, opcode, flags, sgl in wrs:
        body += struct.pack("<QIII4x32x", wr_id, len(sgl), opcode, flags)
        sges += b"".join(struct.pack("<QII", *sge) for sge in sgl)
    return legacy_post(cmd_fd, UVERBS_CMD_POST_SEND, qp_handle, len(wrs), len(sges) // 16,
                       wr_size, body + sges)


def legacy_post(cmd_fd, command, handle, wr_count, sge_count, wqe_size, requests):
    """Writes a legacy post command (the header, then `struct ib_uverbs_post_send` or
    `_post_recv`, which share their layout); returns (errno or 0, the response's bad_wr)."""
    resp = ctypes.c_uint32(0xFFFFFFFF)
    cmd = struct.pack("<QIIII", ctypes.addressof(resp), handle, wr_count, sge_count,
                      wqe_size) + requests
    hdr = struct.pack("<IHH", command, (8 + len(cmd)) // 4, 1)
    try:
        os.write(cmd_fd, hdr + cmd)
    except OSError as ex:
        return ex.errno, resp.value
    return 0, resp.value


def qp_handle(context):
    """The handle of the one QP of a fresh context: the one of its objects whose doorbell
    (the POST_SEND command with no requests) rings; every other handle names no QP."""
    rings = [h for h in range(16) if legacy_post_send(context.cmd_fd, h)[0] == 0]
    assert len(rings) == 1, f"handles whose doorbell rings: {rings}"
    return rings[0]


def send_lands_in_recv(qp, cq, mr, data):
    """Sends the 64 bytes `data` from the start of `mr` through `qp`, connected to itself:
    the send (wr_id 3) and the receive posted at `mr`'s second page (wr_id 1) complete, and
    the receive holds `data`."""
    mr.write(data, 64, 0)
    qp.post_send(SendWR(wr_id=3, opcode=e.IBV_WR_SEND, num_sge=1,
                        sg=[SGE(mr.buf, 64, mr.lkey)], send_flags=e.IBV_SEND_SIGNALED))
    wcs = poll_n(cq, 2)
    assert sorted((w.wr_id, w.status) for w in wcs) == [(1, 0), (3, 0)], \
        f"completions {[(w.wr_id, w.status) for w in wcs]}"
    assert mr.read(64, 4096) == data, "received other bytes"


def legacy_post_send_kernel_address():
    """A user's inline send through the legacy POST_SEND command, naming a kernel address,
    is refused with EINVAL by the driver's post_send (uverbs reports the first request as
    the bad one, which it does only for the driver's error), and nothing of that memory
    reaches the peer: the receive posted beforehand gets the next real send's bytes."""
    with Context(name=args.dev) as own, PD(own) as pd, CQ(own, 16) as cq:
        mr = MR(pd, 8192, LW)
        qp = connected_to_self(pd, cq)
        handle = qp_handle(own)
        mr.write(b"\0" * 64, 64, 4096)
        qp.post_recv(RecvWR(wr_id=1, num_sge=1, sg=[SGE(mr.buf + 4096, 64, mr.lkey)]))
        error, bad_wr = legacy_post_send(own.cmd_fd, handle, [
            (2, UVERBS_WR_SEND, UVERBS_SEND_SIGNALED | UVERBS_SEND_INLINE,
             [(KERNEL_ADDRESS, 64, 0)])])
        if args.reference and error == 0:
            raise Skip("rdma_rxe ignores the requests of a user QP's POST_SEND command")
        assert (error, bad_wr) == (errno.EINVAL, 1), f"errno {error}, bad_wr {bad_wr}"
        send_lands_in_recv(qp, cq, mr, b"user-data" * 7 + b"x")
        qp.close()
        mr.close()


UVERBS_CMD_POST_RECV = 29


def legacy_post_recv(cmd_fd, qp_handle, wrs):
    """Writes uverbs' legacy POST_RECV command; returns (errno or 0, the response's bad_wr).
    Each of `wrs` is (wr_id, [(addr, length, lkey)...])."""
    body, sges = b"", b""
    for wr_id, sgl in wrs:
        body += struct.pack("<QI4x", wr_id, len(sgl))
        sges += b"".join(struct.pack("<QII", *sge) for sge in sgl)
    return legacy_post(cmd_fd, UVERBS_CMD_POST_RECV, qp_handle, len(wrs), len(sges) // 16, 16,
                       body + sges)


def legacy_post_recv_refused():
    """A user's receive request through the legacy POST_RECV command is refused and posts
    nothing: the device does not enable the command (its users post receives in the queue
    they share with the driver), so the core answers EOPNOTSUPP without a response, and a
    message that arrives next lands in the receive posted through the shared queue, with
    its identifier. (Should a driver enable the command, the abstraction refuses a user
    QP's receive requests itself.)"""
    with Context(name=args.dev) as own, PD(own) as pd, CQ(own, 16) as cq:
        mr = MR(pd, 8192, LW)
        qp = connected_to_self(pd, cq)
        handle = qp_handle(own)
        error, bad_wr = legacy_post_recv(own.cmd_fd, handle, [(7, [(mr.buf, 64, mr.lkey)])])
        assert (error, bad_wr) == (errno.EOPNOTSUPP, 0xFFFFFFFF), \
            f"errno {error}, bad_wr {bad_wr}"
        qp.post_recv(RecvWR(wr_id=1, num_sge=1, sg=[SGE(mr.buf + 4096, 64, mr.lkey)]))
        send_lands_in_recv(qp, cq, mr, b"ring-post" * 7 + b"x")
        qp.close()
        mr.close()


ON_DEMAND = e.IBV_ACCESS_ON_DEMAND
MADV_DONTNEED = 4
LIBC = ctypes.CDLL(None, use_errno=True)


def untouched(size):
    """Anonymous private memory none of whose pages was touched yet, and its address."""
    buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    return buf, ctypes.addressof(ctypes.c_char.from_buffer(buf))


def libc_call(name, *a):
    if getattr(LIBC, name)(*a) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}: {os.strerror(err)}")


def device_counter(name):
    out = subprocess.run(["rdma", "-j", "statistic", "show", "link", f"{args.dev}/1"],
                         check=True, capture_output=True, text=True).stdout
    (entry,) = json.loads(out)
    return entry[name]


def odp_pair(pd, cq, srq):
    """Two RC QPs connected to each other that take remote writes, reads and atomics; the
    second receives through `srq`."""
    qp, peer = new_rc_qp(pd, cq, cq), new_rc_qp(pd, cq, cq, srq=srq)
    for one, other in ((qp, peer), (peer, qp)):
        qa = rc_attr()
        qa.qp_access_flags = LW | REMOTE
        qa.dest_qp_num = other.qp_num
        qa.rq_psn = qa.sq_psn
        to_state(one, qa, e.IBV_QPS_INIT, RC_TO_INIT)
        to_state(one, qa, e.IBV_QPS_RTR, RC_TO_RTR)
        to_state(one, qa, e.IBV_QPS_RTS, RC_TO_RTS)
    return qp, peer


def odp_faults_and_invalidations():
    """A region on demand (IBV_ACCESS_ON_DEMAND) over 64 KiB never touched: a send lands in
    it through a shared receive queue, an RDMA write, a read, a fetch-and-add and a
    compare-and-swap reach it, each with its bytes right, and the device's page_faults
    counter moves. Once its pages are given back (madvise MADV_DONTNEED, which invalidates
    them), a read finds zeros, a write and a read back agree, and a send gathers bytes the
    process wrote since, each faulting the pages in anew. A write to a page unmapped since
    (the fault fails) completes with a remote access error. A region on demand of the whole
    address space (implicit) is refused with EOPNOTSUPP."""
    if args.reference:
        raise Skip("rdma_rxe has no page_faults counter")
    size = 64 << 10
    buf, addr = untouched(size)
    with PD(ctx) as pd, CQ(ctx, 32) as cq, new_srq(pd, 8) as srq:
        local = MR(pd, size, LW)
        odp = MR(pd, size, LW | REMOTE | ON_DEMAND, address=addr)
        qp, peer = odp_pair(pd, cq, srq)
        faults = device_counter("page_faults")

        def run(wr_id, opcode, sge, remote=None, atomic=None):
            wr = SendWR(wr_id=wr_id, opcode=opcode, num_sge=1, sg=[sge],
                        send_flags=e.IBV_SEND_SIGNALED)
            if remote is not None:
                wr.set_wr_rdma(odp.rkey, addr + remote)
            if atomic is not None:
                wr.set_wr_atomic(odp.rkey, addr + atomic[0], atomic[1], atomic[2])
            qp.post_send(wr)
            want = 2 if opcode == e.IBV_WR_SEND else 1
            wcs = poll_n(cq, want)
            got = sorted((wc.wr_id, wc.status) for wc in wcs)
            assert len(wcs) == want and all(st == e.IBV_WC_SUCCESS for _, st in got), \
                f"request {wr_id}: completions {got}"

        one, two = os.urandom(6000), os.urandom(5000)
        local.write(one, len(one), 0)
        srq.post_recv(RecvWR(wr_id=100, num_sge=1, sg=[SGE(addr, 8192, odp.lkey)]))
        run(1, e.IBV_WR_SEND, SGE(local.buf, len(one), local.lkey))
        assert buf[:len(one)] == one, "the send did not land in the region on demand"
        local.write(two, len(two), 8192)
        run(2, e.IBV_WR_RDMA_WRITE, SGE(local.buf + 8192, len(two), local.lkey), remote=16384)
        assert buf[16384:16384 + len(two)] == two, "the write did not land"
        run(3, e.IBV_WR_RDMA_READ, SGE(local.buf + 24576, len(two), local.lkey), remote=16384)
        assert local.read(len(two), 24576) == two, "the read brought other bytes"
        run(4, e.IBV_WR_ATOMIC_FETCH_AND_ADD, SGE(local.buf + 40960, 8, local.lkey),
            atomic=(49152, 5, 0))
        run(5, e.IBV_WR_ATOMIC_CMP_AND_SWP, SGE(local.buf + 40968, 8, local.lkey),
            atomic=(49152, 5, 9))
        found = struct.unpack("<QQ", local.read(16, 40960))
        assert found == (0, 5), f"the atomics found {found}"
        assert struct.unpack("<Q", buf[49152:49160]) == (9,), "the atomics left another value"
        first = device_counter("page_faults") - faults
        assert first > 0, "no page fault counted"

        libc_call("madvise", ctypes.c_void_p(addr), ctypes.c_size_t(size), MADV_DONTNEED)
        assert buf[16384:16384 + len(two)] == bytes(len(two)), "the pages were not given back"
        run(6, e.IBV_WR_RDMA_READ, SGE(local.buf + 24576, len(two), local.lkey), remote=16384)
        assert local.read(len(two), 24576) == bytes(len(two)), "a read after madvise: not zeros"
        run(7, e.IBV_WR_RDMA_WRITE, SGE(local.buf + 8192, len(two), local.lkey), remote=20000)
        run(8, e.IBV_WR_RDMA_READ, SGE(local.buf + 32768, len(two), local.lkey), remote=20000)
        assert local.read(len(two), 32768) == two, "write and read back differ"
        # The process writes; the region's table knows none of those pages yet.
        libc_call("madvise", ctypes.c_void_p(addr), ctypes.c_size_t(size), MADV_DONTNEED)
        buf[:len(one)] = one[::-1]
        srq.post_recv(RecvWR(wr_id=101, num_sge=1, sg=[SGE(local.buf, 8192, local.lkey)]))
        gather = SendWR(wr_id=9, opcode=e.IBV_WR_SEND, num_sge=1,
                        sg=[SGE(addr, len(one), odp.lkey)], send_flags=e.IBV_SEND_SIGNALED)
        qp.post_send(gather)
        wcs = poll_n(cq, 2)
        assert sorted((wc.wr_id, wc.status) for wc in wcs) == [(9, 0), (101, 0)], \
            f"send from the region on demand: {[(wc.wr_id, wc.status) for wc in wcs]}"
        assert local.read(len(one), 0) == one[::-1], "the send gathered other bytes"
        again = device_counter("page_faults") - faults - first
        assert again > 0, "no page fault counted after the pages were given back"
        print(f"page faults: {first} before madvise, {again} after", file=sys.stderr)

        # A page unmapped under the region: its fault fails.
        libc_call("munmap", ctypes.c_void_p(addr + 32768), ctypes.c_size_t(4096))
        wr = SendWR(wr_id=10, opcode=e.IBV_WR_RDMA_WRITE, num_sge=1,
                    sg=[SGE(local.buf, 64, local.lkey)], send_flags=e.IBV_SEND_SIGNALED)
        wr.set_wr_rdma(odp.rkey, addr + 32768)
        qp.post_send(wr)
        wcs = poll_n(cq, 1)
        assert status_of(wcs, 10) == [e.IBV_WC_REM_ACCESS_ERR], \
            f"write to an unmapped page: {[(wc.wr_id, wc.status) for wc in wcs]}"
        expect_errno(errno.EOPNOTSUPP, MR, pd, 0, LW | ON_DEMAND, implicit=True,
                     what="implicit region on demand")
        qp.close()
        peer.close()
        odp.close()
        local.close()


UVERBS_OBJECT_MR, UVERBS_METHOD_ADVISE_MR = 7, 2
ADVISE_PREFETCH, ADVISE_PREFETCH_WRITE, ADVISE_PREFETCH_NO_FAULT = 0, 1, 2
ADVISE_FLAG_FLUSH = 1


def advise_mr(context, pd_handle, advice, flags, sges):
    """ibv_advise_mr through the core's uverbs method (librxe has no advise_mr): `sges` are
    (addr, length, lkey); returns 0 or the errno."""
    sge_list = ctypes.create_string_buffer(b"".join(struct.pack("<QII", *sge) for sge in sges))
    return driver_ioctl(context.cmd_fd, UVERBS_METHOD_ADVISE_MR,
                        [(0, 0, MANDATORY, pd_handle), (1, 8, MANDATORY, advice),
                         (2, 8, MANDATORY, flags),
                         (3, len(sge_list.raw) - 1, MANDATORY, ctypes.addressof(sge_list))],
                        object_id=UVERBS_OBJECT_MR)


def odp_prefetch_advice():
    """ibv_advise_mr's prefetch, through the core's uverbs method: with the flush flag, a
    prefetch for writing of a whole region on demand never touched takes its pages in, so an
    RDMA write into it and a read back fault none in; once they are given back, a prefetch
    without fault takes none and the next write faults again; a key of no region is EINVAL, a
    prefetch for writing into a region without local write EPERM."""
    if args.reference:
        raise Skip("rdma_rxe has no page_faults counter")
    size = 64 << 10
    buf, addr = untouched(size)
    # A context of its own: its first object, the protection domain, has handle 0.
    context = Context(name=args.dev)
    with PD(context) as pd, CQ(context, 16) as cq, new_srq(pd, 4) as srq:
        local = MR(pd, size, LW)
        odp = MR(pd, size, LW | REMOTE | ON_DEMAND, address=addr)
        readonly = MR(pd, 4096, ON_DEMAND)
        qp, peer = odp_pair(pd, cq, srq)
        whole = [(addr, size, odp.lkey)]
        error = advise_mr(context, 0, ADVISE_PREFETCH_WRITE, ADVISE_FLAG_FLUSH, whole)
        assert error == 0, f"prefetch for writing: errno {error}"
        faults = device_counter("page_faults")
        data = os.urandom(6000)
        local.write(data, len(data), 0)
        for wr_id, opcode, at in ((1, e.IBV_WR_RDMA_WRITE, 0), (2, e.IBV_WR_RDMA_READ, 8192)):
            wr = SendWR(wr_id=wr_id, opcode=opcode, num_sge=1,
                        sg=[SGE(local.buf + at, len(data), local.lkey)],
                        send_flags=e.IBV_SEND_SIGNALED)
            wr.set_wr_rdma(odp.rkey, addr + 100)
            qp.post_send(wr)
            wcs = poll_n(cq, 1)
            assert status_of(wcs, wr_id) == [0], f"request {wr_id}: {wcs}"
        assert local.read(len(data), 8192) == data, "write and read back differ"
        assert device_counter("page_faults") == faults, "prefetched pages faulted again"
        libc_call("madvise", ctypes.c_void_p(addr), ctypes.c_size_t(size), MADV_DONTNEED)
        error = advise_mr(context, 0, ADVISE_PREFETCH_NO_FAULT, ADVISE_FLAG_FLUSH, whole)
        assert error == 0, f"prefetch without fault: errno {error}"
        wr = SendWR(wr_id=3, opcode=e.IBV_WR_RDMA_WRITE, num_sge=1,
                    sg=[SGE(local.buf, len(data), local.lkey)], send_flags=e.IBV_SEND_SIGNALED)
        wr.set_wr_rdma(odp.rkey, addr + 100)
        qp.post_send(wr)
        assert status_of(poll_n(cq, 1), 3) == [0], "write after the pages were given back"
        assert device_counter("page_faults") > faults, "no fault after a prefetch without fault"
        assert buf[100:100 + len(data)] == data, "the write did not land"
        # Without the flush flag the advice is taken all the same.
        error = advise_mr(context, 0, ADVISE_PREFETCH, 0, [(addr, 4096, odp.lkey)])
        assert error == 0, f"prefetch without flush: errno {error}"
        error = advise_mr(context, 0, ADVISE_PREFETCH, ADVISE_FLAG_FLUSH,
                          [(addr, 4096, odp.lkey ^ 0x5a00)])
        assert error == errno.EINVAL, f"a key of no region: errno {error}"
        error = advise_mr(context, 0, ADVISE_PREFETCH_WRITE, ADVISE_FLAG_FLUSH,
                          [(readonly.buf, 4096, readonly.lkey)])
        assert error == errno.EPERM, f"writing into a read-only region: errno {error}"
        qp.close()
        peer.close()
        readonly.close()
        odp.close()
        local.close()
    context.close()


# rrxe's own uverbs methods (the driver's src/control.rs), in the driver namespace.
RDMA_VERBS_IOCTL = 0xC0181B01
NS = 1 << 12
OBJ_TRANSPORT = NS
M_QUERY_QP, M_QUERY_COUNTERS, M_SET_FAULTS = NS, NS | 1, NS | 2
A_QP_HANDLE, A_QPN, A_QP_STATE = NS, NS | 1, NS | 2
A_COUNTER_VALUES, A_COUNTER_NAMES, A_FAULTS = NS | 3, NS | 4, NS | 5
A_QP_QUERY_FLAGS, A_COUNTER_SET = NS | 6, NS | 7
QUERY_QP_RESET_COUNTS = 1
COUNTER_SET_DROPS = 1
DROP_COUNTERS = ["rx_malformed", "rx_no_qp", "rx_inbox_full", "rx_not_for_device",
                 "rx_socket_queue_full", "rx_no_device", "tx_unroutable", "tx_no_memory",
                 "tx_dropped"]
MANDATORY = 1
RDMA_DRIVER_RXE = 14
QP_STATE_LEN, FAULTS_LEN = 208, 32


def driver_ioctl(fd, method, attrs, driver_id=RDMA_DRIVER_RXE, object_id=OBJ_TRANSPORT,
                 reserved1=0):
    """Issues `method` of rrxe's object with `attrs`, each (attr_id, len, flags, data);
    returns 0 or the errno."""
    msg = struct.pack("<HHHHQII", 24 + 16 * len(attrs), object_id, method, len(attrs),
                      reserved1, driver_id, 0)
    msg += b"".join(struct.pack("<HHHHQ", a, n, f, 0, d) for a, n, f, d in attrs)
    try:
        fcntl.ioctl(fd, RDMA_VERBS_IOCTL, bytearray(msg), True)
        return 0
    except OSError as ex:
        return ex.errno


class Out:
    """A buffer the driver writes an output attribute into."""

    def __init__(self, attr_id, size, flags=MANDATORY):
        self.buf = ctypes.create_string_buffer(size)
        self.attr = (attr_id, size, flags, ctypes.addressof(self.buf))

    def u32(self, offset):
        return struct.unpack_from("<I", self.buf.raw, offset)[0]

    def u64(self, offset):
        return struct.unpack_from("<Q", self.buf.raw, offset)[0]


def qp_by_handle(handle):
    return (A_QP_HANDLE, 0, 0, handle)


def qp_by_number(qpn, flags=0):
    return (A_QPN, 4, flags, qpn)


def faults_attr(buf):
    return (A_FAULTS, len(buf), MANDATORY, ctypes.addressof(buf))


def faults_buf(drop=0, duplicate=0, delay=0, corrupt=0, delay_us=0, reserved=0, seed=0):
    return ctypes.create_string_buffer(struct.pack("<IIIIIIQ", drop, duplicate, delay, corrupt,
                                                   delay_us, reserved, seed), FAULTS_LEN)


def query_qp(fd, target):
    """The state of the queue pair `target` names: (errno, Out)."""
    state = Out(A_QP_STATE, QP_STATE_LEN)
    return driver_ioctl(fd, M_QUERY_QP, [target, state.attr]), state


def uverbs_query_qp():
    """rrxe's query method shows an RC QP of the caller's context by handle and by number
    (the caller has CAP_NET_ADMIN) alike: its number, type RC, state RTS; and after a write
    of 3 packets its next PSN is 3 further and it counts the packets it sent."""
    if args.reference:
        raise Skip("rdma_rxe has no driver methods")
    with Context(name=args.dev) as own, PD(own) as pd, CQ(own, 16) as cq:
        mr = MR(pd, 8192, LW | e.IBV_ACCESS_REMOTE_WRITE)
        qp = connected_to_self(pd, cq)
        handle = qp_handle(own)
        error, by_handle = query_qp(own.cmd_fd, qp_by_handle(handle))
        assert error == 0, f"by handle: errno {error}"
        error, by_number = query_qp(own.cmd_fd, qp_by_number(qp.qp_num))
        assert error == 0, f"by number: errno {error}"
        for state in (by_handle, by_number):
            assert (state.u32(0), state.u32(4), state.u32(8)) == (qp.qp_num, 2, 3), \
                f"qpn, type, state {state.u32(0):#x} {state.u32(4)} {state.u32(8)}"
        psn, sent = by_handle.u32(16), by_handle.u64(64)
        wr = SendWR(wr_id=1, opcode=e.IBV_WR_RDMA_WRITE, num_sge=1,
                    sg=[SGE(mr.buf, 3000, mr.lkey)], send_flags=e.IBV_SEND_SIGNALED)
        wr.set_wr_rdma(mr.rkey, mr.buf + 4096)
        qp.post_send(wr)
        assert [(w.wr_id, w.status) for w in poll_n(cq, 1)] == [(1, e.IBV_WC_SUCCESS)]
        error, after = query_qp(own.cmd_fd, qp_by_handle(handle))
        assert error == 0, f"errno {error}"
        assert after.u32(16) == (psn + 3) & 0xFFFFFF, f"next_psn {after.u32(16):#x} from {psn:#x}"
        # Three write packets and their acknowledgment, to and from itself.
        assert after.u64(64) >= sent + 3 and after.u64(72) >= 3, \
            f"tx {after.u64(64)} from {sent}, rx {after.u64(72)}"
        # Read with its counts reset (flags of 4 bytes): they read as before, then zero.
        state = Out(A_QP_STATE, QP_STATE_LEN)
        error = driver_ioctl(own.cmd_fd, M_QUERY_QP, [
            qp_by_handle(handle), state.attr, (A_QP_QUERY_FLAGS, 4, 0, QUERY_QP_RESET_COUNTS)])
        assert error == 0 and state.u64(64) == after.u64(64), f"errno {error}, tx {state.u64(64)}"
        error, zeroed = query_qp(own.cmd_fd, qp_by_handle(handle))
        assert error == 0 and (zeroed.u64(64), zeroed.u64(72)) == (0, 0), \
            f"errno {error}, tx {zeroed.u64(64)} rx {zeroed.u64(72)} after the reset"
        qp.close()
        mr.close()


def uverbs_malformed_calls():
    """Malformed calls of rrxe's methods get the errno the core defines, and the context
    works on: an unknown attribute marked mandatory EPROTONOSUPPORT (unmarked, it is
    ignored), a wrong length EINVAL, a duplicated attribute EINVAL, a missing mandatory
    attribute EINVAL, a wrong driver id EINVAL, an unknown method or object and a reserved
    field set EPROTONOSUPPORT; and the driver's own checks: neither or both of handle and
    number EINVAL, an unknown number ENOENT, faults beyond every packet, a second or a set
    reserved field EINVAL."""
    if args.reference:
        raise Skip("rdma_rxe has no driver methods")
    with Context(name=args.dev) as own, PD(own) as pd, CQ(own, 16) as cq:
        mr = MR(pd, 8192, LW)
        qp = connected_to_self(pd, cq)
        fd, qpn = own.cmd_fd, qp.qp_num
        state = Out(A_QP_STATE, QP_STATE_LEN)
        counters = Out(A_COUNTER_VALUES, 8 * 64)
        good = [qp_by_number(qpn), state.attr]
        cases = [
            ("unknown mandatory attribute", errno.EPROTONOSUPPORT, M_QUERY_QP,
             good + [(NS | 20, 4, MANDATORY, 0)], {}),
            ("unknown optional attribute", 0, M_QUERY_QP, good + [(NS | 20, 4, 0, 0)], {}),
            ("number of 2 bytes", errno.EINVAL, M_QUERY_QP,
             [(A_QPN, 2, 0, qpn), state.attr], {}),
            ("state buffer of 100 bytes", errno.EINVAL, M_QUERY_QP,
             [qp_by_number(qpn), (A_QP_STATE, 100, MANDATORY, state.attr[3])], {}),
            ("handle with a length", errno.EINVAL, M_QUERY_QP,
             [(A_QP_HANDLE, 4, 0, 0), state.attr], {}),
            ("attribute twice", errno.EINVAL, M_QUERY_QP, good + [qp_by_number(qpn)], {}),
            ("state missing", errno.EINVAL, M_QUERY_QP, [qp_by_number(qpn)], {}),
            ("driver id of mlx5", errno.EINVAL, M_QUERY_QP, good, {"driver_id": 1}),
            ("unknown method", errno.EPROTONOSUPPORT, NS | 7, good, {}),
            ("unknown object", errno.EPROTONOSUPPORT, M_QUERY_QP, good,
             {"object_id": NS | 9}),
            ("reserved header field", errno.EPROTONOSUPPORT, M_QUERY_QP, good,
             {"reserved1": 1}),
            ("neither handle nor number", errno.EINVAL, M_QUERY_QP, [state.attr], {}),
            ("handle and number", errno.EINVAL, M_QUERY_QP,
             [qp_by_handle(qp_handle(own)), qp_by_number(qpn), state.attr], {}),
            ("unknown number", errno.ENOENT, M_QUERY_QP,
             [qp_by_number(0xFFFFF0), state.attr], {}),
            ("unknown query flag", errno.EINVAL, M_QUERY_QP,
             good + [(A_QP_QUERY_FLAGS, 8, 0, 2)], {}),
            ("query flags of 2 bytes", errno.EINVAL, M_QUERY_QP,
             good + [(A_QP_QUERY_FLAGS, 2, 0, 1)], {}),
            ("counter set beyond the drops", errno.EINVAL, M_QUERY_COUNTERS,
             [counters.attr, (A_COUNTER_SET, 8, 0, 2)], {}),
            ("counter set of 4 bytes", errno.EINVAL, M_QUERY_COUNTERS,
             [counters.attr, (A_COUNTER_SET, 4, 0, 1)], {}),
        ]
        bad_faults = [
            ("faults beyond every packet", faults_buf(drop=600_000, corrupt=400_001)),
            ("delay beyond a second", faults_buf(delay=1, delay_us=1_000_001)),
            ("reserved fault field", faults_buf(reserved=1)),
        ]
        for what, buf in bad_faults:
            cases.append((what, errno.EINVAL, M_SET_FAULTS,
                          [qp_by_number(qpn), faults_attr(buf)], {}))
        short = ctypes.create_string_buffer(16)
        cases.append(("faults of 16 bytes", errno.EINVAL, M_SET_FAULTS,
                      [qp_by_number(qpn), (A_FAULTS, 16, MANDATORY, ctypes.addressof(short))], {}))
        wrong = [f"{what}: errno {got}, expected {want}"
                 for what, want, method, attrs, kw in cases
                 if (got := driver_ioctl(fd, method, attrs, **kw)) != want]
        assert not wrong, "; ".join(wrong)
        # None of the refused faults took.
        error, state = query_qp(fd, qp_by_number(qpn))
        assert error == 0 and state.buf.raw[144:176] == bytes(32), f"faults {state.buf.raw[144:176]}"
        mr.write(b"\0" * 64, 64, 0)
        qp.post_recv(RecvWR(wr_id=1, num_sge=1, sg=[SGE(mr.buf + 4096, 64, mr.lkey)]))
        send_lands_in_recv(qp, cq, mr, b"after-malformed-" * 4)
        qp.close()
        mr.close()


def uverbs_handle_of_another_context():
    """A queue pair handle is looked up in the caller's own context: another context's
    handle names nothing there (ENOENT), and a handle of another kind of object, the other
    context's protection domain, is refused (EINVAL)."""
    if args.reference:
        raise Skip("rdma_rxe has no driver methods")
    with Context(name=args.dev) as own, PD(own) as pd, CQ(own, 16) as cq, \
            Context(name=args.dev) as other, PD(other):
        qp = connected_to_self(pd, cq)
        handle = qp_handle(own)
        assert handle != 0, "the QP took the first handle"
        error, _ = query_qp(other.cmd_fd, qp_by_handle(handle))
        assert error == errno.ENOENT, f"another context's handle: errno {error}"
        error, _ = query_qp(other.cmd_fd, qp_by_handle(0))
        assert error == errno.EINVAL, f"a PD's handle: errno {error}"
        error, _ = query_qp(own.cmd_fd, qp_by_handle(handle))
        assert error == 0, f"its own context: errno {error}"
        qp.close()


def uverbs_faults_shown_and_cleared():
    """Faults set on a queue pair show in its state as given; all zero clears them."""
    if args.reference:
        raise Skip("rdma_rxe has no driver methods")
    with Context(name=args.dev) as own, PD(own) as pd, CQ(own, 16) as cq:
        qp = connected_to_self(pd, cq)
        given = struct.pack("<IIIIIIQ", 50_000, 1_000, 2_000, 3_000, 500, 0, 7)
        buf = ctypes.create_string_buffer(given, FAULTS_LEN)
        error = driver_ioctl(own.cmd_fd, M_SET_FAULTS, [qp_by_number(qp.qp_num), faults_attr(buf)])
        assert error == 0, f"set: errno {error}"
        error, state = query_qp(own.cmd_fd, qp_by_number(qp.qp_num))
        assert error == 0 and state.buf.raw[144:176] == given, f"shown {state.buf.raw[144:176]}"
        none = faults_buf()
        error = driver_ioctl(own.cmd_fd, M_SET_FAULTS, [qp_by_number(qp.qp_num), faults_attr(none)])
        assert error == 0, f"clear: errno {error}"
        error, state = query_qp(own.cmd_fd, qp_by_number(qp.qp_num))
        assert error == 0 and state.buf.raw[144:176] == bytes(32), f"shown {state.buf.raw[144:176]}"
        qp.close()


def uverbs_counters_match_rdma_statistic():
    """rrxe's counters method gives the counters `rdma statistic` shows, by the same names
    in the same order; a buffer for two values gets the first two."""
    if args.reference:
        raise Skip("rdma_rxe has no driver methods")
    values, names = Out(A_COUNTER_VALUES, 8 * 64), Out(A_COUNTER_NAMES, 4096, 0)
    error = driver_ioctl(ctx.cmd_fd, M_QUERY_COUNTERS, [values.attr, names.attr])
    assert error == 0, f"errno {error}"
    got = [n.decode() for n in names.buf.raw.split(b"\0") if n]
    out = subprocess.run(["rdma", "-j", "statistic", "show", "link", f"{args.dev}/1"],
                         check=True, capture_output=True, text=True).stdout
    (entry,) = json.loads(out)
    shown = [k for k in entry if k not in ("ifindex", "ifname", "port")]
    assert got == shown, f"names {got}, rdma statistic {shown}"
    two = Out(A_COUNTER_VALUES, 16)
    error = driver_ioctl(ctx.cmd_fd, M_QUERY_COUNTERS, [two.attr])
    assert error == 0, f"two values: errno {error}"
    later = Out(A_COUNTER_VALUES, 8 * 64)
    assert driver_ioctl(ctx.cmd_fd, M_QUERY_COUNTERS, [later.attr]) == 0
    for i in range(2):
        assert values.u64(8 * i) <= two.u64(8 * i) <= later.u64(8 * i), f"counter {got[i]}"
    # The drops alone, by reason, in the same order.
    names = Out(A_COUNTER_NAMES, 4096, 0)
    error = driver_ioctl(ctx.cmd_fd, M_QUERY_COUNTERS,
                         [later.attr, names.attr, (A_COUNTER_SET, 8, 0, COUNTER_SET_DROPS)])
    assert error == 0, f"drops: errno {error}"
    drops = [n.decode() for n in names.buf.raw.split(b"\0") if n]
    assert drops == DROP_COUNTERS, f"drops {drops}"
    assert drops == [n for n in got if n in DROP_COUNTERS]


check("cq-sizes", cq_sizes)
check("cq-bad-sizes-einval", cq_bad_sizes)
check("cq-resize", cq_resize)
check("cq-req-notify", cq_notify)
check("cq-256-create-destroy", cq_many)
check("mr-keys-distinct-and-rotated", mr_keys)
check("mr-bad-access", mr_bad_access)
check("mr-zero-wrapping-unmapped-ranges", mr_bad_ranges)
check("mr-rereg-access-pd", mr_rereg)
# `make stress` registers 1 GiB (--only): about four minutes under the checkers.
check("mr-128mib-register-loop-unpins", lambda: mr_register_loop(128 << 20))
if args.only:
    check("mr-1gib-register-loop-unpins", lambda: mr_register_loop(1 << 30))
check("mw-type1-type2-alloc", mw_alloc)
check("qp-bad-caps", qp_bad_caps)
check("qp-rc-init-rtr-rts-sqd-err-reset", qp_rc_lifecycle)
check("qp-illegal-modify", qp_illegal_modify)
check("qp-out-of-range-values", qp_out_of_range_values)
check("qp-66-create-destroy", qp_many)
check("srq-bad-attrs", srq_bad_attrs)
check("srq-resize-keeps-posted-limit-qp", srq_resize_keeps_posted)
check("qp-err-flushes-recv-and-send", qp_err_flushes)
check("qp-err-flushes-beyond-a-batch", qp_err_flushes_beyond_a_batch)
check("qp-reset-drops-posted", qp_reset_drops_posted)
check("data-loopback-and-bad-keys-complete-in-error", data_loopback_and_bad_keys)
check("rnr-nak-then-delivered-after-recv-posted", rnr_retry_delivers)
check("cq-overrun-one-cq-err-event", cq_overrun)
check("cq-completion-event", cq_completion_event)
check("qp-srq-err-last-wqe-reached", qp_srq_last_wqe_reached)
check("qp-sqd-drained-event", qp_sqd_drained_event)
check("srq-limit-event-fires-and-disarms", srq_limit_event)
check("ring-garbage-recv-masked-flush", ring_garbage_recv)
check("ring-garbage-send-masked-flush", ring_garbage_send)
check("legacy-post-send-kernel-address-einval", legacy_post_send_kernel_address)
check("legacy-post-recv-refused", legacy_post_recv_refused)
check("qp-details-follow-the-transport", qp_details_follow_the_transport)
check("uverbs-query-qp-by-handle-and-number", uverbs_query_qp)
check("uverbs-malformed-calls-get-core-errnos", uverbs_malformed_calls)
check("uverbs-handle-of-another-context-refused", uverbs_handle_of_another_context)
check("uverbs-faults-shown-and-cleared", uverbs_faults_shown_and_cleared)
check("uverbs-counters-match-rdma-statistic", uverbs_counters_match_rdma_statistic)
check("rc-retry-exceeded-when-peer-is-gone", retry_exceeded_when_peer_is_gone)
check("reads-within-rd-atomic-limits", reads_within_rd_atomic_limits)
# `make stress` runs this one (--only): it keeps both CPUs busy for minutes.
if args.only:
    check("reads-in-flight-bounded-memory", reads_in_flight_bounded_memory)
check("dereg-stops-writes-in-progress", dereg_stops_writes_in_progress)
check("dereg-fails-read-in-progress", dereg_fails_read_in_progress)
check("odp-faults-and-invalidations", odp_faults_and_invalidations)
check("odp-prefetch-advice", odp_prefetch_advice)
ctx.close()
