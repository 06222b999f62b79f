#!/usr/bin/env python3
"""Verbs checks beyond pyverbs' own suites: sizes, limits and malformed calls,
each expected to succeed or fail with a given errno, on one device.

    verbs_check.py --dev DEV --gid N [--prefix NAME] [--reference]

Prints `PASS NAME-check`, `FAIL NAME-check: detail` or `SKIP NAME-check:
reason` per check. --reference marks the C rdma_rxe, which does not
validate some QP attribute values: the checks of those skip for it.
"""
import argparse
import ctypes
import errno
import os
import struct
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
from pyverbs.wr import SGE, RecvWR
from pyverbs.pyverbs_error import PyverbsRDMAError

parser = argparse.ArgumentParser()
parser.add_argument("--dev", required=True)
parser.add_argument("--gid", type=int, required=True, help="a RoCE v2 GID index")
parser.add_argument("--prefix", default="verbs")
parser.add_argument("--reference", action="store_true")
args = parser.parse_args()
ctx = Context(name=args.dev)
attr = ctx.query_device()


class Skip(Exception):
    pass


def check(name, fn):
    try:
        fn()
        print(f"PASS {args.prefix}-{name}")
    except Skip as ex:
        print(f"SKIP {args.prefix}-{name}: {ex}")
    except Exception as ex:  # noqa: BLE001 - every failure is reported
        detail = " ".join(traceback.format_exception_only(ex)[-1].split())
        print(f"FAIL {args.prefix}-{name}: {detail}")


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
        # Zero-based regions are not offered.
        expect_errno(errno.EOPNOTSUPP, MR, pd, 4096, LW | e.IBV_ACCESS_ZERO_BASED)
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


def mr_1gib_loop():
    """The process's pinned memory (VmPin) is exact; the system's pin counters
    also move with 9p's short-lived pins, hence their small tolerance."""
    gib, noise = 1 << 30, 256
    start_sys, start_vm = vm_pinned()
    with PD(ctx) as pd:
        for i in range(3):
            mr = MR(pd, gib, LW)
            pinned, vmpin = vm_pinned()
            assert vmpin - start_vm == gib // 1024, f"round {i}: VmPin {vmpin} kB, at start {start_vm}"
            assert pinned - start_sys >= gib // 4096 - noise, f"round {i}: {pinned - start_sys} pages pinned"
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


check("cq-sizes", cq_sizes)
check("cq-bad-sizes-einval", cq_bad_sizes)
check("cq-resize", cq_resize)
check("cq-req-notify", cq_notify)
check("cq-256-create-destroy", cq_many)
check("mr-keys-distinct-and-rotated", mr_keys)
check("mr-bad-access", mr_bad_access)
check("mr-zero-wrapping-unmapped-ranges", mr_bad_ranges)
check("mr-rereg-access-pd", mr_rereg)
check("mr-1gib-register-loop-unpins", mr_1gib_loop)
check("mw-type1-type2-alloc", mw_alloc)
check("qp-bad-caps", qp_bad_caps)
check("qp-rc-init-rtr-rts-sqd-err-reset", qp_rc_lifecycle)
check("qp-illegal-modify", qp_illegal_modify)
check("qp-out-of-range-values", qp_out_of_range_values)
check("qp-66-create-destroy", qp_many)
check("srq-bad-attrs", srq_bad_attrs)
check("srq-resize-keeps-posted-limit-qp", srq_resize_keeps_posted)
ctx.close()
