"""RC queue pairs connected across the wire, for wire_retry.py and wire_transfer.py."""
import pyverbs.enums as e
from pyverbs.addr import AHAttr, GlobalRoute
from pyverbs.qp import QPAttr

INIT = e.IBV_QP_STATE | e.IBV_QP_PKEY_INDEX | e.IBV_QP_PORT | e.IBV_QP_ACCESS_FLAGS
RTR = (e.IBV_QP_STATE | e.IBV_QP_AV | e.IBV_QP_PATH_MTU | e.IBV_QP_DEST_QPN |
       e.IBV_QP_RQ_PSN | e.IBV_QP_MAX_DEST_RD_ATOMIC | e.IBV_QP_MIN_RNR_TIMER)
RTS = (e.IBV_QP_STATE | e.IBV_QP_SQ_PSN | e.IBV_QP_TIMEOUT | e.IBV_QP_RETRY_CNT |
       e.IBV_QP_RNR_RETRY | e.IBV_QP_MAX_QP_RD_ATOMIC)


def connect(qp, sgid_index, dgid, dest_qpn, access, path_mtu, psn, rd_atomic, timeout):
    """Takes `qp` through INIT and RTR to RTS, connected to queue pair `dest_qpn` at GID
    `dgid` from the local GID `sgid_index`, with both PSNs `psn`, `rd_atomic` reads and
    atomics each way, local ACK timeout code `timeout`, retry_cnt 7 and rnr_retry 7."""
    qa = QPAttr(port_num=1)
    qa.pkey_index = 0
    qa.qp_access_flags = access
    gr = GlobalRoute(dgid=dgid, sgid_index=sgid_index, hop_limit=64)
    qa.ah_attr = AHAttr(gr=gr, is_global=1, port_num=1)
    qa.path_mtu = path_mtu
    qa.dest_qp_num = dest_qpn
    qa.rq_psn = qa.sq_psn = psn
    qa.max_dest_rd_atomic = qa.max_rd_atomic = rd_atomic
    qa.min_rnr_timer = 12
    qa.timeout = timeout
    qa.retry_cnt = 7
    qa.rnr_retry = 7
    for state, mask in ((e.IBV_QPS_INIT, INIT), (e.IBV_QPS_RTR, RTR), (e.IBV_QPS_RTS, RTS)):
        qa.qp_state = state
        qp.modify(qa, mask)
