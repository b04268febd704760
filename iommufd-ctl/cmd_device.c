// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * iommufd-ctl device BDF: what a userspace driver author checks first:
 * the device's flags, regions (with the parts that may be mmap()ed), IRQs, the MSI-X table,
 * reset support and PCI capabilities; and what a VMM author checks: the
 * VFIO device features, migration flags and state, and which devices a hot
 * reset would touch. A device without a BDF (an mdev) is named by its cdev.
 */
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static const char *region_name(uint32_t i)
{
	static const char *const names[] = { "BAR0", "BAR1", "BAR2", "BAR3", "BAR4", "BAR5",
					     "ROM", "CONFIG", "VGA" };

	return i < sizeof(names) / sizeof(names[0]) ? names[i] : "region";
}

static const char *irq_name(uint32_t i)
{
	static const char *const names[] = { "INTx", "MSI", "MSI-X", "ERR", "REQ" };

	return i < sizeof(names) / sizeof(names[0]) ? names[i] : "irq";
}

static const char *pci_cap_name(uint8_t id)
{
	switch (id) {
	case 0x01: return "Power Management";
	case 0x05: return "MSI";
	case 0x09: return "Vendor Specific";
	case 0x10: return "PCI Express";
	case 0x11: return "MSI-X";
	case 0x12: return "SATA";
	case 0x13: return "Advanced Features";
	default: return "other";
	}
}

/* The VFIO device features the device offers, with GET/SET, as text and JSON. */
static struct json_object *show_features(struct iommufd_device *dev)
{
	struct json_object *arr = json_object_new_array();
	int shown = 0;

	for (uint32_t f = 0; f < IOMMUFD_DEVICE_FEATURE_NR; f++) {
		struct json_object *o;
		uint32_t ops;

		if (iommufd_device_feature_probe(dev, f, &ops) < 0)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(iommufd_device_feature_name(f)));
		json_object_object_add(o, "get", json_object_new_boolean(ops & IOMMUFD_DEVICE_FEATURE_GET));
		json_object_object_add(o, "set", json_object_new_boolean(ops & IOMMUFD_DEVICE_FEATURE_SET));
		json_object_array_add(arr, o);
		if (!ctl.json)
			printf("%s%s (%s%s%s)", shown++ ? ", " : "  features: ",
			       iommufd_device_feature_name(f),
			       ops & IOMMUFD_DEVICE_FEATURE_GET ? "get" : "",
			       ops == (IOMMUFD_DEVICE_FEATURE_GET | IOMMUFD_DEVICE_FEATURE_SET) ? ", " : "",
			       ops & IOMMUFD_DEVICE_FEATURE_SET ? "set" : "");
	}
	if (!ctl.json)
		printf("%s\n", shown ? "" : "  features: none");
	return arr;
}

/* Migration flags, state and the STOP_COPY size estimate; JSON null when it cannot migrate. */
static struct json_object *show_migration(struct iommufd_device *dev)
{
	static const char *const flag_names[] = { "STOP_COPY", "P2P", "PRE_COPY" };
	struct json_object *o, *jf;
	enum iommufd_mig_state st;
	uint64_t size;
	uint32_t flags;
	int n = 0;

	if (iommufd_device_mig_flags(dev, &flags) < 0) {
		if (!ctl.json)
			printf("  migration: no\n");
		return NULL;
	}
	o = json_object_new_object();
	jf = json_object_new_array();
	if (!ctl.json)
		printf("  migration: ");
	for (unsigned int i = 0; i < 3; i++) {
		if (!(flags & (1u << i)))
			continue;
		json_object_array_add(jf, json_object_new_string(flag_names[i]));
		if (!ctl.json)
			printf("%s%s", n++ ? ", " : "", flag_names[i]);
	}
	json_object_object_add(o, "flags", jf);
	if (iommufd_device_mig_get_state(dev, &st) == 0) {
		json_object_object_add(o, "state", json_object_new_string(iommufd_mig_state_name(st)));
		if (!ctl.json)
			printf("; state %s", iommufd_mig_state_name(st));
	}
	if (iommufd_device_mig_data_size(dev, &size) == 0) {
		json_object_object_add(o, "stop_copy_bytes", json_object_new_int64((int64_t)size));
		if (!ctl.json)
			printf("; STOP_COPY data about %llu bytes", (unsigned long long)size);
	}
	if (!ctl.json)
		putchar('\n');
	return o;
}

/* The devices a hot reset would touch; JSON null when the device has no hot reset. */
static struct json_object *show_hot_reset(struct iommufd_device *dev)
{
	struct iommufd_reset_dep *deps;
	struct json_object *arr;
	size_t nr;

	if (iommufd_device_hot_reset_info(dev, &deps, &nr) < 0) {
		if (!ctl.json)
			printf("  hot reset: no (%s)\n", iommufd_last_error());
		return NULL;
	}
	arr = json_object_new_array();
	if (!ctl.json)
		printf("  hot reset: resets ");
	for (size_t i = 0; i < nr; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "bdf", json_object_new_string(deps[i].bdf));
		json_object_object_add(o, "owned", json_object_new_boolean(deps[i].owned));
		json_object_array_add(arr, o);
		if (!ctl.json)
			printf("%s%s%s", i ? ", " : "", deps[i].bdf,
			       !deps[i].owned ? " (not owned: the reset is refused)"
			       : deps[i].dev_id == iommufd_device_id(dev) ? " (this device)" : "");
	}
	if (!ctl.json)
		putchar('\n');
	free(deps);
	return arr;
}

int cmd_device(int argc, char **argv)
{
	struct json_object *root = json_object_new_object(), *jregs = json_object_new_array();
	struct json_object *jirqs = json_object_new_array(), *jcaps = json_object_new_array();
	struct iommufd_device_info di;
	struct iommufd_device *dev = NULL;
	struct iommufd_ctx *ctx = NULL;
	struct iommufd_msix_info mi = { .sz = sizeof(mi) };
	uint8_t cfg[256];
	int r = CTL_OK;

	if (argc != 2) {
		fprintf(stderr, "usage: iommufd-ctl device BDF|/dev/vfio/devices/vfioN\n");
		r = CTL_USAGE;
		goto out;
	}
	if (iommufd_ctx_open(NULL, &ctx) < 0 || iommufd_device_open(ctx, argv[1], &dev) < 0 ||
	    iommufd_device_get_info(dev, &di) < 0) {
		r = ctl_fail("%s", argv[1]);
		goto out;
	}
	json_object_object_add(root, "bdf", json_object_new_string(iommufd_device_name(dev)));
	json_object_object_add(root, "flags", json_object_new_int(di.flags));
	json_object_object_add(root, "reset", json_object_new_boolean(di.flags & VFIO_DEVICE_FLAGS_RESET));
	if (!ctl.json)
		printf("%s: flags 0x%x (%s%s), %u regions, %u IRQ indexes, function reset: %s\n",
		       iommufd_device_name(dev), di.flags, di.flags & VFIO_DEVICE_FLAGS_PCI ? "PCI" : "",
		       di.flags & VFIO_DEVICE_FLAGS_CAPS ? ", caps" : "", di.num_regions,
		       di.num_irqs, di.flags & VFIO_DEVICE_FLAGS_RESET ? "yes" : "no");

	for (uint32_t i = 0; i < di.num_regions; i++) {
		struct iommufd_region_info ri = { .sz = sizeof(ri) };
		struct json_object *o, *sp;

		if (iommufd_device_region_info(dev, i, &ri) < 0 || !ri.size)
			continue;
		o = json_object_new_object();
		sp = json_object_new_array();
		json_object_object_add(o, "index", json_object_new_int(i));
		json_object_object_add(o, "name", json_object_new_string(region_name(i)));
		json_object_object_add(o, "size", json_object_new_int64(ri.size));
		json_object_object_add(o, "offset", json_object_new_int64(ri.offset));
		json_object_object_add(o, "read", json_object_new_boolean(ri.flags & IOMMUFD_REGION_READ));
		json_object_object_add(o, "write", json_object_new_boolean(ri.flags & IOMMUFD_REGION_WRITE));
		json_object_object_add(o, "mmap", json_object_new_boolean(ri.flags & IOMMUFD_REGION_MMAP));
		json_object_object_add(o, "msix_mappable",
				       json_object_new_boolean(ri.flags & IOMMUFD_REGION_MSIX_MAPPABLE));
		for (uint32_t k = 0; k < ri.nr_sparse; k++) {
			struct json_object *a = json_object_new_object();

			json_object_object_add(a, "offset", json_object_new_int64(ri.sparse[k].offset));
			json_object_object_add(a, "size", json_object_new_int64(ri.sparse[k].size));
			json_object_array_add(sp, a);
		}
		json_object_object_add(o, "mmap_areas", sp);
		json_object_array_add(jregs, o);
		if (!ctl.json) {
			printf("  region %u %-6s size 0x%-9llx offset 0x%-12llx %c%c%c", i,
			       region_name(i), (unsigned long long)ri.size,
			       (unsigned long long)ri.offset, ri.flags & IOMMUFD_REGION_READ ? 'r' : '-',
			       ri.flags & IOMMUFD_REGION_WRITE ? 'w' : '-',
			       ri.flags & IOMMUFD_REGION_MMAP ? 'm' : '-');
			for (uint32_t k = 0; k < ri.nr_sparse; k++)
				printf("%s0x%llx+0x%llx", k ? ", " : "  mmap areas: ",
				       (unsigned long long)ri.sparse[k].offset,
				       (unsigned long long)ri.sparse[k].size);
			if ((ri.flags & IOMMUFD_REGION_MMAP) && !ri.nr_sparse && i < IOMMUFD_PCI_ROM)
				printf("  mmap areas: all");
			if (ri.flags & IOMMUFD_REGION_MSIX_MAPPABLE)
				printf(" (MSI-X table included)");
			putchar('\n');
		}
	}
	for (uint32_t i = 0; i < di.num_irqs; i++) {
		struct iommufd_irq_info ii;
		struct json_object *o;

		if (iommufd_device_irq_info(dev, i, &ii) < 0)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "index", json_object_new_int(i));
		json_object_object_add(o, "name", json_object_new_string(irq_name(i)));
		json_object_object_add(o, "count", json_object_new_int(ii.count));
		json_object_object_add(o, "eventfd", json_object_new_boolean(ii.flags & VFIO_IRQ_INFO_EVENTFD));
		json_object_object_add(o, "maskable", json_object_new_boolean(ii.flags & VFIO_IRQ_INFO_MASKABLE));
		json_object_array_add(jirqs, o);
		if (!ctl.json)
			printf("  irq %u %-6s count %u%s%s%s\n", i, irq_name(i), ii.count,
			       ii.flags & VFIO_IRQ_INFO_EVENTFD ? " eventfd" : "",
			       ii.flags & VFIO_IRQ_INFO_MASKABLE ? " maskable" : "",
			       ii.flags & VFIO_IRQ_INFO_AUTOMASKED ? " automasked" : "");
	}
	json_object_object_add(root, "features", show_features(dev));
	json_object_object_add(root, "migration", show_migration(dev));
	json_object_object_add(root, "hot_reset", show_hot_reset(dev));
	/* MSI-X: where the table and PBA are, and what a driver may do with them. */
	if (iommufd_device_msix_info(dev, &mi) == 0) {
		struct json_object *o = json_object_new_object(), *pend = json_object_new_array();
		char list[256] = "";
		size_t n = 0;

		for (uint32_t v = 0; mi.table_mappable && v < mi.vectors; v++)
			if (iommufd_device_msix_pending(dev, v) == 1) {
				json_object_array_add(pend, json_object_new_int(v));
				if (n < sizeof(list))
					n += snprintf(list + n, sizeof(list) - n, "%s%u", n ? "," : "",
						      v);
			}
		json_object_object_add(o, "vectors", json_object_new_int(mi.vectors));
		json_object_object_add(o, "table_bar", json_object_new_int(mi.table_bar));
		json_object_object_add(o, "table_offset", json_object_new_int64(mi.table_offset));
		json_object_object_add(o, "pba_bar", json_object_new_int(mi.pba_bar));
		json_object_object_add(o, "pba_offset", json_object_new_int64(mi.pba_offset));
		json_object_object_add(o, "enabled", json_object_new_boolean(mi.enabled));
		json_object_object_add(o, "function_masked", json_object_new_boolean(mi.function_masked));
		json_object_object_add(o, "table_mappable", json_object_new_boolean(mi.table_mappable));
		json_object_object_add(o, "pending", pend);
		json_object_object_add(root, "msix", o);
		if (!ctl.json)
			printf("  msix: %u vectors, table %s+0x%llx, PBA %s+0x%llx, %s%s; "
			       "vectors maskable one by one: %s%s%s\n", mi.vectors,
			       region_name(mi.table_bar), (unsigned long long)mi.table_offset,
			       region_name(mi.pba_bar), (unsigned long long)mi.pba_offset,
			       mi.enabled ? "enabled" : "disabled",
			       mi.function_masked ? ", function masked" : "",
			       mi.table_mappable ? "yes (the BAR maps over the table)" :
						   "no (no MSIX_MAPPABLE)",
			       n ? "; pending: " : "", list);
	}
	/* PCI capabilities: the list starting at config offset 0x34, bounded. */
	if (iommufd_device_config_read(dev, 0, cfg, sizeof(cfg)) == sizeof(cfg) && (cfg[6] & 0x10)) {
		uint8_t off = cfg[0x34] & ~3;

		for (int hops = 0; off >= 0x40 && hops < 48; hops++, off = cfg[off + 1] & ~3) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "id", json_object_new_int(cfg[off]));
			json_object_object_add(o, "name", json_object_new_string(pci_cap_name(cfg[off])));
			json_object_object_add(o, "offset", json_object_new_int(off));
			json_object_array_add(jcaps, o);
			if (!ctl.json)
				printf("  pci capability 0x%02x %s at 0x%02x\n", cfg[off],
				       pci_cap_name(cfg[off]), off);
		}
	}
out:
	json_object_object_add(root, "regions", jregs);
	json_object_object_add(root, "irqs", jirqs);
	json_object_object_add(root, "pci_capabilities", jcaps);
	if (ctl.json && r == CTL_OK)
		ctl_print_json(root);
	else
		json_object_put(root);
	iommufd_device_close(dev);
	iommufd_ctx_unref(ctx);
	return r;
}
