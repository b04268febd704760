# SPDX-License-Identifier: LGPL-2.1-or-later
# ioas: userspace IOVA allocation, mapping tracking, DMA memory (in libiommufd).
LIB_SRCS += $(wildcard ioas/*.c)

$(eval $(call program,tests/unit/test_ioas_alloc,tests/unit/test_ioas_alloc.c,-lcmocka))
UNIT_TESTS += $(O)/tests/unit/test_ioas_alloc
$(eval $(call program,tests/unit/test_ioas_tracker,tests/unit/test_ioas_tracker.c,-lcmocka))
UNIT_TESTS += $(O)/tests/unit/test_ioas_tracker

$(eval $(call program,tests/vm/test_ioas,tests/vm/test_ioas.c tests/vm/edu.c tests/vm/harness.c,))
VM_TESTS += $(O)/tests/vm/test_ioas

# Pure logic: benchmarked on the host.
$(eval $(call program,bench/bench_iova,bench/bench_iova.c,))
BENCHES_HOST += $(O)/bench/bench_iova

# One API, three backends: iommufd and type1 with VT-d, no-IOMMU without.
$(eval $(call program,tests/vm/test_ioas_backends,tests/vm/test_ioas_backends.c tests/vm/edu.c tests/vm/harness.c,))
VM_TESTS += $(O)/tests/vm/test_ioas_backends
VM_TESTS_NOIOMMU += $(O)/tests/vm/test_ioas_backends
