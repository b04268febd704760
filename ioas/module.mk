# SPDX-License-Identifier: LGPL-2.1-or-later
# ioas: userspace IOVA allocation, mapping tracking, DMA memory (in libiommufd).
LIB_SRCS += $(wildcard ioas/*.c)

$(eval $(call program,tests/unit/test_ioas_alloc,tests/unit/test_ioas_alloc.c,-lcmocka))
UNIT_TESTS += $(O)/tests/unit/test_ioas_alloc
