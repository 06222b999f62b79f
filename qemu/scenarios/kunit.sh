# Load rrxe.ko, whose KUnit suites run at load time, and report each case.
# timeout: 300
. /repo/qemu/guest/lib.sh
check kunit-insmod insmod /repo/rrxe.ko || exit 0
suites=(/sys/kernel/debug/kunit/rrxe_*)
if [ ! -e "${suites[0]}" ]; then
	fail kunit "rrxe.ko loaded but registered no rrxe_* KUnit suite"
else
	mkdir -p /host/kunit
	for s in "${suites[@]}"; do cat "$s/results" >"/host/kunit/${s##*/}.ktap"; done
	python3 /repo/qemu/guest/ktap.py /host/kunit/*.ktap >>"$RESULTS" ||
		fail kunit "no KTAP suite result"
fi
check kunit-rmmod rmmod rrxe
