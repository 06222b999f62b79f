# SPDX-License-Identifier: GPL-2.0
#
# The project's targets. The module itself is described by Kbuild, which
# kbuild reads in-tree (drivers/infiniband/sw/rrxe, see `make series`) and
# out-of-tree:
#   make -C $KDIR M=$PWD LLVM=-19
# Without KDIR, `make` builds against the project's test kernel.

SHELL := /bin/bash
RRXE_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/rrxe
KDIR ?= $(RRXE_CACHE)/kernel/build-debug
# The pinned toolchain (rust-toolchain.toml), also inside the kernel tree.
export RUSTUP_TOOLCHAIN := $(shell sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
export PATH := $(HOME)/.cargo/bin:$(PATH)
# rrxe.ko is always compiled under clippy (one build serves both); a shared
# lock keeps a kernel rebuild from changing the tree under it.
KMAKE = flock -s $(RRXE_CACHE)/kernel.lock $(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=-19 CLIPPY=1

.PHONY: all modules modules_install install-built-module kernel guest setup clippy clippy-module \
	rustfmt rustfmtcheck tools tools-test demo check rejudge stress interop reference bench series in-tree clean

all: modules

setup:
	@qemu/setup-host.sh

kernel: setup
	@qemu/build-kernel.sh debug

guest: setup
	@qemu/build-guest.sh

modules: kernel
	@$(KMAKE) modules

# Into this checkout's copy of the test kernel's module tree (out/modules),
# which its guests mount: `rdma link add ... type rrxe` then loads rrxe
# through its alias.
modules_install: modules install-built-module
install-built-module:
	@qemu/install-module.sh

# Clippy over the kernel crate with the RDMA abstractions (compiled under
# clippy by the test kernel's build, whose diagnostics it reads) and over
# rrxe.ko, rebuilt from clean; any diagnostic fails it.
clippy: kernel clippy-module
	@qemu/rust-warnings.sh $(KDIR)/.rrxe-build.log
clippy-module: kernel
	@$(KMAKE) clean >/dev/null
	@$(KMAKE) modules 2>&1 | tee .clippy.log; \
	  [ $${PIPESTATUS[0]} = 0 ] && qemu/rust-warnings.sh .clippy.log >/dev/null

RUST_SOURCES = $(shell find src tests rust -name '*.rs' 2>/dev/null)
RUSTFMT_FLAGS = --edition 2021 --config-path $(RRXE_CACHE)/kernel/src/.rustfmt.toml

rustfmt: kernel
	@rustfmt $(RUSTFMT_FLAGS) $(RUST_SOURCES)

rustfmtcheck: kernel
	@rustfmt --check $(RUSTFMT_FLAGS) $(RUST_SOURCES)

# rrxectl, the command-line tool for rrxe's own uverbs methods, into this
# checkout's out/tools/bin (first on the guests' PATH); tools-test runs its
# unit tests, clippy and rustfmt on the host.
tools:
	@qemu/build-tools.sh
tools-test:
	@qemu/build-tools.sh --test

# Boot a guest and show rrxe's traffic: a validated pingpong and a
# bandwidth run on rrxe0, with rdma_rxe's figure from the same boot.
demo: modules_install guest
	@qemu/demo.sh

# Everything: host checks, KUnit, guest scenarios, pyverbs against its
# expectations, the runner's self-test.
check: setup
	@qemu/check.sh

# The last run's results judged again against the expectations as they are
# now, without running a test.
rejudge:
	@qemu/check.sh --rejudge

# The long loops over lifetimes: link cycles, rmmods with live devices,
# teardown under traffic.
stress: modules_install guest
	@qemu/stress.sh

# The wire between two namespaces in full: every tool, rrxe to rrxe and to
# and from rdma_rxe, over the IPv4 and the IPv6 GID, then loss and reordering;
# and between two guests over QEMU's link, rrxe to rrxe and to and from
# rdma_rxe; and the kernel's rdma selftest too long for `make check`.
interop: modules_install guest
	@rc=0; qemu/run.sh -n interop qemu/scenarios/rrxe-wire.sh qemu/scenarios/rrxe-wire-loss.sh \
	  qemu/scenarios/rrxe-selftests-long.sh || rc=1; \
	for d in rrxe:rrxe rrxe:rxe rxe:rrxe; do \
	  qemu/run.sh -n interop-two-$${d/:/-} -g 2 -a TWO_GUEST_DRIVERS=$$d qemu/scenarios/rrxe-two-guests.sh || rc=1; \
	done; exit $$rc

# rdma_rxe, the reference: its tools and the whole pyverbs suite; writes
# tests/pyverbs/rxe0-reference.tsv.
reference: modules_install guest
	@qemu/reference.sh

# rrxe against rdma_rxe in one boot of the bench kernel, with the ceilings
# of the same path: out/bench.md, out/bench.tsv, out/bench.svg. Not part of
# check; asserts no speed.
bench: setup
	@qemu/bench.sh

# The whole work as a patch series for Linux 7.3 (git am), in out/series.
series:
	@scripts/series.sh

# The series applied to a pristine 7.3 tree and built with rrxe built in and
# as a module, warning-free (its own tree in the cache; not part of check).
in-tree: setup series
	@scripts/in-tree.sh

clean:
	@if [ -d $(KDIR) ]; then $(KMAKE) clean; fi
	@rm -rf out
