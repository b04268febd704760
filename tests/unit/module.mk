# SPDX-License-Identifier: LGPL-2.1-or-later
# cmocka unit tests of the core library: pure logic, no device access.
$(eval $(call program,tests/unit/test_core,tests/unit/test_core.c,-lcmocka))
UNIT_TESTS += $(O)/tests/unit/test_core
