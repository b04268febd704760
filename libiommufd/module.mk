# SPDX-License-Identifier: LGPL-2.1-or-later
# libiommufd: the iommufd and VFIO cdev library (libc only).
LIB_SRCS += $(wildcard libiommufd/*.c)

# What the library adds over the raw ioctls (run with make bench).
$(eval $(call program,bench/bench_core,bench/bench_core.c,))
BENCHES += $(O)/bench/bench_core

# The internal range index against the tsearch() trick it replaced (pure logic: on the host).
$(eval $(call program,bench/bench_range_index,bench/bench_range_index.c,))
BENCHES_HOST += $(O)/bench/bench_range_index
