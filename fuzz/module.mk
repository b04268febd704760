# SPDX-License-Identifier: LGPL-2.1-or-later
# fuzz: libFuzzer harnesses, one per input the toolkit parses (fuzz/README.md),
# built with clang (ASan + UBSan + libFuzzer) into $(O)/fuzz/ when clang is
# there. make check runs each briefly over its corpus (fuzz/check.sh);
# make fuzz runs each for FUZZ_SECONDS.
CLANG ?= clang
FUZZ_SECONDS ?= 600
FUZZ_O := $(O)/fuzz
FUZZERS :=

ifneq ($(shell command -v $(CLANG) 2>/dev/null),)
FUZZ_PKGS := libnl-route-3.0 libpci json-c
# Everything under test is built again with the fuzzer's coverage and the
# sanitizers: the library, the shim, iommufd-ctl's parsers. (clang, unlike
# gcc, warns where a va_list is passed on to vsnprintf(), and where a struct
# with a flexible array is not last in another.)
FUZZ_CFLAGS := $(filter-out -fsanitize=% -fno-sanitize-recover=%,$(BASE_CFLAGS)) -I. \
	$(shell pkg-config --cflags $(FUZZ_PKGS)) -O1 -g -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
	-Wno-format-nonliteral -Wno-gnu-variable-sized-type-not-at-end
FUZZ_LDFLAGS := -fsanitize=fuzzer,address,undefined
FUZZ_CTL_LIBS := $(shell pkg-config --libs $(FUZZ_PKGS))

$(FUZZ_O)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -c -o $@ $<

# The library (core and ioas) and the shim without its libc interposers,
# whose place the fake world (fuzz/fake.c) takes.
FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ_O)/obj/%.o,$(wildcard libiommufd/*.c ioas/*.c))
FUZZ_LIB_A := $(FUZZ_O)/libiommufd.a
FUZZ_COMPAT_OBJS := $(patsubst %.c,$(FUZZ_O)/obj/%.o, \
	$(filter-out compat/intercept.c,$(wildcard compat/*.c)))
FUZZ_COMPAT_A := $(FUZZ_O)/libcompat.a
FUZZ_COMMON := $(FUZZ_O)/obj/fuzz/fake.o $(FUZZ_O)/obj/fuzz/fake_kernel.o

$(FUZZ_LIB_A): $(FUZZ_LIB_OBJS)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
$(FUZZ_COMPAT_A): $(FUZZ_COMPAT_OBJS)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# $(call fuzzer,NAME,EXTRA_SOURCES,EXTRA_ARCHIVES,LIBS): $(O)/fuzz/fuzz_NAME.
define fuzzer
$(FUZZ_O)/fuzz_$(1): $(FUZZ_O)/obj/fuzz/fuzz_$(1).o $(patsubst %.c,$(FUZZ_O)/obj/%.o,$(2)) \
		$(FUZZ_COMMON) $(3) $(FUZZ_LIB_A)
	$$(Q)$(CLANG) $$(FUZZ_LDFLAGS) -o $$@ $$(filter %.o %.a,$$^) $(4) -lpthread -ldl
FUZZERS += $(FUZZ_O)/fuzz_$(1)
endef

# iommufd-ctl's session language and what it links.
FUZZ_SESSION_SRCS := iommufd-ctl/session.c iommufd-ctl/show.c iommufd-ctl/progress.c \
	iommufd-ctl/edu.c

$(eval $(call fuzzer,bdf,,,))
$(eval $(call fuzzer,size,$(FUZZ_SESSION_SRCS),,$(FUZZ_CTL_LIBS)))
$(eval $(call fuzzer,hw_info,,,))
$(eval $(call fuzzer,vfio_caps,,,))
$(eval $(call fuzzer,type1_info,,,))
$(eval $(call fuzzer,handoff,,,))
$(eval $(call fuzzer,sysfs,,,$(FUZZ_CTL_LIBS)))
$(eval $(call fuzzer,netlink,,,$(FUZZ_CTL_LIBS)))
$(eval $(call fuzzer,compat,,$(FUZZ_COMPAT_A),))
$(eval $(call fuzzer,session,iommufd-ctl/show.c iommufd-ctl/progress.c iommufd-ctl/edu.c,,\
	$(FUZZ_CTL_LIBS)))

# Not again in the SANITIZE=1 build, whose make check skips them (fuzz/check.sh).
ifeq ($(SANITIZE),)
PROGS += $(FUZZERS)
endif
endif

# A short run of each over its corpus, in make check (fuzz/check.sh).
COMPAT_CHECKS += fuzz/check.sh

# Each harness for FUZZ_SECONDS (default 600), new inputs kept in
# $(O)/fuzz/corpus/NAME; merge them into fuzz/corpus/NAME with -merge=1.
fuzz: $(FUZZERS)
	$(Q)FUZZ_LONG=1 FUZZ_SECONDS=$(FUZZ_SECONDS) O=$(O) fuzz/check.sh $(FUZZ)

.PHONY: fuzz
