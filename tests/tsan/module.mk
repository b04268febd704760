# SPDX-License-Identifier: LGPL-2.1-or-later
# ThreadSanitizer builds of the thread tests (make check-tsan, tests/tsan/check.sh),
# with clang, into $(O)/tsan/: the async layer's tests (tests/vm/test_async, in
# the guest), the compat shim under a threaded legacy program (legacy_process,
# in the guest, and tests/compat/real/threads on the host), and the shim's
# emulated container, group and device files hammered from threads on the
# host over the fuzz harnesses' fake kernel (compat_threads.c). Not part of
# make all: make check-tsan builds what it runs. The kernel's ordering of
# io_uring completions is made visible to TSan in these builds (io_uring_hb.h).
CLANG ?= clang
TSAN_O := $(O)/tsan
TSAN_CFLAGS := $(filter-out -fsanitize=% -fno-sanitize-recover=% -Werror,$(BASE_CFLAGS)) -I. \
	-O1 -g -fno-omit-frame-pointer -fsanitize=thread -Wno-format-nonliteral \
	-Wno-gnu-variable-sized-type-not-at-end -Wno-unknown-warning-option -Wno-pointer-bool-conversion

$(TSAN_O)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(TSAN_CFLAGS) -fPIC -c -o $@ $<

TSAN_LIB_OBJS := $(patsubst %.c,$(TSAN_O)/obj/%.o,$(wildcard libiommufd/*.c ioas/*.c))
TSAN_COMPAT_OBJS := $(patsubst %.c,$(TSAN_O)/obj/%.o,$(wildcard compat/*.c))
TSAN_ASYNC_OBJS := $(patsubst %.c,$(TSAN_O)/obj/%.o,$(wildcard async/*.c))

$(TSAN_O)/libiommufd.a: $(TSAN_LIB_OBJS)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# The shim as users preload it, its interposers in; the TSan runtime is the
# program's (clang links it into the executable and exports it).
$(TSAN_O)/libiommufd-compat.so: $(TSAN_COMPAT_OBJS) $(TSAN_LIB_OBJS) compat/libiommufd-compat.map
	$(Q)$(CLANG) -fsanitize=thread -shared -Wl,--version-script=compat/libiommufd-compat.map \
		-o $@ $(TSAN_COMPAT_OBJS) $(TSAN_LIB_OBJS) -ldl -lpthread

$(TSAN_O)/threads: tests/compat/real/threads.c
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(TSAN_CFLAGS) -o $@ $< -lpthread

$(TSAN_O)/legacy_process: tests/compat/legacy_process.c tests/compat/legacy.h
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(TSAN_CFLAGS) -o $@ $< -lpthread

# The async layer and its tests see io_uring's ordering (io_uring_hb.h).
$(TSAN_ASYNC_OBJS) $(TSAN_O)/obj/tests/vm/test_async.o: TSAN_CFLAGS += -include tests/tsan/io_uring_hb.h
$(TSAN_ASYNC_OBJS) $(TSAN_O)/obj/tests/vm/test_async.o: tests/tsan/io_uring_hb.h

$(TSAN_O)/test_async: $(patsubst %.c,$(TSAN_O)/obj/%.o,tests/vm/test_async.c tests/vm/edu.c \
		tests/vm/harness.c) $(TSAN_ASYNC_OBJS) $(TSAN_O)/libiommufd.a
	$(Q)$(CLANG) -fsanitize=thread -o $@ $(filter %.o %.a,$^) $(ASYNC_LIBS)

$(TSAN_O)/compat_threads: $(patsubst %.c,$(TSAN_O)/obj/%.o,tests/tsan/compat_threads.c \
		fuzz/fake.c fuzz/fake_kernel.c $(filter-out compat/intercept.c,$(wildcard compat/*.c))) \
		$(TSAN_O)/libiommufd.a
	$(Q)$(CLANG) -fsanitize=thread -o $@ $(filter %.o %.a,$^) -lpthread -ldl

TSAN_PROGS := $(TSAN_O)/libiommufd-compat.so $(TSAN_O)/threads $(TSAN_O)/legacy_process \
	$(TSAN_O)/test_async $(TSAN_O)/compat_threads

ifneq ($(shell command -v $(CLANG) 2>/dev/null),)
check-tsan: all $(TSAN_PROGS)
	$(Q)O=$(O) tests/tsan/check.sh
else
check-tsan:
	@echo "tsan: 0 passed, 0 failed, 4 skipped ($(CLANG) is not installed)"
endif

.PHONY: check-tsan
