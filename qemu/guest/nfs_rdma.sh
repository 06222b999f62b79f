#!/bin/sh
# NFS over RDMA between the wire's two namespaces (rrxe-wire.sh, stage "tools").
#
#   nfs_rdma.sh server-start EXPORT   in the server's namespace: an NFSv4 server exporting
#                                     EXPORT (a directory of the initial mount namespace,
#                                     where the server's threads look paths up), with an
#                                     RPC-over-RDMA listener on port 20049; its state
#                                     directory /var/lib/nfs must be writable
#   nfs_rdma.sh server-stop           in the server's namespace: its threads, exports and
#                                     daemons stopped
#   nfs_rdma.sh client SERVER DATA    in the client's namespace: mounts SERVER's export
#                                     over RDMA, writes DATA's bytes to a file, unmounts,
#                                     mounts again and reads the file back, compared
#
# `ip netns exec` runs each in a mount namespace of its own, so each mounts what it needs
# (the nfsd file system, the export) itself; the daemons it starts keep its namespaces.
set -eu

case $1 in
server-start)
	modprobe nfsd
	modprobe rpcrdma
	mount -t nfsd nfsd /proc/fs/nfsd
	# No client is known to reclaim state: a short grace period (before the threads start).
	echo 10 >/proc/fs/nfsd/nfsv4leasetime
	echo 10 >/proc/fs/nfsd/nfsv4gracetime
	mkdir -p /run/rpcbind
	rpcbind -w
	exportfs -o rw,no_root_squash,insecure,sync,fsid=0 "*:$2"
	rpc.mountd -N 3
	rpc.nfsd -N 3 --rdma=20049 2
	echo "listeners:"
	cat /proc/fs/nfsd/portlist
	grep -q '^rdma 20049$' /proc/fs/nfsd/portlist
	;;
server-stop)
	mount -t nfsd nfsd /proc/fs/nfsd
	rpc.nfsd 0
	exportfs -au
	# The daemons hold the mount namespace they were started in, and with it the nfsd
	# file system (and its module): stopped, and waited for, up to 10 s.
	pkill -x rpc.mountd || true
	pkill -x rpcbind || true
	i=0
	while pgrep -x rpc.mountd || pgrep -x rpcbind; do
		[ $i -lt 100 ] || { echo "the daemons did not exit"; exit 1; }
		i=$((i + 1))
		sleep 0.1
	done
	echo "threads: $(cat /proc/fs/nfsd/threads)"
	[ "$(cat /proc/fs/nfsd/threads)" = 0 ]
	umount /proc/fs/nfsd
	;;
client)
	modprobe nfsv4
	modprobe rpcrdma
	mkdir -p /tmp/nfs-client
	options=proto=rdma,port=20049,vers=4.1
	mount -t nfs4 -o $options "$2:/" /tmp/nfs-client
	grep ' /tmp/nfs-client ' /proc/mounts
	grep -q ' /tmp/nfs-client nfs4 .*proto=rdma' /proc/mounts
	cp "$3" /tmp/nfs-client/file
	umount /tmp/nfs-client
	# Read back through a new mount: nothing of the file is cached on this side.
	mount -t nfs4 -o $options "$2:/" /tmp/nfs-client
	cmp "$3" /tmp/nfs-client/file
	echo "read back equal over a new mount"
	umount /tmp/nfs-client
	rmdir /tmp/nfs-client
	;;
*)
	echo "usage: nfs_rdma.sh server-start EXPORT | server-stop | client SERVER DATA" >&2
	exit 2
	;;
esac
