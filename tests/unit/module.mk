# SPDX-License-Identifier: LGPL-2.1-or-later
# cmocka unit tests of the core library: pure logic, no device access.
$(eval $(call program,tests/unit/test_core,tests/unit/test_core.c,-lcmocka))
UNIT_TESTS += $(O)/tests/unit/test_core

# Every public header compiles alone, as C11 and as C++ (user programs do both).
CXX ?= c++
HEADER_CHECKS := $(patsubst include/iommufd/%.h,$(O)/tests/headers/%.ok,$(wildcard include/iommufd/*.h))
$(O)/tests/headers/%.ok: include/iommufd/%.h
	@mkdir -p $(@D)
	$(Q)echo '#include <iommufd/$*.h>' | $(CC) -std=c11 -Wall -Wextra -Werror -pedantic \
		-Iinclude -fsyntax-only -x c -
	$(Q)echo '#include <iommufd/$*.h>' | $(CXX) -std=c++11 -Wall -Wextra -Werror -pedantic \
		-Iinclude -fsyntax-only -x c++ -
	@touch $@
PROGS += $(HEADER_CHECKS)

$(eval $(call program,tests/unit/test_device_pure,tests/unit/test_device_pure.c,-lcmocka))
UNIT_TESTS += $(O)/tests/unit/test_device_pure

# The internal range index (libiommufd/range_index.h): each call, then random
# runs against a sorted array. Its header is not installed, but every module
# includes it, so it too compiles alone, as C11 and as C++.
$(O)/tests/headers/private/range_index.ok: libiommufd/range_index.h
	@mkdir -p $(@D)
	$(Q)echo '#include "$<"' | $(CC) -std=c11 -Wall -Wextra -Werror -pedantic -I. \
		-fsyntax-only -x c -
	$(Q)echo '#include "$<"' | $(CXX) -std=c++11 -Wall -Wextra -Werror -pedantic -I. \
		-fsyntax-only -x c++ -
	@touch $@
PROGS += $(O)/tests/headers/private/range_index.ok
$(eval $(call program,tests/unit/test_range_index,tests/unit/test_range_index.c,-lcmocka -lm))
UNIT_TESTS += $(O)/tests/unit/test_range_index

# iommufd-ctl bind's reasons (netlink.c, included whole): bounded, counted.
$(O)/tests/unit/test_ctl_reasons.o: ALL_CFLAGS += $(shell pkg-config --cflags $(CTL_PKGS))
$(eval $(call program,tests/unit/test_ctl_reasons,tests/unit/test_ctl_reasons.c,-lcmocka \
	$(shell pkg-config --libs $(CTL_PKGS))))
UNIT_TESTS += $(O)/tests/unit/test_ctl_reasons

# iommufd_handoff_from_env() on malformed environments (no device needed).
$(eval $(call program,tests/unit/test_handoff_env,tests/unit/test_handoff_env.c,-lcmocka))
UNIT_TESTS += $(O)/tests/unit/test_handoff_env

# The context's mapping record and its owners (libiommufd/mapping_record.c).
$(eval $(call program,tests/unit/test_mapping_record,tests/unit/test_mapping_record.c,-lcmocka))
UNIT_TESTS += $(O)/tests/unit/test_mapping_record

# The migration state machine's walks and refusals, the VF token's UUID (libiommufd/device_mig.c).
$(eval $(call program,tests/unit/test_mig,tests/unit/test_mig.c,-lcmocka))
UNIT_TESTS += $(O)/tests/unit/test_mig
