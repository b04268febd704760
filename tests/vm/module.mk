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
