# The kernel's rdma selftest rxe_netns_names against rrxe (names changed as
# in rrxe-selftests.sh): device names across network namespaces in the core's
# exclusive mode (the same name in two namespaces, a move refused on a name
# conflict, a move then a rename, a duplicate rename refused, a namespace's
# deletion returning its device renamed on a conflict). It starts some twenty
# processes per wait-loop pass, about 70 s a case on the debug guest, so
# `make interop` runs it rather than `make check`.
# timeout: 900
SELFTESTS=rxe_netns_names SELFTEST_LIMIT=780
. /repo/qemu/scenarios/rrxe-selftests.sh
