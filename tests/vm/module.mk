# SPDX-License-Identifier: LGPL-2.1-or-later
# Tests that run in the QEMU guest against the real kernel. A VM test is a
# program built with the harness; register it with VM_TESTS.
VM_HARNESS := tests/vm/harness.c

$(eval $(call program,tests/vm/test_edu_dma,tests/vm/test_edu_dma.c tests/vm/edu.c $(VM_HARNESS),))
VM_TESTS += $(O)/tests/vm/test_edu_dma

# Mock-domain tests use the selftest uAPI from the kernel source, in place.
KSRC_DIR := $(shell scripts/ksrc-dir.sh 2>/dev/null)
MOCK_CFLAGS := -I$(KSRC_DIR)/drivers/iommu/iommufd
$(O)/tests/vm/mock.o $(O)/tests/vm/test_hwpt_mock.o: ALL_CFLAGS += $(MOCK_CFLAGS)

$(eval $(call program,tests/vm/test_ioas_core,tests/vm/test_ioas_core.c tests/vm/mock.c $(VM_HARNESS),))
$(eval $(call program,tests/vm/test_hwpt_mock,tests/vm/test_hwpt_mock.c tests/vm/mock.c $(VM_HARNESS),))
# In 6.12 the IOMMU core probes mock devices with the first IOMMU driver's ops,
# so mock domains work only in a guest booted without VT-d.
VM_TESTS_NOIOMMU += $(O)/tests/vm/test_ioas_core $(O)/tests/vm/test_hwpt_mock

# The compat shim's dirty tracking, on the mock IOMMU's dirty bits.
$(O)/tests/vm/test_compat_dirty.o: ALL_CFLAGS += $(MOCK_CFLAGS)
$(eval $(call program,tests/vm/test_compat_dirty,tests/vm/test_compat_dirty.c tests/vm/mock.c \
	compat/dirty.c compat/trace.c $(VM_HARNESS),))
VM_TESTS_NOIOMMU += $(O)/tests/vm/test_compat_dirty

$(eval $(call program,tests/vm/test_device,tests/vm/test_device.c tests/vm/edu.c $(VM_HARNESS),))
VM_TESTS += $(O)/tests/vm/test_device

# iommufd-ctl exec's hand-off, adopted by a libiommufd program (handoff_child)
# that DMAs through the inherited IOAS.
$(eval $(call program,tests/vm/handoff_child,tests/vm/handoff_child.c tests/vm/edu.c,))
$(eval $(call program,tests/vm/test_handoff,tests/vm/test_handoff.c tests/vm/edu.c $(VM_HARNESS),))
VM_TESTS += $(O)/tests/vm/test_handoff

# Failure injection (fail_nth.h): every call that enters the kernel, with each
# kernel and userspace failure point failed in turn. The interposer replaces
# malloc & co. in the program, so it is exported (-rdynamic); memcheck would
# replace them again, and each sweep runs the calls thousands of times.
FAIL_NTH := tests/vm/fail_nth.c tests/vm/fail_nth_interpose.c
FAIL_NTH_LIBS := -rdynamic -ldl
$(O)/tests/vm/test_fail_nth.o: ALL_CFLAGS += $(MOCK_CFLAGS)
$(eval $(call async_program,tests/vm/test_fail_nth,tests/vm/test_fail_nth.c tests/vm/mock.c \
	$(FAIL_NTH) $(VM_HARNESS),$(FAIL_NTH_LIBS)))
VM_TESTS_NOIOMMU += $(O)/tests/vm/test_fail_nth
VM_MEMCHECK_SKIP += $(O)/tests/vm/test_fail_nth
# The device and compat-shim sweeps boot a guest of their own (fail_nth.sh says why).
$(eval $(call program,tests/vm/test_fail_nth_edu,tests/vm/test_fail_nth_edu.c tests/vm/edu.c \
	$(FAIL_NTH) $(VM_HARNESS),$(FAIL_NTH_LIBS)))
$(eval $(call program,tests/vm/test_fail_nth_compat,tests/vm/test_fail_nth_compat.c tests/vm/edu.c \
	$(FAIL_NTH) $(VM_HARNESS),$(FAIL_NTH_LIBS)))
$(O)/tests/vm/test_fail_nth_compat: $(O)/libiommufd-compat.so
COMPAT_CHECKS += tests/vm/fail_nth.sh

# The random storm on a mock domain: what fits 45 s in make check; the
# full million with make storm (one guest boot of its own).
$(eval $(call program,tests/vm/test_storm,tests/vm/test_storm.c tests/vm/mock.c $(VM_HARNESS),))
VM_TESTS_NOIOMMU += $(O)/tests/vm/test_storm
# Under memcheck it would spend its 45 s on a tenth of the operations.
VM_MEMCHECK_SKIP += $(O)/tests/vm/test_storm
storm: $(O)/tests/vm/test_storm
	$(Q)tests/vm/run --no-iommu --timeout 14400 -- env STORM_OPS=$${STORM_OPS:-1000000} \
		STORM_SECONDS=0 $(O)/tests/vm/test_storm
.PHONY: storm

# What a VMM needs: device features, migration on two mtty mdevs, hot-reset scope.
$(eval $(call program,tests/vm/test_vmm,tests/vm/test_vmm.c tests/vm/edu.c $(VM_HARNESS),))
# In a guest with an SR-IOV PF and a two-function edu (tests/vm/run --sriov
# --edu-pair), where its VF-token and hot-reset tests run too.
VM_TESTS_SRIOV += $(O)/tests/vm/test_vmm
