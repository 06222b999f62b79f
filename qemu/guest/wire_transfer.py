#!/usr/bin/env python3
"""A verified RC transfer across the wire, for loss and reordering tests.

    wire_transfer.py LOCAL_DEV LOCAL_GID PEER_DEV PEER_GID [MIB [BETWEEN]]

An RC queue pair on LOCAL_DEV (GID index LOCAL_GID) is connected to one on
PEER_DEV (GID index PEER_GID) on the other network namespace's end of the
wire. MIB mebibytes (64 by default) of random bytes are written from the
local device into the peer's memory with RDMA writes of 64 KiB, 16 in flight,
then read back with RDMA reads of 64 KiB, 16 in flight, into a second local
buffer: the requests of the writes and the read responses cross the wire in
opposite directions. Every request must complete successfully, in order, and
the bytes read back, and those in the peer's memory, must equal those
written. Local ACK timeout 18 (about 1 s, as the RDMA CM sets for RoCE),
retry_cnt 7, path MTU 4096. BETWEEN, if given, is a shell command run between
the writes and the reads, on the same queue pairs; it must succeed. Prints its
progress and how long each phase took. Exits 0 if all held.

The environment's WIRE_TRANSFER_CONNECTED and WIRE_TRANSFER_DONE, if set, are
shell commands run once the queue pairs are connected and once the transfer
is over (before they are destroyed), with LOCAL_QPN and PEER_QPN set to the
queue pairs' numbers; each must succeed.
"""
import os
import subprocess
import sys
import time

import pyverbs.enums as e
from pyverbs.cq import CQ
from pyverbs.device import Context
from pyverbs.mr import MR
from pyverbs.pd import PD
from pyverbs.qp import QP, QPCap, QPInitAttr
from pyverbs.wr import SGE, SendWR
from wire_qp import connect

CHUNK, DEPTH = 64 << 10, 16
START = time.monotonic()
ACCESS = e.IBV_ACCESS_LOCAL_WRITE | e.IBV_ACCESS_REMOTE_WRITE | e.IBV_ACCESS_REMOTE_READ


class Side:
    def __init__(self, name, gid_index, size, buffers):
        self.ctx = Context(name=name)
        self.gid_index = gid_index
        self.gid = self.ctx.query_gid(1, gid_index)
        self.pd = PD(self.ctx)
        self.cq = CQ(self.ctx, 2 * DEPTH)
        self.mrs = [MR(self.pd, size, ACCESS) for _ in range(buffers)]
        self.qp = QP(self.pd, QPInitAttr(qp_type=e.IBV_QPT_RC, scq=self.cq, rcq=self.cq,
                                         cap=QPCap(max_send_wr=DEPTH, max_recv_wr=1)))

    def connect(self, peer):
        # PSNs across the wrap; timeout 18 is about 1 s.
        connect(self.qp, self.gid_index, peer.gid, peer.qp.qp_num, ACCESS, e.IBV_MTU_4096,
                0xfff000, DEPTH, 18)


def run(side, opcode, local_mr, remote_mr, size):
    """Posts `opcode` requests of CHUNK bytes over [0, size), DEPTH in flight, each
    between local_mr and remote_mr at the same offset; all must succeed."""
    posted = done = 0
    chunks = size // CHUNK
    last_progress = time.monotonic()
    while done < chunks:
        while posted < chunks and posted - done < DEPTH:
            off = posted * CHUNK
            wr = SendWR(wr_id=posted, opcode=opcode, num_sge=1,
                        sg=[SGE(local_mr.buf + off, CHUNK, local_mr.lkey)],
                        send_flags=e.IBV_SEND_SIGNALED)
            wr.set_wr_rdma(remote_mr.rkey, remote_mr.buf + off)
            side.qp.post_send(wr)
            posted += 1
        got, wcs = side.cq.poll(DEPTH)
        for wc in wcs[:got]:
            assert wc.status == e.IBV_WC_SUCCESS, \
                f"request {wc.wr_id} completed with status {wc.status}"
            assert wc.wr_id == done, f"request {wc.wr_id} completed in place of {done}"
            done += 1
        if got:
            last_progress = time.monotonic()
            if done % 64 == 0 or done == chunks:
                print(f"{done * CHUNK >> 20} MiB at {last_progress - START:.1f} s", flush=True)
        else:
            # A requester makes progress or fails its request within its retries.
            assert time.monotonic() - last_progress < 60, f"no completion for 60 s at {done}"
            time.sleep(0.001)


def main():
    local_dev, local_gid, peer_dev, peer_gid = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
        int(sys.argv[4])
    size = (int(sys.argv[5]) if len(sys.argv) > 5 else 64) << 20
    local = Side(local_dev, local_gid, size, 2)
    peer = Side(peer_dev, peer_gid, size, 1)
    local.connect(peer)
    peer.connect(local)
    hook_env = dict(os.environ, LOCAL_QPN=str(local.qp.qp_num), PEER_QPN=str(peer.qp.qp_num))
    if os.environ.get("WIRE_TRANSFER_CONNECTED"):
        subprocess.run(os.environ["WIRE_TRANSFER_CONNECTED"], shell=True, check=True, env=hook_env)
    source, back = local.mrs
    data = os.urandom(size)
    source.write(data, size, 0)
    start = time.monotonic()
    run(local, e.IBV_WR_RDMA_WRITE, source, peer.mrs[0], size)
    wrote = time.monotonic()
    if len(sys.argv) > 6:
        subprocess.run(sys.argv[6], shell=True, check=True)
        wrote = time.monotonic()
    run(local, e.IBV_WR_RDMA_READ, back, peer.mrs[0], size)
    read = time.monotonic()
    assert peer.mrs[0].read(size, 0) == data, "the peer's memory differs from what was written"
    assert back.read(size, 0) == data, "the bytes read back differ from those written"
    if os.environ.get("WIRE_TRANSFER_DONE"):
        subprocess.run(os.environ["WIRE_TRANSFER_DONE"], shell=True, check=True, env=hook_env)
    mib = size >> 20
    print(f"{local_dev} to {peer_dev}: {mib} MiB written in {wrote - start:.1f} s, "
          f"read back in {read - wrote:.1f} s, equal")


if __name__ == "__main__":
    main()
