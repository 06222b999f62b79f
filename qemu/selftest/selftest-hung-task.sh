# Deliberately broken: a task stuck in the kernel (LKDTM's HUNG_TASK sleeps
# uninterruptibly for ever). The hung-task detector, made quick here, panics
# the guest, which ends the run at once instead of at its time limit.
# timeout: 300
. /repo/qemu/guest/lib.sh
check selftest-hung-task-armed sh -c 'echo 5 >/proc/sys/kernel/hung_task_timeout_secs'
modprobe lkdtm
echo HUNG_TASK >/sys/kernel/debug/provoke-crash/DIRECT
