# SPDX-License-Identifier: GPL-2.0
#
# snapblk: `make` builds driver/snapblk.ko and tools/snapblkctl.
#   make KVER=6.1 | KVER=6.12 | KVER=<release>   build against those headers
#   make KDIR=<path>                             build against a kernel tree
#   make KVER=<release> KDIR=<path>              both: the tree of that release
#                                                (what dkms.conf uses)
#   make install | uninstall     the module for the kernel selected as above
#       (in /lib/modules/<release>/updates/, then depmod), snapblkctl in
#       $(PREFIX)/sbin, snapblkctl(8), the udev rule, bash completion.
#       Honours DESTDIR, PREFIX (default /usr/local) and UDEVRULESDIR
#       (default /lib/udev/rules.d); under DESTDIR, depmod -b runs only when
#       DESTDIR/lib/modules/<release> already has modules.* indexes.
#       install-module, install-tools (and uninstall-*) do one half each.
#   make deb                     build/deb/snapblk-dkms_<version>_all.deb and
#                                build/deb/snapblkctl_<version>_<arch>.deb
#   make demo | vm-shell | check | bench | lint | setup | clean
# Module objects live in build/<release>/ so that both kernels can be
# built side by side; the module of the last plain `make` is copied to
# driver/snapblk.ko.

KVER ?=
ifeq ($(KDIR),)
KREL := $(shell scripts/kver $(KVER) 2>/dev/null)
KDIR := /lib/modules/$(KREL)/build
else ifneq ($(KVER),)
# Both given (dkms: KVER=${kernelver} KDIR=${kernel_source_dir}): KVER
# names the release, KDIR holds its headers wherever they are.
KREL := $(KVER)
else
KREL := $(shell basename $(KDIR))
endif
BUILD := build/$(KREL)

SRCS := Kbuild $(wildcard driver/*.c driver/*.h uapi/linux/*.h)
CFLAGS_TOOL ?= -O2 -g -Wall -Wextra -Wshadow -Wformat=2 -Wno-unused-parameter

# Installation
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
UDEVRULESDIR ?= /lib/udev/rules.d
MODDIR = /lib/modules/$(KREL)/updates
DEPMOD ?= /sbin/depmod
INSTALL ?= install

.PHONY: all module tools install uninstall install-module uninstall-module \
	install-tools uninstall-tools deb demo vm-shell check bench lint setup clean

all: module tools
	cp $(BUILD)/driver/snapblk.ko driver/snapblk.ko

module: $(BUILD)/driver/snapblk.ko

$(BUILD)/driver/snapblk.ko: $(SRCS)
	@test -n "$(KREL)" || { echo "no kernel headers: run 'make setup'" >&2; exit 1; }
	@mkdir -p $(BUILD)/driver $(BUILD)/uapi/linux
	@for f in $(SRCS); do ln -sfn $(CURDIR)/$$f $(BUILD)/$$f; done
	$(MAKE) -C $(KDIR) M=$(CURDIR)/$(BUILD) W=1 modules

tools: tools/snapblkctl

tools/snapblkctl: $(wildcard tools/*.c tools/*.h) uapi/linux/snapblk.h
	$(CC) $(CFLAGS_TOOL) -Iuapi -o $@ $(filter %.c,$^)

install: install-module install-tools

uninstall: uninstall-module uninstall-tools

# depmod for $(KREL) where the module went, if that module tree has
# indexes to update: the running system (no DESTDIR) or an image root,
# not a bare staging directory.
# (The command is shown unless make -s.)
silent := $(findstring s,$(firstword -$(MAKEFLAGS)))
define depmod
	@if ls $(DESTDIR)/lib/modules/$(KREL)/modules.* >/dev/null 2>&1; then \
		$(if $(silent),,echo "$(DEPMOD) $(if $(DESTDIR),-b $(DESTDIR) )$(KREL)";) \
		$(DEPMOD) $(if $(DESTDIR),-b $(DESTDIR)) $(KREL); \
	fi
endef

install-module: module
	$(INSTALL) -D -m 0644 $(BUILD)/driver/snapblk.ko $(DESTDIR)$(MODDIR)/snapblk.ko
	$(depmod)

uninstall-module:
	@test -n "$(KREL)" || { echo "no kernel release: give KVER=<release>" >&2; exit 1; }
	rm -f $(DESTDIR)$(MODDIR)/snapblk.ko
	$(depmod)

install-tools: tools
	$(INSTALL) -D -m 0755 tools/snapblkctl $(DESTDIR)$(SBINDIR)/snapblkctl
	$(INSTALL) -D -m 0644 docs/snapblkctl.8 $(DESTDIR)$(MANDIR)/man8/snapblkctl.8
	$(INSTALL) -D -m 0644 udev/60-snapblk.rules $(DESTDIR)$(UDEVRULESDIR)/60-snapblk.rules
	$(INSTALL) -D -m 0644 tools/snapblkctl.bash-completion $(DESTDIR)$(BASHCOMPDIR)/snapblkctl

uninstall-tools:
	rm -f $(DESTDIR)$(SBINDIR)/snapblkctl \
		$(DESTDIR)$(MANDIR)/man8/snapblkctl.8 \
		$(DESTDIR)$(UDEVRULESDIR)/60-snapblk.rules \
		$(DESTDIR)$(BASHCOMPDIR)/snapblkctl

deb: tools
	packaging/mkdeb

demo:
	scripts/demo

# an interactive shell in the VM with the module loaded (KERNEL=6.1 too)
vm-shell:
	scripts/setup
	scripts/vm-run --kernel $${KERNEL:-6.12} --interactive -- scripts/lib/vm-shell-guest

check:
	scripts/check

bench:
	scripts/bench
	scripts/bench-merge

lint:
	scripts/lint

setup:
	scripts/setup

clean:
	rm -rf build driver/snapblk.ko tools/snapblkctl
	$(MAKE) -C selftests clean 2>/dev/null || true
