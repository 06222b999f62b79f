# SPDX-License-Identifier: GPL-2.0
#
# rrxe builds in-tree (drivers/infiniband/sw/rrxe) and out-of-tree:
#   make -C $KDIR M=$PWD LLVM=-19
# Without KDIR, `make` builds against the project's test kernel.

ifneq ($(KERNELRELEASE),)

CONFIG_RDMA_RRXE ?= m
obj-$(CONFIG_RDMA_RRXE) += rrxe.o
rrxe-y := src/rrxe.o

else

RRXE_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/rrxe
KDIR ?= $(RRXE_CACHE)/kernel/build-debug
KMAKE = $(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=-19

.PHONY: all modules modules_install kernel guest setup clippy rustfmt rustfmtcheck demo check clean

all: modules

setup:
	@qemu/setup-host.sh

kernel: setup
	@qemu/build-kernel.sh debug

guest: setup
	@qemu/build-guest.sh

modules: kernel
	@$(KMAKE) modules

# Into the test kernel's module tree, which guests mount: `rdma link add ...
# type rrxe` then loads rrxe through its alias.
modules_install: modules
	@$(KMAKE) INSTALL_MOD_PATH=$(RRXE_CACHE)/kernel/modules-debug modules_install >/dev/null

# The kernel crate with the RDMA abstractions, then the module, under clippy;
# any compiler or clippy warning fails it. The kernel crate is rebuilt
# normally afterwards, so the test kernel is the one kbuild would build.
KERNEL_MAKE = $(MAKE) -s -C $(KDIR) LLVM=-19 -j$(shell nproc)
clippy: kernel
	@log=$$($(KERNEL_MAKE) CLIPPY=1 rust/kernel.o 2>&1); rc=$$?; echo "$$log"; \
	  $(KERNEL_MAKE) >/dev/null || exit 1; \
	  [ $$rc = 0 ] && ! echo "$$log" | grep -q '^warning'
	@$(KMAKE) clean
	@log=$$($(KMAKE) CLIPPY=1 modules 2>&1); rc=$$?; echo "$$log"; \
	  [ $$rc = 0 ] && ! echo "$$log" | grep -q '^warning'

RUST_SOURCES = $(shell find src tests rust -name '*.rs' 2>/dev/null)
RUSTFMT_FLAGS = --edition 2021 --config-path $(RRXE_CACHE)/kernel/src/.rustfmt.toml

rustfmt: kernel
	@rustfmt $(RUSTFMT_FLAGS) $(RUST_SOURCES)

rustfmtcheck: kernel
	@rustfmt --check $(RUSTFMT_FLAGS) $(RUST_SOURCES)

# Boot a guest, create a soft-RoCE device and run a pingpong over it.
demo: modules_install guest
	@qemu/demo.sh

# Everything: host checks, KUnit, guest scenarios, the runner's self-test.
check: setup
	@qemu/check.sh

clean:
	@if [ -d $(KDIR) ]; then $(KMAKE) clean; fi
	@rm -rf out

endif
