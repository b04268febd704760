# SPDX-License-Identifier: LGPL-2.1-or-later
# iommufd-ctl: the command line. libnl-route-3 (links, addresses), libpci
# (names from pci.ids) and json-c (--json), each from Debian.
CTL_PKGS := libnl-route-3.0 libpci json-c
CTL_SRCS := $(wildcard iommufd-ctl/*.c)
$(patsubst %.c,$(O)/%.o,$(CTL_SRCS)): ALL_CFLAGS += $(shell pkg-config --cflags $(CTL_PKGS))
$(eval $(call program,bin/iommufd-ctl,$(CTL_SRCS),$(shell pkg-config --libs $(CTL_PKGS))))
INSTALL_PROGS += $(O)/bin/iommufd-ctl
VM_TESTS += tests/ctl/test_ctl.sh
