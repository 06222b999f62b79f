# Deliberately broken: the runner must report each of these faults. Used only
# by the runner self-test, which expects exactly them.
# timeout: 120
. /repo/qemu/guest/lib.sh
check selftest-true true
# A kernel WARN and a KASAN use-after-free report (a read, which corrupts
# nothing), provoked through LKDTM,
# must each fail the run from the kernel log.
modprobe lkdtm
echo WARNING >/sys/kernel/debug/provoke-crash/DIRECT
echo READ_AFTER_FREE >/sys/kernel/debug/provoke-crash/DIRECT
# A module that leaks on load: the final kmemleak scan must fail the run.
modprobe kmemleak-test
# And a scenario that exits non-zero must be reported.
exit 3
