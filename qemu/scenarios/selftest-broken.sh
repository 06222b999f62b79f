# Deliberately broken: the runner must report this scenario's failures.
# Used only by the runner self-test, which expects exactly these to fail.
. /repo/qemu/guest/lib.sh
check selftest-true true
# A kernel WARN, provoked through LKDTM, must fail the run from the log.
modprobe lkdtm && echo WARNING >/sys/kernel/debug/provoke-crash/DIRECT
# And a scenario that exits non-zero must be reported.
exit 3
