# Load rrxe.ko and run its KUnit suites, reporting each case. Guests boot
# with kunit.autorun=0, so the suites run here, one at a time through their
# debugfs `run` files, and not at every load of the module.
# timeout: 600
. /repo/qemu/guest/lib.sh
check kunit-insmod insmod /repo/rrxe.ko || exit 0
suites=(/sys/kernel/debug/kunit/rrxe_*)
if [ ! -e "${suites[0]}" ]; then
	fail kunit "rrxe.ko loaded but registered no rrxe_* KUnit suite"
else
	mkdir -p /host/kunit
	for s in "${suites[@]}"; do
		# The write returns once the suite has run.
		echo run >"$s/run" || fail "kunit:${s##*/}" "could not run the suite"
		cat "$s/results" >"/host/kunit/${s##*/}.ktap"
	done
	python3 /repo/qemu/guest/ktap.py /host/kunit/*.ktap >>"$RESULTS" ||
		fail kunit "no KTAP suite result"
fi
check kunit-rmmod rmmod rrxe
