# SPDX-License-Identifier: LGPL-2.1-or-later
# async: DMA set-up requests completed on an io_uring (liburing). A library
# of its own, libiommufd-async, so the core library needs nothing but libc.
ASYNC_SRCS := $(wildcard async/*.c)
ASYNC_OBJS := $(patsubst %.c,$(O)/lib/%.o,$(ASYNC_SRCS))
ASYNC_SO   := $(O)/libiommufd-async.so.$(SOVERSION)
ASYNC_A    := $(O)/libiommufd-async.a
ASYNC_LIBS := $(shell pkg-config --libs liburing) -lpthread

$(ASYNC_A): $(ASYNC_OBJS)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(ASYNC_SO): $(ASYNC_OBJS) $(LIB_SO) async/libiommufd-async.map
	$(Q)$(CC) $(LIB_CFLAGS) $(LDFLAGS) -shared -Wl,-soname,libiommufd-async.so.$(SOVERSION) \
		-Wl,--version-script=async/libiommufd-async.map -Wl,--no-undefined \
		-o $@ $(ASYNC_OBJS) -L$(O) -liommufd $(ASYNC_LIBS)
	$(Q)ln -sf libiommufd-async.so.$(SOVERSION) $(O)/libiommufd-async.so
PROGS += $(ASYNC_SO) $(ASYNC_A)

# $(call async_program,PATH,SOURCES,EXTRA_LIBS): a program on both static libraries.
define async_program
$(O)/$(1): $(patsubst %.c,$(O)/%.o,$(2)) $(ASYNC_A) $(LIB_A)
	@mkdir -p $$(@D)
	$$(Q)$$(CC) $$(ALL_CFLAGS) $$(LDFLAGS) -o $$@ $(patsubst %.c,$(O)/%.o,$(2)) $(ASYNC_A) \
		$(LIB_A) $(ASYNC_LIBS) $(3)
PROGS += $(O)/$(1)
endef

$(eval $(call async_program,tests/vm/test_async,tests/vm/test_async.c tests/vm/edu.c tests/vm/harness.c,))
VM_TESTS += $(O)/tests/vm/test_async
# Not under valgrind: with 3.19 the test's threads waiting on rings for each
# other's posts hang (the guest sat idle for 15 minutes); edu-pipeline, one
# thread on one ring, runs under it fine.
VM_MEMCHECK_SKIP += $(O)/tests/vm/test_async

# Async vs. synchronous, in the guest (make bench).
$(eval $(call async_program,bench/bench_async,bench/bench_async.c,))
BENCHES += $(O)/bench/bench_async
