# SPDX-License-Identifier: LGPL-2.1-or-later
# nvme: a userspace NVMe driver on the public API (nvme/nvme.h), compiled
# into the programs that use it: the example, its VM tests and the bench.
NVME_SRCS := nvme/nvme.c

# The driver's data path on one io_uring: async maps, MSI-X completions.
$(eval $(call async_program,examples/nvme-io,examples/nvme-io.c $(NVME_SRCS),))
EXAMPLES += $(O)/examples/nvme-io
VM_TESTS += $(O)/examples/nvme-io

$(eval $(call async_program,tests/vm/test_nvme,tests/vm/test_nvme.c $(NVME_SRCS) \
	tests/vm/harness.c,))
VM_TESTS += $(O)/tests/vm/test_nvme

# The userspace driver against the kernel's on the same controller (make bench).
$(eval $(call async_program,bench/bench_nvme,bench/bench_nvme.c $(NVME_SRCS),))
BENCH_SCRIPTS += bench/nvme.sh
