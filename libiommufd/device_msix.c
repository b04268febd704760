// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * MSI-X beyond what VFIO_DEVICE_SET_IRQS offers: where the table and the
 * pending bits are, and masking single vectors.
 *
 * vfio-pci has no per-vector mask for MSI and MSI-X (its SET_IRQS answers
 * ACTION_MASK with ENOTTY there; only INTx masks). A vector's own mask bit,
 * in the MSI-X table's Vector Control word, is what the PCI specification
 * gives a driver: while it is set the function does not send the message
 * but sets the vector's pending bit, and sends it once unmasked. vfio-pci
 * drops reads and writes of the table through the region (pread/pwrite),
 * but lets the BAR be mmap()ed over it (VFIO_REGION_INFO_CAP_MSIX_MAPPABLE,
 * since 4.16): with interrupt remapping, what the table holds cannot make
 * the device reach beyond the vectors it was given. So the mask bit and
 * the pending bits are reached through a mapping of their page.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "device_internal.h"

#define PCI_STATUS		0x06
#define PCI_STATUS_CAP_LIST	0x10
#define PCI_CAPABILITY_LIST	0x34
#define PCI_CAP_ID_MSIX		0x11
#define MSIX_FLAGS		2	/* message control */
#define MSIX_FLAGS_QSIZE	0x7ff
#define MSIX_TABLE		4	/* offset | BIR */
#define MSIX_PBA		8
#define MSIX_BIR_MASK		0x7
#define MSIX_ENTRY_SIZE		16
#define MSIX_ENTRY_CTRL		12	/* Vector Control; bit 0 masks */

/* The MSI-X capability's offset in config space, 0 when there is none. */
static int find_msix_cap(struct iommufd_device *dev, uint8_t cfg[256])
{
	ssize_t n = iommufd_device_config_read(dev, 0, cfg, 256);
	uint8_t off;

	if (n < 0)
		return (int)n;
	if (n < 256)
		return iommufd_fail(dev->ctx, -EIO, "%s: config space read short (%zd bytes)",
				    dev->name, n);
	if (!(cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST))
		return 0;
	off = cfg[PCI_CAPABILITY_LIST] & ~3;
	/* At most 48 capabilities fit above the header: a loop cannot go on. */
	for (int hops = 0; off >= 0x40 && hops < 48; hops++, off = cfg[off + 1] & ~3)
		if (cfg[off] == PCI_CAP_ID_MSIX)
			return off;
	return 0;
}

IOMMUFD_API int iommufd_device_msix_info(struct iommufd_device *dev,
					 struct iommufd_msix_info *user)
{
	struct iommufd_region_info ri = { .sz = sizeof(ri) };
	struct iommufd_msix_info out = { .sz = sizeof(out) }, *info = &out;
	uint32_t table, pba;
	uint16_t flags;
	uint8_t cfg[256];
	int off, r;

	check_arg(dev);
	check_arg(user);
	r = check_out(dev->ctx, user, iommufd_msix_info, table_mappable);
	if (r < 0)
		return r;
	off = find_msix_cap(dev, cfg);
	if (off < 0)
		return off;
	if (!off)
		return iommufd_fail(dev->ctx, -ENODEV, "%s: no MSI-X capability", dev->name);
	memcpy(&flags, cfg + off + MSIX_FLAGS, 2);
	memcpy(&table, cfg + off + MSIX_TABLE, 4);
	memcpy(&pba, cfg + off + MSIX_PBA, 4);
	info->cap_offset = off;
	info->vectors = (flags & MSIX_FLAGS_QSIZE) + 1;
	info->enabled = flags & 0x8000;
	info->function_masked = flags & 0x4000;
	info->table_bar = table & MSIX_BIR_MASK;
	info->table_offset = table & ~MSIX_BIR_MASK;
	info->pba_bar = pba & MSIX_BIR_MASK;
	info->pba_offset = pba & ~MSIX_BIR_MASK;
	r = iommufd_device_region_info(dev, info->table_bar, &ri);
	if (r < 0)
		return r;
	info->table_mappable = !!(ri.flags & IOMMUFD_REGION_MSIX_MAPPABLE);
	copy_out(user, info);
	return 0;
}

/*
 * Map the page of BAR @bar holding [@offset, +@len): *@page is the mapping,
 * the return value the offset in it.
 */
static long map_page(struct iommufd_device *dev, uint32_t bar, uint64_t offset, size_t len,
		     int prot, void **page)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t start = offset & ~(uint64_t)(pg - 1);
	int r;

	if (offset - start + len > (uint64_t)pg)
		return iommufd_fail(dev->ctx, -EINVAL, "%s: MSI-X structure at 0x%llx crosses a "
				    "page", dev->name, (unsigned long long)offset);
	r = iommufd_device_region_mmap(dev, bar, start, pg, prot, page);
	if (r < 0)
		return r;
	return (long)(offset - start);
}

static int check_vector(struct iommufd_device *dev, const struct iommufd_msix_info *info,
			uint32_t vector)
{
	if (vector >= info->vectors)
		return iommufd_fail(dev->ctx, -EINVAL, "%s: MSI-X vector %u; the table has %u",
				    dev->name, vector, info->vectors);
	if (!info->table_mappable)
		return iommufd_fail(dev->ctx, -EOPNOTSUPP,
				    "%s: BAR%u cannot be mmap()ed over the MSI-X table (no "
				    "MSIX_MAPPABLE capability: a kernel before 4.16), so vectors "
				    "cannot be masked one by one", dev->name, info->table_bar);
	return 0;
}

/*
 * Map the 32-bit word that holds @vector's mask bit (its table entry's vector
 * control) or, with @pba, its pending bit: 0 with *@word in *@page (one page
 * to munmap()), or -errno.
 */
static int map_vector_word(struct iommufd_device *dev, uint32_t vector, bool pba, int prot,
			   void **page, volatile uint32_t **word)
{
	struct iommufd_msix_info info = { .sz = sizeof(info) };
	long off;
	int r;

	r = iommufd_device_msix_info(dev, &info);
	if (r < 0)
		return r;
	r = check_vector(dev, &info, vector);
	if (r < 0)
		return r;
	if (pba)
		off = map_page(dev, info.pba_bar, info.pba_offset + vector / 32 * 4, 4, prot, page);
	else
		off = map_page(dev, info.table_bar, info.table_offset +
			       (uint64_t)vector * MSIX_ENTRY_SIZE + MSIX_ENTRY_CTRL, 4, prot, page);
	if (off < 0)
		return (int)off;
	*word = (volatile uint32_t *)((char *)*page + off);
	return 0;
}

IOMMUFD_API int iommufd_device_msix_mask(struct iommufd_device *dev, uint32_t vector, bool mask)
{
	volatile uint32_t *ctrl;
	void *page;
	int r;

	check_arg(dev);
	r = map_vector_word(dev, vector, false, PROT_READ | PROT_WRITE, &page, &ctrl);
	if (r < 0)
		return r;
	*ctrl = mask ? (*ctrl | 1) : (*ctrl & ~1u);
	/* Read back: the write has reached the device before we return. */
	r = (*ctrl & 1) == mask ? 0 :
		iommufd_fail(dev->ctx, -EIO, "%s: MSI-X vector %u's mask bit did not %s",
			     dev->name, vector, mask ? "set" : "clear");
	xmunmap(page, sysconf(_SC_PAGESIZE));
	return r;
}

IOMMUFD_API int iommufd_device_msix_pending(struct iommufd_device *dev, uint32_t vector)
{
	volatile uint32_t *word;
	void *page;
	int r;

	check_arg(dev);
	r = map_vector_word(dev, vector, true, PROT_READ, &page, &word);
	if (r < 0)
		return r;
	r = (*word >> (vector % 32)) & 1;
	xmunmap(page, sysconf(_SC_PAGESIZE));
	return r;
}
