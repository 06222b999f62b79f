#!/usr/bin/env python3
"""A reliable requester whose peer on another host is gone for good, over the wire.

    wire_retry.py LOCAL_DEV LOCAL_GID PEER_DEV PEER_GID

An RC queue pair on LOCAL_DEV (GID index LOCAL_GID) is connected to one on
PEER_DEV (GID index PEER_GID), a device on another network namespace's end of
the wire, and a send goes through and is received. Then the peer is destroyed:
its device drops what arrives for it, so nothing is acknowledged. Two sends
follow. With local ACK timeout 14 (4.096 us x 2^14, about 67 ms) and retry_cnt
7, the first must complete with IBV_WC_RETRY_EXC_ERR after the eight waits of
the requester (the first, and one after each of its seven resends), each at
least the timeout and at most four times it (the wait follows the round trip
of the first send and doubles with each timeout): no sooner than eight
timeouts, no later than twice the longest eight waits (32 timeouts) plus 0.5 s,
as a loaded debug guest runs each expiry late. The second is flushed, and the
queue pair is in the error state. Exits 0 if so.
"""
import sys
import time

import pyverbs.enums as e
from pyverbs.cq import CQ
from pyverbs.device import Context
from pyverbs.mr import MR
from pyverbs.pd import PD
from pyverbs.qp import QP, QPCap, QPInitAttr
from pyverbs.wr import SGE, RecvWR, SendWR
from wire_qp import connect

# retry_cnt is 7 (wire_qp.connect).
TIMEOUT_CODE, RETRY_CNT = 14, 7
TIMEOUT = 4.096e-6 * 2 ** TIMEOUT_CODE


class Side:
    def __init__(self, name, gid_index):
        self.ctx = Context(name=name)
        self.gid_index = gid_index
        self.gid = self.ctx.query_gid(1, gid_index)
        self.pd = PD(self.ctx)
        self.cq = CQ(self.ctx, 16)
        self.mr = MR(self.pd, 4096, e.IBV_ACCESS_LOCAL_WRITE)
        self.qp = QP(self.pd, QPInitAttr(qp_type=e.IBV_QPT_RC, scq=self.cq, rcq=self.cq,
                                         cap=QPCap(max_send_wr=8, max_recv_wr=8)))

    def connect(self, peer):
        connect(self.qp, self.gid_index, peer.gid, peer.qp.qp_num, e.IBV_ACCESS_LOCAL_WRITE,
                e.IBV_MTU_1024, 0x100, 1, TIMEOUT_CODE)

    def send(self, wr_id):
        self.qp.post_send(SendWR(wr_id=wr_id, opcode=e.IBV_WR_SEND, num_sge=1,
                                 sg=[SGE(self.mr.buf, 64, self.mr.lkey)],
                                 send_flags=e.IBV_SEND_SIGNALED))


def poll(cq, n, limit):
    """(wr_id, status) of up to n completions, and the seconds until the first."""
    got_all, first, start = [], None, time.monotonic()
    while len(got_all) < n and time.monotonic() - start < limit:
        got, wcs = cq.poll(n - len(got_all))
        if got and first is None:
            first = time.monotonic() - start
        got_all += [(w.wr_id, w.status) for w in wcs[:got]]
        if not got:
            time.sleep(0.002)
    return got_all, first


def main():
    local_dev, local_gid, peer_dev, peer_gid = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
        int(sys.argv[4])
    local, peer = Side(local_dev, local_gid), Side(peer_dev, peer_gid)
    local.connect(peer)
    peer.connect(local)
    peer.qp.post_recv(RecvWR(wr_id=10, num_sge=1, sg=[SGE(peer.mr.buf, 64, peer.mr.lkey)]))
    local.send(1)
    sent, _ = poll(local.cq, 1, 10)
    received, _ = poll(peer.cq, 1, 10)
    assert sent == [(1, e.IBV_WC_SUCCESS)] and received == [(10, e.IBV_WC_SUCCESS)], \
        f"first send: {sent}, received: {received}"
    peer.qp.close()
    start = time.monotonic()
    local.send(2)
    local.send(3)
    wcs, first = poll(local.cq, 2, 30)
    least = (RETRY_CNT + 1) * TIMEOUT
    most = 2 * 4 * least + 0.5
    print(f"{local_dev} to {peer_dev}, peer gone: completions {wcs} after "
          f"{first if first is None else round(first * 1e3)} ms "
          f"(at least {least * 1e3:.0f} ms, at most {most * 1e3:.0f} ms)")
    assert wcs == [(2, e.IBV_WC_RETRY_EXC_ERR), (3, e.IBV_WC_WR_FLUSH_ERR)], f"completions {wcs}"
    assert least <= first <= most, f"failed after {first * 1e3:.0f} ms"
    assert local.qp.query(e.IBV_QP_STATE)[0].qp_state == e.IBV_QPS_ERR, "QP not in ERR"
    assert time.monotonic() - start < 30


if __name__ == "__main__":
    main()
