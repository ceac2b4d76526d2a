# SPDX-License-Identifier: GPL-2.0
#
# snapblk: `make` builds driver/snapblk.ko and tools/snapblkctl.
#   make KVER=6.1 | KVER=6.12 | KVER=<release>   build against those headers
#   make KDIR=<path>                             build against a kernel tree
#   make demo | check | bench | lint | setup | clean
# Module objects live in build/<release>/ so that both kernels can be
# built side by side; the module of the last plain `make` is copied to
# driver/snapblk.ko.

KVER ?=
ifeq ($(KDIR),)
KREL := $(shell scripts/kver $(KVER))
KDIR := /lib/modules/$(KREL)/build
else
KREL := $(shell basename $(KDIR))
endif
BUILD := build/$(KREL)

SRCS := Kbuild $(wildcard driver/*.c driver/*.h uapi/linux/*.h)
CFLAGS_TOOL ?= -O2 -g -Wall -Wextra -Wshadow -Wformat=2 -Wno-unused-parameter

.PHONY: all module tools demo check bench lint setup clean

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

demo:
	scripts/demo

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
