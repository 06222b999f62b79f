#!/usr/bin/env python3
"""Atomic writes and flushes across the wire (IBTA Memory Placement Extensions).

    wire_placement.py LOCAL_DEV LOCAL_GID PEER_DEV PEER_GID [atomic-write]

An RC queue pair on LOCAL_DEV (GID index LOCAL_GID), created with the atomic write and
flush operations, is connected to one on PEER_DEV (GID index PEER_GID) on the other
network namespace's end of the wire; the peer's region grants remote writes and flushes to
global visibility. The local side:
- writes eight bytes at once at three aligned places of the peer's region, and each is
  found there, the bytes around it untouched;
- flushes a range and then the whole region to global visibility: both succeed;
- flushes to persistence, which the region does not grant: IBV_WC_REM_ACCESS_ERR (last, as
  it ends the connection).
With `atomic-write`, only the atomic writes: rdma_rxe computes the ICRC of a FLUSH packet
over its headers twice (its opcode table gives FLUSH no payload offset), so its flushes and
those of a device that follows IBTA are dropped by the other as corrupt.
Each request completes in order, within 30 s. Exits 0 if all held.
"""
import sys
import time

import pyverbs.enums as e
from pyverbs.cq import CQ
from pyverbs.device import Context
from pyverbs.mr import MR
from pyverbs.pd import PD
from pyverbs.qp import QP, QPCap, QPEx, QPInitAttr, QPInitAttrEx
from wire_qp import connect

SIZE = 4096
QP_ACCESS = (e.IBV_ACCESS_REMOTE_WRITE | e.IBV_ACCESS_FLUSH_GLOBAL |
             e.IBV_ACCESS_FLUSH_PERSISTENT)
MR_ACCESS = e.IBV_ACCESS_LOCAL_WRITE | e.IBV_ACCESS_REMOTE_WRITE | e.IBV_ACCESS_FLUSH_GLOBAL


class Side:
    def __init__(self, name, gid_index, requester):
        self.ctx = Context(name=name)
        self.gid_index = gid_index
        self.gid = self.ctx.query_gid(1, gid_index)
        self.pd = PD(self.ctx)
        self.cq = CQ(self.ctx, 8)
        self.mr = MR(self.pd, SIZE, MR_ACCESS)
        cap = QPCap(max_send_wr=8, max_recv_wr=1, max_send_sge=1, max_recv_sge=1)
        if requester:
            ops = e.IBV_QP_EX_WITH_ATOMIC_WRITE | e.IBV_QP_EX_WITH_FLUSH
            attr = QPInitAttrEx(cap=cap, qp_type=e.IBV_QPT_RC, scq=self.cq, rcq=self.cq,
                                pd=self.pd, send_ops_flags=ops,
                                comp_mask=e.IBV_QP_INIT_ATTR_PD |
                                e.IBV_QP_INIT_ATTR_SEND_OPS_FLAGS)
            self.qp = QPEx(self.ctx, attr)
        else:
            self.qp = QP(self.pd, QPInitAttr(qp_type=e.IBV_QPT_RC, scq=self.cq, rcq=self.cq,
                                             cap=cap))

    def connect(self, peer):
        connect(self.qp, self.gid_index, peer.gid, peer.qp.qp_num, QP_ACCESS, e.IBV_MTU_1024,
                0x100, 4, 14)


def completes(side, wr_id, status):
    """Waits for the completion of request `wr_id`, which must have `status`."""
    end = time.monotonic() + 30
    while time.monotonic() < end:
        got, wcs = side.cq.poll(1)
        if got:
            wc = wcs[0]
            assert wc.wr_id == wr_id, f"request {wc.wr_id} completed in place of {wr_id}"
            assert wc.status == status, \
                f"request {wr_id} completed with status {wc.status}, not {status}"
            return
        time.sleep(0.001)
    raise AssertionError(f"request {wr_id} did not complete within 30 s")


def atomic_write(local, peer, wr_id, offset, value):
    local.qp.wr_start()
    local.qp.wr_id = wr_id
    local.qp.wr_flags = e.IBV_SEND_SIGNALED
    local.qp.wr_atomic_write(peer.mr.rkey, peer.mr.buf + offset, value)
    local.qp.wr_complete()
    completes(local, wr_id, e.IBV_WC_SUCCESS)


def flush(local, peer, wr_id, length, placement, level, status):
    local.qp.wr_start()
    local.qp.wr_id = wr_id
    local.qp.wr_flags = e.IBV_SEND_SIGNALED
    local.qp.wr_flush(peer.mr.rkey, peer.mr.buf, length, placement, level)
    local.qp.wr_complete()
    completes(local, wr_id, status)


def main():
    local = Side(sys.argv[1], int(sys.argv[2]), True)
    peer = Side(sys.argv[3], int(sys.argv[4]), False)
    local.connect(peer)
    peer.connect(local)
    background = bytes(range(256)) * (SIZE // 256)
    peer.mr.write(background, SIZE, 0)
    expected = bytearray(background)
    for wr_id, offset in enumerate((0, 8, SIZE - 8), start=1):
        value = bytes([0xa0 + wr_id] * 4 + [wr_id] * 4)
        atomic_write(local, peer, wr_id, offset, value)
        expected[offset:offset + 8] = value
        assert peer.mr.read(SIZE, 0) == bytes(expected), \
            f"the peer's region differs after the atomic write at {offset}"
    print("3 atomic writes landed, the bytes around them untouched")
    if sys.argv[5:] == ["atomic-write"]:
        return
    flush(local, peer, 10, 64, e.IBV_FLUSH_GLOBAL, e.IBV_FLUSH_RANGE, e.IBV_WC_SUCCESS)
    flush(local, peer, 11, 0, e.IBV_FLUSH_GLOBAL, e.IBV_FLUSH_MR, e.IBV_WC_SUCCESS)
    print("flushes of a range and of the region to global visibility completed")
    flush(local, peer, 12, 64, e.IBV_FLUSH_PERSISTENT, e.IBV_FLUSH_RANGE,
          e.IBV_WC_REM_ACCESS_ERR)
    print("a flush to persistence the region does not grant: remote access error")


if __name__ == "__main__":
    main()
