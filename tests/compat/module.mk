# SPDX-License-Identifier: LGPL-2.1-or-later
# Real programs under the compat shim: Debian's coreutils, bash, python3,
# gnutls, iproute2, QEMU and DPDK, natively and through the shim, compared
# (tests/compat/real-programs.sh). The few programs built here cover what no
# installed program does: a static-PIE binary, dlopen() of libraries with
# constructors, and many threads forking while they open and close fds.
REAL_DIR := $(O)/tests/compat/real

$(REAL_DIR)/threads: tests/compat/real/threads.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -pthread -o $@ $<

# The same program built with ASan: its runtime must come first in LD_PRELOAD.
$(REAL_DIR)/threads-asan: tests/compat/real/threads.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -fsanitize=address -fno-omit-frame-pointer $(LDFLAGS) -pthread \
		-o $@ $<

$(REAL_DIR)/dlopen_libs: tests/compat/real/dlopen_libs.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< -ldl

# No sanitizer flags: static linking and the ASan runtime do not mix, and
# the point is a binary the dynamic loader (and so LD_PRELOAD) never sees.
$(REAL_DIR)/static_pie: tests/compat/real/static_pie.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -D_GNU_SOURCE -static-pie -o $@ $<

PROGS += $(REAL_DIR)/threads $(REAL_DIR)/threads-asan $(REAL_DIR)/dlopen_libs \
	$(REAL_DIR)/static_pie
COMPAT_CHECKS += tests/compat/real-programs.sh

# The differential storm: a fixed random MAP_DMA/UNMAP_DMA sequence whose
# transcript differential.sh compares (built by compat/module.mk's rule).
$(O)/tests/compat/legacy_storm: tests/compat/legacy.h
PROGS += $(O)/tests/compat/legacy_storm
