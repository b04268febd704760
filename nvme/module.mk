# SPDX-License-Identifier: LGPL-2.1-or-later
# nvme: a userspace NVMe driver on the public API (nvme/nvme.h), compiled
# into the programs that use it: the example, its VM tests and the bench.
NVME_SRCS := nvme/nvme.c

$(eval $(call async_program,tests/vm/test_nvme,tests/vm/test_nvme.c $(NVME_SRCS) \
	tests/vm/harness.c,))
VM_TESTS += $(O)/tests/vm/test_nvme

# The userspace driver against the kernel's on the same controller (make bench).
$(eval $(call async_program,bench/bench_nvme,bench/bench_nvme.c $(NVME_SRCS),))
BENCH_SCRIPTS += bench/nvme.sh
