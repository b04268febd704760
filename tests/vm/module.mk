# SPDX-License-Identifier: LGPL-2.1-or-later
# Tests that run in the QEMU guest against the real kernel. A VM test is a
# program built with the harness; register it with VM_TESTS.
VM_HARNESS := tests/vm/harness.c tests/vm/edu.c

$(eval $(call program,tests/vm/test_edu_dma,tests/vm/test_edu_dma.c $(VM_HARNESS),))
VM_TESTS += $(O)/tests/vm/test_edu_dma
