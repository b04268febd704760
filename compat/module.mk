# SPDX-License-Identifier: LGPL-2.1-or-later
# compat: the LD_PRELOAD shim that runs legacy VFIO type1 programs on iommufd.
# libiommufd is linked in (its PIC objects), so only the interposed libc
# names are exported.
COMPAT_OBJS := $(patsubst %.c,$(O)/lib/%.o,$(wildcard compat/*.c))
COMPAT_SO := $(O)/libiommufd-compat.so

# LIB_OBJS is set after every module.mk is read: expand it when the rule runs.
.SECONDEXPANSION:
$(COMPAT_SO): $(COMPAT_OBJS) $$(LIB_OBJS) compat/libiommufd-compat.map
	$(Q)$(CC) $(LIB_CFLAGS) $(LDFLAGS) -shared -Wl,--version-script=compat/libiommufd-compat.map \
		-Wl,--no-undefined -o $@ $(COMPAT_OBJS) $(LIB_OBJS) -ldl
PROGS += $(COMPAT_SO)

# Legacy programs (plain <linux/vfio.h>) for the differential test.
$(O)/tests/compat/%: tests/compat/%.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $<
$(O)/tests/compat/legacy_type1 $(O)/tests/compat/legacy_process \
	$(O)/tests/compat/legacy_sriov: tests/compat/legacy.h
PROGS += $(O)/tests/compat/legacy_type1 $(O)/tests/compat/legacy_process \
	$(O)/tests/compat/legacy_sriov \
	$(O)/tests/compat/exec_container \
	$(O)/tests/compat/fd_beyond_table
COMPAT_CHECKS += tests/compat/differential.sh

# The shim against native type1 and the kernel's compat container (make bench).
$(O)/bench/bench_compat: bench/bench_compat.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< -lpthread
PROGS += $(O)/bench/bench_compat
BENCH_SCRIPTS += bench/compat.sh
