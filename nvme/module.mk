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

# Not under valgrind: the tests and the example that use the async layer's
# workers hang under valgrind 3.19 as test_async does; the others
# (identify, I/O, errors, queues, masking, the IOMMU, the kernel cross-check)
# run clean under memcheck when named on the command line.
VM_MEMCHECK_SKIP += $(O)/tests/vm/test_nvme $(O)/examples/nvme-io

# The status decoding and map tags, on the host (make check-unit).
$(eval $(call async_program,tests/unit/test_nvme_status,tests/unit/test_nvme_status.c \
	$(NVME_SRCS),-lcmocka))
UNIT_TESTS += $(O)/tests/unit/test_nvme_status

# The driver's header compiles alone, as C11 and as C++.
$(O)/tests/headers/private/nvme.ok: nvme/nvme.h
	@mkdir -p $(@D)
	$(Q)echo '#include "$<"' | $(CC) -std=c11 -Wall -Wextra -Werror -pedantic -Iinclude -I. \
		-fsyntax-only -x c -
	$(Q)echo '#include "$<"' | $(CXX) -std=c++11 -Wall -Wextra -Werror -pedantic -Iinclude \
		-I. -fsyntax-only -x c++ -
	@touch $@
PROGS += $(O)/tests/headers/private/nvme.ok
