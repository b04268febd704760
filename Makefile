# SPDX-License-Identifier: LGPL-2.1-or-later
#
# libiommufd: make builds everything into $(O); each module folder adds its
# sources and programs in its own module.mk.
#
#   make                      build the libraries, programs, examples and tests
#   make check                unit tests, then the VM tests against a real 6.12 kernel
#   make check-unit           the unit tests alone (no QEMU needed)
#   make check-vm             the VM tests alone
#   make install PREFIX=/usr DESTDIR=...
#   make WERROR=1             warnings are errors (CI)
#   make SANITIZE=1 O=build-san   ASan + UBSan build

VERSION      := 0.1.0
SOVERSION    := 0
PREFIX       ?= /usr/local
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
BINDIR       ?= $(PREFIX)/bin
MANDIR       ?= $(PREFIX)/share/man
O            ?= build
CC           ?= cc
AR           ?= ar
CFLAGS       ?= -O2 -g
Q            := $(if $(V),,@)

# The 6.12 uAPI headers: the system's if new enough, else installed from
# linux-source-6.12 into $(O)/uapi (never copied into the tree). Not for
# `make clean`, which compiles nothing and must work on a fresh clone.
ifneq ($(filter-out clean,$(or $(MAKECMDGOALS),all)),)
UAPI_INC := $(shell CC="$(CC)" scripts/uapi-headers.sh $(O))
ifneq ($(.SHELLSTATUS),0)
$(error cannot find or install the 6.12 uAPI headers; run ./setup.sh)
endif
endif

BASE_CFLAGS := -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wshadow -Wformat=2 \
	-Wmissing-prototypes -Wstrict-prototypes -fno-strict-aliasing -D_GNU_SOURCE \
	-Iinclude $(if $(UAPI_INC),-I$(UAPI_INC)) -MMD -MP
ifneq ($(WERROR),)
BASE_CFLAGS += -Werror
endif
ifneq ($(SANITIZE),)
BASE_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS     += -fsanitize=address,undefined
endif
ALL_CFLAGS := $(BASE_CFLAGS) $(CFLAGS)
# Library objects: position independent, only IOMMUFD_API symbols visible.
LIB_CFLAGS := $(ALL_CFLAGS) -fPIC -fvisibility=hidden

LIB_SO      := $(O)/libiommufd.so.$(SOVERSION)
LIB_A       := $(O)/libiommufd.a
LIB_SRCS    :=
PROGS       :=
UNIT_TESTS  :=
VM_TESTS    :=
VM_TESTS_CDEVONLY :=
VM_TESTS_NOIOMMU  :=
VM_TESTS_SRIOV    :=
# Host-side scripts that boot guests themselves (e.g. compat differential runs).
COMPAT_CHECKS     :=
VM_MEMCHECK_SKIP  :=
MAN_PAGES   :=
INSTALL_PROGS :=
# Benchmark programs: each prints its figures and ratios (make bench runs them in the VM).
BENCHES     :=
BENCHES_HOST :=
BENCH_SCRIPTS :=

all:

# $(call program,PATH,SOURCES,EXTRA_LIBS): a program linked with libiommufd.a.
# In-tree programs link statically so they run in the guest without an
# installed library.
define program
$(O)/$(1): $(patsubst %.c,$(O)/%.o,$(2)) $(LIB_A)
	@mkdir -p $$(@D)
	$$(Q)$$(CC) $$(ALL_CFLAGS) $$(LDFLAGS) -o $$@ $(patsubst %.c,$(O)/%.o,$(2)) $(LIB_A) $(3)
PROGS += $(O)/$(1)
endef

include $(sort $(wildcard */module.mk) $(wildcard tests/*/module.mk))

LIB_OBJS := $(patsubst %.c,$(O)/lib/%.o,$(LIB_SRCS))

all: $(LIB_SO) $(LIB_A) $(PROGS)

$(O)/lib/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(LIB_CFLAGS) -c -o $@ $<

$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB_A): $(LIB_OBJS)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(LIB_SO): $(LIB_OBJS) libiommufd/libiommufd.map
	$(Q)$(CC) $(LIB_CFLAGS) $(LDFLAGS) -shared -Wl,-soname,libiommufd.so.$(SOVERSION) \
		-Wl,--version-script=libiommufd/libiommufd.map -Wl,--no-undefined \
		-o $@ $(LIB_OBJS)
	$(Q)ln -sf libiommufd.so.$(SOVERSION) $(O)/libiommufd.so

TEST_ENV = UNIT_TESTS="$(UNIT_TESTS)" VM_TESTS="$(VM_TESTS)" \
	VM_TESTS_CDEVONLY="$(VM_TESTS_CDEVONLY)" VM_TESTS_NOIOMMU="$(VM_TESTS_NOIOMMU)" \
	VM_TESTS_SRIOV="$(VM_TESTS_SRIOV)" \
	COMPAT_CHECKS="$(COMPAT_CHECKS)" O="$(O)" SANITIZE="$(SANITIZE)" \
	VM_MEMCHECK_SKIP="$(VM_MEMCHECK_SKIP)"

check-unit: all
	$(Q)tests/run-suite.sh unit $(UNIT_TESTS)

check-vm: all
	$(Q)$(TEST_ENV) tests/vm/check.sh

check: all
	$(Q)$(TEST_ENV) tests/check.sh

# The compiled VM tests once more, under valgrind's memcheck in the guest
# (a checking mode, like SANITIZE=1; .ci/run runs both).
check-memcheck: all
	$(Q)$(TEST_ENV) VM_MEMCHECK=only tests/vm/check.sh

bench: all
	$(Q){ for b in $(BENCHES_HOST); do echo "== $$b (host)"; $$b || exit 1; done; \
	  tests/vm/run -- bash -c 'for b in $(BENCHES); do echo "== $$b (guest)"; $$b || exit 1; done' \
		| tr -d '\r'; \
	  for b in $(BENCH_SCRIPTS); do echo "== $$b"; O=$(O) $$b || exit 1; done; } \
		| tee $(O)/bench-results.txt

install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/iommufd $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8
	install -m 644 include/iommufd/*.h $(DESTDIR)$(INCLUDEDIR)/iommufd/
	install -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libiommufd.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libiommufd.so
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	# Generated here: PREFIX and LIBDIR are those of this install.
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' libiommufd/libiommufd.pc.in \
		> $(DESTDIR)$(LIBDIR)/pkgconfig/libiommufd.pc
	install -m 755 $(ASYNC_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libiommufd-async.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libiommufd-async.so
	install -m 644 $(ASYNC_A) $(DESTDIR)$(LIBDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' async/libiommufd-async.pc.in \
		> $(DESTDIR)$(LIBDIR)/pkgconfig/libiommufd-async.pc
	install -m 755 $(INSTALL_PROGS) $(DESTDIR)$(BINDIR)/
	install -m 755 $(O)/libiommufd-compat.so $(DESTDIR)$(LIBDIR)/
	install -D -m 644 contrib/bash-completion/iommufd-ctl \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/iommufd-ctl
	for p in $(wildcard Documentation/man/*.[378]); do \
		s=$${p##*.}; cp -P $$p $(DESTDIR)$(MANDIR)/man$$s/; done

clean:
	rm -rf $(O)

.PHONY: all bench check check-memcheck check-unit check-vm install clean
.DELETE_ON_ERROR:

-include $(shell find $(O) -name '*.d' 2>/dev/null)
