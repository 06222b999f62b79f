# Loss and reordering on the RoCEv2 wire between two network namespaces
# (rrxe-wire.sh's stage "loss"): for each pairing of rrxe and rdma_rxe, netem
# on the veth at 1% and 10% loss and with reordering under a verified 64 MiB
# RC transfer each way, with rrxe's retransmit counter moving, and an rrxe
# requester whose peer is gone ending in IBV_WC_RETRY_EXC_ERR; and a link
# slower than the requester, which waits for room in its socket's send buffer
# rather than overflow the queue.
# timeout: 2400
WIRE_STAGE=loss
. /repo/qemu/scenarios/rrxe-wire.sh
