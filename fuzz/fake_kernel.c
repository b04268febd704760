// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A fake iommufd and VFIO cdev for the fuzz harnesses: the ioctls libiommufd
 * and the compat shim make, answered as Linux 6.12 answers them (argument
 * sizes first, then IDs, then the request), over a model of each IOAS's
 * mappings that the harnesses compare their subjects' records with. The
 * model follows drivers/iommu/iommufd/io_pagetable.c where a program can
 * tell: a fixed map that overlaps is EEXIST, an unmap that cuts a mapping
 * is ENOENT and changes nothing, an unmap of nothing is ENOENT, IOVA ranges
 * say EMSGSIZE with the count when the array is short. What the hardware
 * would say (ranges, hw_info registers, region info with its capability
 * chain, hot-reset dependencies) comes from the input, as does any failure
 * that the kernel may give at any point (ENOMEM, EFAULT, EBUSY...).
 *
 * The fake writes only inside what the caller said it passed (argsz, the
 * array lengths): that much a real kernel guarantees, and a harness that
 * let the fake scribble elsewhere would find its own bugs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "fuzz.h"

#define MAX_OBJS 64
#define MAX_MAPS 512
#define MAX_RANGES 8
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

enum obj_type { OBJ_NONE, OBJ_IOAS, OBJ_HWPT, OBJ_DEVICE };

struct obj {
	enum obj_type type;
	uint32_t id;
	uint32_t ioas;		/* a HWPT's IOAS */
	bool dirty;		/* a HWPT allocated for dirty tracking */
	bool tracking;
};

struct map {
	uint32_t ioas;
	uint64_t iova, last;
};

/* One open of /dev/iommu: its objects, and what its IOASes map. */
struct inst {
	bool used;
	struct obj objs[MAX_OBJS];
	struct map maps[MAX_MAPS];
	int nr_maps;
	uint32_t compat_ioas;
};

struct cdev {
	bool used;
	struct inst *bound_to;	/* or NULL */
	uint32_t dev_id;
	uint32_t pt_id;
};

static struct {
	pthread_mutex_t lock;
	struct fake_kernel_opts o;
	struct inst insts[8];
	struct iommu_iova_range ranges[MAX_RANGES];
	uint32_t nr_ranges;
	uint64_t alignment;
	struct cdev cdevs[16];
} k = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The instance an ioctl runs in: objects and mappings are per iommufd. */
static __thread struct inst *in;

/* ---- the input: replies and faults ---------------------------------------- */

/* Errnos the kernel may answer any iommufd or VFIO ioctl with. */
static const int fault_errnos[] = { ENOMEM, EFAULT, EBUSY, EINVAL, ENOENT, EPERM, EIO,
				    ENOSPC, EOPNOTSUPP, ENODEV, EINTR, EOVERFLOW, EAGAIN,
				    ENXIO, ERANGE, EACCES };

/* One byte per ioctl: 0xf0 and up fail it with one of the errnos above. */
static int fault(void)
{
	uint8_t b = fz_u8(&k.o.faults);

	return b >= 0xf0 ? -fault_errnos[b & 0xf] : 0;
}

static struct fz *rep(void)
{
	return &k.o.replies;
}

/* ---- objects --------------------------------------------------------------- */

static struct obj *obj_get(uint32_t id, enum obj_type type)
{
	for (int i = 0; i < MAX_OBJS; i++)
		if (in->objs[i].type != OBJ_NONE && in->objs[i].id == id &&
		    (type == OBJ_NONE || in->objs[i].type == type))
			return &in->objs[i];
	return NULL;
}

/* The lowest free ID, as the kernel's xa_alloc() gives: IDs are reused. */
static struct obj *obj_new(enum obj_type type)
{
	uint32_t id = 1;

	while (obj_get(id, OBJ_NONE))
		id++;
	for (int i = 0; i < MAX_OBJS; i++) {
		if (in->objs[i].type != OBJ_NONE)
			continue;
		in->objs[i] = (struct obj){ .type = type, .id = id };
		return &in->objs[i];
	}
	return NULL;
}

/* An IOAS, or the IOAS of a HWPT: what a device attached to @pt_id sees. */
static struct obj *pt_get(uint32_t pt_id)
{
	struct obj *o = obj_get(pt_id, OBJ_NONE);

	return o && (o->type == OBJ_IOAS || o->type == OBJ_HWPT) ? o : NULL;
}

static struct inst *inst_of(int fd);

size_t fake_objects(int iommufd)
{
	size_t n = 0;

	pthread_mutex_lock(&k.lock);
	in = inst_of(iommufd);
	for (int i = 0; in && i < MAX_OBJS; i++)
		n += in->objs[i].type != OBJ_NONE;
	pthread_mutex_unlock(&k.lock);
	return n;
}

bool fake_ioas_exists(int iommufd, uint32_t ioas_id)
{
	bool r;

	pthread_mutex_lock(&k.lock);
	in = inst_of(iommufd);
	r = in && obj_get(ioas_id, OBJ_IOAS) != NULL;
	pthread_mutex_unlock(&k.lock);
	return r;
}

/* ---- the IOVA model --------------------------------------------------------- */

static int cmp_map(const void *a, const void *b)
{
	const struct map *x = a, *y = b;

	if (x->ioas != y->ioas)
		return x->ioas < y->ioas ? -1 : 1;
	return x->iova < y->iova ? -1 : x->iova > y->iova;
}

size_t fake_ioas_ranges_mapped(int iommufd, uint32_t ioas_id, struct fake_range *out,
			       size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&k.lock);
	in = inst_of(iommufd);
	if (!in) {
		pthread_mutex_unlock(&k.lock);
		return 0;
	}
	qsort(in->maps, in->nr_maps, sizeof(in->maps[0]), cmp_map);
	for (int i = 0; i < in->nr_maps; i++) {
		if (in->maps[i].ioas != ioas_id)
			continue;
		if (n && out[n - 1].last + 1 == in->maps[i].iova && out[n - 1].last != UINT64_MAX) {
			out[n - 1].last = in->maps[i].last;
			continue;
		}
		if (n == max)
			break;
		out[n++] = (struct fake_range){ in->maps[i].iova, in->maps[i].last };
	}
	pthread_mutex_unlock(&k.lock);
	return n;
}

static bool overlaps(uint32_t ioas, uint64_t iova, uint64_t last)
{
	for (int i = 0; i < in->nr_maps; i++)
		if (in->maps[i].ioas == ioas && in->maps[i].iova <= last && iova <= in->maps[i].last)
			return true;
	return false;
}

static bool usable(uint64_t iova, uint64_t last)
{
	if ((iova | (last + 1)) & (k.alignment - 1))
		return false;
	for (uint32_t i = 0; i < k.nr_ranges; i++)
		if (iova >= k.ranges[i].start && last <= k.ranges[i].last)
			return true;
	return false;
}

/* The kernel's choice of IOVA: first fit, aligned, in the usable ranges. */
static int pick_iova(uint32_t ioas, uint64_t length, uint64_t *iova)
{
	uint64_t align = k.alignment > 4096 ? k.alignment : 4096;

	for (uint32_t i = 0; i < k.nr_ranges; i++) {
		uint64_t at = (k.ranges[i].start + align - 1) & ~(align - 1);

		if (at < k.ranges[i].start)
			continue;
		while (at <= k.ranges[i].last && k.ranges[i].last - at >= length - 1) {
			uint64_t last = at + length - 1, next = at;

			if (!overlaps(ioas, at, last)) {
				*iova = at;
				return 0;
			}
			/* Past the mapping in the way. */
			for (int m = 0; m < in->nr_maps; m++)
				if (in->maps[m].ioas == ioas && in->maps[m].iova <= last &&
				    at <= in->maps[m].last && in->maps[m].last > next)
					next = in->maps[m].last;
			if (next == UINT64_MAX)
				break;
			next = (next + 1 + align - 1) & ~(align - 1);
			if (next <= at)
				break;
			at = next;
		}
	}
	return -ENOSPC;
}

static int add_map(uint32_t ioas, uint64_t iova, uint64_t length, bool fixed, uint64_t *out)
{
	int r;

	if (!length)
		return -EINVAL;
	if (fixed && iova + length - 1 < iova)
		return -EOVERFLOW;
	if (in->nr_maps == MAX_MAPS)
		return -ENOMEM;
	if (fixed) {
		if (!usable(iova, iova + length - 1))
			return -EINVAL;
		if (overlaps(ioas, iova, iova + length - 1))
			return -EEXIST;
	} else if ((r = pick_iova(ioas, length, &iova)) < 0) {
		return r;
	}
	in->maps[in->nr_maps++] = (struct map){ ioas, iova, iova + length - 1 };
	*out = iova;
	return 0;
}

/* iopt_unmap_iova(): every mapping inside [iova, last]; one cut is ENOENT. */
static int unmap(uint32_t ioas, uint64_t iova, uint64_t last, uint64_t *unmapped)
{
	uint64_t done = 0;

	for (int i = 0; i < in->nr_maps; i++)
		if (in->maps[i].ioas == ioas && in->maps[i].iova <= last && iova <= in->maps[i].last &&
		    (in->maps[i].iova < iova || in->maps[i].last > last))
			return -ENOENT;
	for (int i = 0; i < in->nr_maps;) {
		if (in->maps[i].ioas == ioas && in->maps[i].iova >= iova && in->maps[i].last <= last) {
			done += in->maps[i].last - in->maps[i].iova + 1;
			in->maps[i] = in->maps[--in->nr_maps];
		} else {
			i++;
		}
	}
	*unmapped = done;
	return done ? 0 : -ENOENT;
}

/* [iova, last] mapped whole, with no hole: what IOAS_COPY needs of its source. */
static bool covered(uint32_t ioas, uint64_t iova, uint64_t last)
{
	for (;;) {
		int i;

		for (i = 0; i < in->nr_maps; i++)
			if (in->maps[i].ioas == ioas && in->maps[i].iova <= iova && iova <= in->maps[i].last)
				break;
		if (i == in->nr_maps)
			return false;
		if (in->maps[i].last >= last)
			return true;
		iova = in->maps[i].last + 1;
	}
}

/* ---- iommufd ioctls ---------------------------------------------------------- */

/* The size rules: too small EINVAL; non-zero bytes the kernel does not know E2BIG. */
static int check_size(const void *arg, size_t min, size_t known)
{
	uint32_t size = *(const uint32_t *)arg;

	if (size < min)
		return -EINVAL;
	for (size_t i = known; i < size && i < 4096; i++)
		if (((const uint8_t *)arg)[i])
			return -E2BIG;
	return 0;
}

#define CHECK_SIZE(TYPE, LAST)                                                          \
	do {                                                                             \
		int r_ = check_size(arg, offsetof(struct TYPE, LAST) +                   \
					 sizeof(((struct TYPE *)0)->LAST), sizeof(struct TYPE)); \
		if (r_)                                                                  \
			return r_;                                                       \
	} while (0)

static uint32_t map_ioas(uint32_t id)
{
	struct obj *o = obj_get(id, OBJ_IOAS);

	return o ? o->id : 0;
}

static int ioas_map(struct iommu_ioas_map *m)
{
	uint32_t all = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE |
		       IOMMU_IOAS_MAP_READABLE;

	if (m->flags & ~all || m->__reserved)
		return -EOPNOTSUPP;
	if (!map_ioas(m->ioas_id))
		return -ENOENT;
	if (!m->length || m->user_va + m->length - 1 < m->user_va)
		return -EINVAL;
	return add_map(m->ioas_id, m->iova, m->length, m->flags & IOMMU_IOAS_MAP_FIXED_IOVA,
		       (uint64_t *)&m->iova);
}

static int ioas_copy(struct iommu_ioas_copy *c)
{
	if (!map_ioas(c->dst_ioas_id) || !map_ioas(c->src_ioas_id))
		return -ENOENT;
	if (!c->length || c->src_iova + c->length - 1 < c->src_iova)
		return -EINVAL;
	if (!covered(c->src_ioas_id, c->src_iova, c->src_iova + c->length - 1))
		return -ENOENT;
	return add_map(c->dst_ioas_id, c->dst_iova, c->length,
		       c->flags & IOMMU_IOAS_MAP_FIXED_IOVA, (uint64_t *)&c->dst_iova);
}

static int ioas_unmap(struct iommu_ioas_unmap *u)
{
	uint64_t done = 0;
	int r;

	if (!map_ioas(u->ioas_id))
		return -ENOENT;
	if (!u->iova && u->length == UINT64_MAX) {
		r = unmap(u->ioas_id, 0, UINT64_MAX, &done);
	} else {
		if (!u->length || u->iova + u->length - 1 < u->iova)
			return -EINVAL;
		r = unmap(u->ioas_id, u->iova, u->iova + u->length - 1, &done);
	}
	u->length = done;
	return r;
}

static int ioas_ranges(struct iommu_ioas_iova_ranges *r)
{
	if (!map_ioas(r->ioas_id))
		return -ENOENT;
	if (r->num_iovas < k.nr_ranges) {
		r->num_iovas = k.nr_ranges;
		return -EMSGSIZE;
	}
	memcpy((void *)(uintptr_t)r->allowed_iovas, k.ranges, k.nr_ranges * sizeof(k.ranges[0]));
	r->num_iovas = k.nr_ranges;
	r->out_iova_alignment = k.alignment;
	return 0;
}

static struct cdev *cdev_by_id(uint32_t dev_id)
{
	for (size_t i = 0; i < ARRAY_LEN(k.cdevs); i++)
		if (k.cdevs[i].used && k.cdevs[i].bound_to == in && k.cdevs[i].dev_id == dev_id)
			return &k.cdevs[i];
	return NULL;
}

static int hw_info(struct iommu_hw_info *h)
{
	uint8_t data[48];
	uint32_t len;

	if (!cdev_by_id(h->dev_id))
		return -ENOENT;
	if (h->flags)
		return -EOPNOTSUPP;
	/* The IOMMU's registers, from the input: VT-d (1), SMMUv3 (2) or none (0). */
	h->out_data_type = fz_below(rep(), 3);
	len = h->out_data_type == IOMMU_HW_INFO_TYPE_INTEL_VTD ? 24 :
	      h->out_data_type == 2 ? 40 : 0;
	fz_fill(rep(), data, len);
	h->out_capabilities = fz_u64(rep());
	if (h->data_len && h->data_uptr) {
		uint32_t n = len < h->data_len ? len : h->data_len;

		memcpy((void *)(uintptr_t)h->data_uptr, data, n);
		memset((uint8_t *)(uintptr_t)h->data_uptr + n, 0, h->data_len - n);
	}
	h->data_len = len;
	return 0;
}

static int hwpt_alloc(struct iommu_hwpt_alloc *a)
{
	struct obj *ioas = obj_get(a->pt_id, OBJ_IOAS), *h;

	if (!cdev_by_id(a->dev_id) || !ioas)
		return -ENOENT;
	if (a->flags & ~(uint32_t)(IOMMU_HWPT_ALLOC_NEST_PARENT |
				   IOMMU_HWPT_ALLOC_DIRTY_TRACKING | IOMMU_HWPT_FAULT_ID_VALID))
		return -EOPNOTSUPP;
	if (a->data_type != IOMMU_HWPT_DATA_NONE || a->data_len)
		return -EINVAL;
	if ((a->flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) && !k.o.dirty_capable)
		return -EOPNOTSUPP;
	h = obj_new(OBJ_HWPT);
	if (!h)
		return -ENOMEM;
	h->ioas = ioas->id;
	h->dirty = a->flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	a->out_hwpt_id = h->id;
	return 0;
}

static int dirty_bitmap(struct iommu_hwpt_get_dirty_bitmap *d)
{
	struct obj *h = obj_get(d->hwpt_id, OBJ_HWPT);
	uint64_t nbits, words;

	if (!h)
		return -ENOENT;
	if (!h->dirty || !h->tracking)
		return -EINVAL;
	if (!d->page_size || d->page_size & (d->page_size - 1) || d->page_size < 4096 ||
	    (d->iova | d->length) & (d->page_size - 1) || !d->length || d->data & 7)
		return -EINVAL;
	nbits = d->length / d->page_size;
	if (nbits > (1ULL << 31))
		return -EINVAL;
	words = (nbits + 63) / 64;
	/* The dirty bits of each word, from the input; none past the range. */
	for (uint64_t w = 0; w < words; w++) {
		uint64_t bits = fz_u64(rep());

		if (w == words - 1 && nbits % 64)
			bits &= (1ULL << (nbits % 64)) - 1;
		((uint64_t *)(uintptr_t)d->data)[w] |= bits;
	}
	return 0;
}

static int iommufd_ioctl(void *priv, int fd, unsigned long req, void *arg)
{
	struct obj *o;
	int r = 0;

	pthread_mutex_lock(&k.lock);
	in = priv;
	/* A probe with a zeroed struct: every 6.12 command checks the size first. */
	switch (req) {
	case IOMMU_DESTROY:
	case IOMMU_IOAS_ALLOC:
	case IOMMU_IOAS_ALLOW_IOVAS:
	case IOMMU_IOAS_COPY:
	case IOMMU_IOAS_IOVA_RANGES:
	case IOMMU_IOAS_MAP:
	case IOMMU_IOAS_UNMAP:
	case IOMMU_OPTION:
	case IOMMU_VFIO_IOAS:
	case IOMMU_HWPT_ALLOC:
	case IOMMU_GET_HW_INFO:
	case IOMMU_HWPT_SET_DIRTY_TRACKING:
	case IOMMU_HWPT_GET_DIRTY_BITMAP:
	case IOMMU_HWPT_INVALIDATE:
	case IOMMU_FAULT_QUEUE_ALLOC:
		if (!arg) {
			r = -EFAULT;	/* copy_from_user() of NULL */
			goto out;
		}
		if (*(uint32_t *)arg < 8) {
			r = -EINVAL;
			goto out;
		}
		break;
	case VFIO_IOMMU_MAP_DMA:
	case VFIO_IOMMU_UNMAP_DMA:
		if (!arg) {
			r = -EFAULT;
			goto out;
		}
		break;
	case VFIO_GET_API_VERSION:
	case VFIO_CHECK_EXTENSION:
		break;
	default:
		r = -ENOTTY;
		goto out;
	}
	if ((r = fault()) < 0)
		goto out;
	switch (req) {
	case IOMMU_DESTROY: {
		struct iommu_destroy *d = arg;

		CHECK_SIZE(iommu_destroy, id);
		o = obj_get(d->id, OBJ_NONE);
		if (!o || o->type == OBJ_DEVICE) {
			r = -ENOENT;
			break;
		}
		for (size_t i = 0; i < ARRAY_LEN(k.cdevs); i++)
			if (k.cdevs[i].used && k.cdevs[i].bound_to == in && k.cdevs[i].pt_id == o->id)
				r = -EBUSY;
		for (int i = 0; i < MAX_OBJS && o->type == OBJ_IOAS; i++)
			if (in->objs[i].type == OBJ_HWPT && in->objs[i].ioas == o->id)
				r = -EBUSY;
		if (r)
			break;
		if (o->type == OBJ_IOAS) {
			uint64_t done;

			unmap(o->id, 0, UINT64_MAX, &done);
			if (in->compat_ioas == o->id)
				in->compat_ioas = 0;
		}
		o->type = OBJ_NONE;
		break;
	}
	case IOMMU_IOAS_ALLOC: {
		struct iommu_ioas_alloc *a = arg;

		CHECK_SIZE(iommu_ioas_alloc, out_ioas_id);
		if (a->flags) {
			r = -EOPNOTSUPP;
			break;
		}
		o = obj_new(OBJ_IOAS);
		if (!o)
			r = -ENOMEM;
		else
			a->out_ioas_id = o->id;
		break;
	}
	case IOMMU_IOAS_MAP:
		CHECK_SIZE(iommu_ioas_map, iova);
		r = ioas_map(arg);
		break;
	case IOMMU_IOAS_COPY:
		CHECK_SIZE(iommu_ioas_copy, src_iova);
		r = ioas_copy(arg);
		break;
	case IOMMU_IOAS_UNMAP:
		CHECK_SIZE(iommu_ioas_unmap, length);
		r = ioas_unmap(arg);
		break;
	case IOMMU_IOAS_IOVA_RANGES:
		CHECK_SIZE(iommu_ioas_iova_ranges, out_iova_alignment);
		r = ioas_ranges(arg);
		break;
	case IOMMU_IOAS_ALLOW_IOVAS:
		CHECK_SIZE(iommu_ioas_allow_iovas, allowed_iovas);
		r = map_ioas(((struct iommu_ioas_allow_iovas *)arg)->ioas_id) ? 0 : -ENOENT;
		break;
	case IOMMU_OPTION:
		CHECK_SIZE(iommu_option, val64);
		break;
	case IOMMU_VFIO_IOAS: {
		struct iommu_vfio_ioas *v = arg;

		CHECK_SIZE(iommu_vfio_ioas, __reserved);
		if (v->op == IOMMU_VFIO_IOAS_GET) {
			v->ioas_id = in->compat_ioas;
			r = in->compat_ioas ? 0 : -ENOENT;
		} else if (v->op == IOMMU_VFIO_IOAS_SET) {
			r = map_ioas(v->ioas_id) ? 0 : -ENOENT;
			if (!r)
				in->compat_ioas = v->ioas_id;
		} else if (v->op == IOMMU_VFIO_IOAS_CLEAR) {
			in->compat_ioas = 0;
		} else {
			r = -EOPNOTSUPP;
		}
		break;
	}
	case IOMMU_GET_HW_INFO:
		CHECK_SIZE(iommu_hw_info, data_uptr);
		r = hw_info(arg);
		break;
	case IOMMU_HWPT_ALLOC:
		CHECK_SIZE(iommu_hwpt_alloc, data_uptr);
		r = hwpt_alloc(arg);
		break;
	case IOMMU_HWPT_SET_DIRTY_TRACKING: {
		struct iommu_hwpt_set_dirty_tracking *s = arg;

		CHECK_SIZE(iommu_hwpt_set_dirty_tracking, __reserved);
		o = obj_get(s->hwpt_id, OBJ_HWPT);
		if (!o)
			r = -ENOENT;
		else if (!o->dirty)
			r = -EINVAL;
		else
			o->tracking = s->flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE;
		break;
	}
	case IOMMU_HWPT_GET_DIRTY_BITMAP:
		CHECK_SIZE(iommu_hwpt_get_dirty_bitmap, data);
		r = dirty_bitmap(arg);
		break;
	case IOMMU_HWPT_INVALIDATE:
	case IOMMU_FAULT_QUEUE_ALLOC:
		r = -EOPNOTSUPP;
		break;
	case VFIO_GET_API_VERSION:
		r = VFIO_API_VERSION;
		break;
	case VFIO_CHECK_EXTENSION:
		r = (unsigned long)arg == VFIO_TYPE1_IOMMU || (unsigned long)arg == VFIO_TYPE1v2_IOMMU;
		break;
	case VFIO_IOMMU_MAP_DMA: {
		/* The kernel's own compat container, on the compat IOAS. */
		struct vfio_iommu_type1_dma_map *m = arg;
		uint64_t iova;

		if (!in->compat_ioas) {
			r = -ENODEV;
		} else if (m->argsz < offsetof(struct vfio_iommu_type1_dma_map, size) + 8 ||
			   m->flags & ~(uint32_t)(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)) {
			r = -EINVAL;
		} else {
			r = add_map(in->compat_ioas, m->iova, m->size, true, &iova);
		}
		break;
	}
	case VFIO_IOMMU_UNMAP_DMA: {
		struct vfio_iommu_type1_dma_unmap *u = arg;
		uint64_t done = 0;

		if (!in->compat_ioas) {
			r = -ENODEV;
			break;
		}
		if (u->argsz < offsetof(struct vfio_iommu_type1_dma_unmap, size) + 8 ||
		    u->flags & ~(uint32_t)VFIO_DMA_UNMAP_FLAG_ALL) {
			r = -EINVAL;
			break;
		}
		if (u->flags & VFIO_DMA_UNMAP_FLAG_ALL)
			r = unmap(in->compat_ioas, 0, UINT64_MAX, &done);
		else if (!u->size || u->iova + u->size - 1 < u->iova)
			r = -EINVAL;
		else
			r = unmap(in->compat_ioas, u->iova, u->iova + u->size - 1, &done);
		if (r == -ENOENT && !done)
			r = 0;	/* the compat container: nothing there is no error */
		u->size = done;
		break;
	}
	}
out:
	pthread_mutex_unlock(&k.lock);
	return r;
}

/* ---- VFIO cdev ioctls --------------------------------------------------------- */

/*
 * Region info: fixed fields and a capability chain, both from the input,
 * with the argsz protocol: a short buffer gets the fixed part and the size
 * it needs, never more than it said it holds.
 */
static int region_info(struct vfio_region_info *ri)
{
	uint32_t argsz = ri->argsz, index = ri->index, need;
	uint8_t reply[1024];
	struct vfio_region_info *full = (void *)reply;

	if (argsz < offsetof(struct vfio_region_info, offset) + 8)
		return -EINVAL;
	if (index >= fz_below(rep(), 12))
		return -EINVAL;
	need = sizeof(*full) + (uint32_t)fz_below(rep(), sizeof(reply) - sizeof(*full) + 1);
	need &= ~7u;
	if (need < sizeof(*full))
		need = sizeof(*full);
	fz_fill(rep(), reply, need);
	full->argsz = need;
	full->index = index;
	if (need > sizeof(*full) && argsz < need) {
		/* vfio_info_add_capability(): room for the caps or only the size. */
		full->flags |= VFIO_REGION_INFO_FLAG_CAPS;
		full->cap_offset = 0;
		memcpy(ri, full, argsz < sizeof(*full) ? argsz : sizeof(*full));
		return 0;
	}
	if (need == sizeof(*full))
		full->flags &= ~VFIO_REGION_INFO_FLAG_CAPS;
	memcpy(ri, full, need);
	return 0;
}

static int hot_reset_info(struct vfio_pci_hot_reset_info *hi)
{
	uint32_t count = (uint32_t)fz_below(rep(), 9), argsz = hi->argsz;
	size_t need = sizeof(*hi) + count * sizeof(hi->devices[0]);

	if (argsz < sizeof(*hi))
		return -EINVAL;
	hi->flags = fz_u8(rep()) & 3;
	hi->count = count;
	if (argsz < need)
		return -ENOSPC;
	fz_fill(rep(), hi->devices, count * sizeof(hi->devices[0]));
	return 0;
}

static int cdev_ioctl(void *priv, int fd, unsigned long req, void *arg)
{
	struct cdev *c = priv;
	int r;

	pthread_mutex_lock(&k.lock);
	r = fault();
	if (r < 0)
		goto out;
	/* Every cdev ioctl but reset takes a struct: NULL is copy_from_user()'s EFAULT. */
	if (!arg && req != VFIO_DEVICE_RESET) {
		r = -EFAULT;
		goto out;
	}
	switch (req) {
	case VFIO_DEVICE_BIND_IOMMUFD: {
		struct vfio_device_bind_iommufd *b = arg;
		struct obj *o;

		if (b->argsz < offsetof(struct vfio_device_bind_iommufd, out_devid) + 4 || b->flags) {
			r = -EINVAL;
		} else if (c->bound_to) {
			r = -EBUSY;
		} else if (!(in = inst_of(b->iommufd))) {
			r = -EBADF;
		} else if (!(o = obj_new(OBJ_DEVICE))) {
			r = -ENOMEM;
		} else {
			c->bound_to = in;
			c->dev_id = o->id;
			b->out_devid = o->id;
		}
		break;
	}
	case VFIO_DEVICE_ATTACH_IOMMUFD_PT: {
		struct vfio_device_attach_iommufd_pt *a = arg;

		if (a->argsz < offsetof(struct vfio_device_attach_iommufd_pt, pt_id) + 4 || a->flags)
			r = -EINVAL;
		else if (!(in = c->bound_to))
			r = -EINVAL;
		else if (!pt_get(a->pt_id))
			r = -ENOENT;
		else
			c->pt_id = a->pt_id;
		break;
	}
	case VFIO_DEVICE_DETACH_IOMMUFD_PT:
		if (!c->bound_to)
			r = -EINVAL;
		else
			c->pt_id = 0;
		break;
	case VFIO_DEVICE_GET_INFO: {
		struct vfio_device_info *i = arg;

		if (i->argsz < offsetof(struct vfio_device_info, num_irqs) + 4) {
			r = -EINVAL;
			break;
		}
		i->flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
		i->num_regions = VFIO_PCI_NUM_REGIONS;
		i->num_irqs = VFIO_PCI_NUM_IRQS;
		break;
	}
	case VFIO_DEVICE_GET_REGION_INFO:
		r = region_info(arg);
		break;
	case VFIO_DEVICE_GET_IRQ_INFO: {
		struct vfio_irq_info *i = arg;

		if (i->argsz < sizeof(*i) || i->index >= VFIO_PCI_NUM_IRQS) {
			r = -EINVAL;
			break;
		}
		i->flags = VFIO_IRQ_INFO_EVENTFD;
		i->count = fz_u8(rep()) % 4;
		break;
	}
	case VFIO_DEVICE_GET_PCI_HOT_RESET_INFO:
		r = hot_reset_info(arg);
		break;
	case VFIO_DEVICE_PCI_HOT_RESET:
	case VFIO_DEVICE_RESET:
	case VFIO_DEVICE_SET_IRQS:
	case VFIO_DEVICE_FEATURE:
		break;
	default:
		r = -ENOTTY;
	}
out:
	pthread_mutex_unlock(&k.lock);
	return r;
}

/* ---- set-up --------------------------------------------------------------------- */

void fake_kernel_no_faults(void)
{
	pthread_mutex_lock(&k.lock);
	k.o.faults.n = 0;
	pthread_mutex_unlock(&k.lock);
}

static struct inst *inst_of(int fd)
{
	return fake_fd_priv(fd, iommufd_ioctl);
}

bool fake_is_iommufd(int fd)
{
	return inst_of(fd) != NULL;
}

/* The last fd of an iommufd closed: every object it made goes, devices unbind. */
static void iommufd_release(void *priv)
{
	struct inst *i = priv;

	pthread_mutex_lock(&k.lock);
	for (size_t c = 0; c < ARRAY_LEN(k.cdevs); c++)
		if (k.cdevs[c].used && k.cdevs[c].bound_to == i)
			k.cdevs[c].bound_to = NULL;
	memset(i, 0, sizeof(*i));
	pthread_mutex_unlock(&k.lock);
}

/* The last fd of a cdev closed: it unbinds, and its device object goes. */
static void cdev_release(void *priv)
{
	struct cdev *c = priv;

	pthread_mutex_lock(&k.lock);
	if (c->bound_to) {
		in = c->bound_to;
		for (int o = 0; o < MAX_OBJS; o++)
			if (in->objs[o].type == OBJ_DEVICE && in->objs[o].id == c->dev_id)
				in->objs[o].type = OBJ_NONE;
	}
	memset(c, 0, sizeof(*c));
	pthread_mutex_unlock(&k.lock);
}

int fake_iommufd_open(void)
{
	struct inst *i = NULL;

	pthread_mutex_lock(&k.lock);
	for (size_t n = 0; n < ARRAY_LEN(k.insts) && !i; n++)
		if (!k.insts[n].used)
			i = &k.insts[n];
	if (i) {
		memset(i, 0, sizeof(*i));
		i->used = true;
	}
	pthread_mutex_unlock(&k.lock);
	if (!i) {
		errno = EMFILE;
		return -1;
	}
	return fake_fd_new(iommufd_ioctl, iommufd_release, i, "/dev/iommu");
}

int fake_vfio_cdev_open(void)
{
	struct cdev *c = NULL;
	char link[64];
	size_t n;

	pthread_mutex_lock(&k.lock);
	for (n = 0; n < ARRAY_LEN(k.cdevs) && !c; n++)
		if (!k.cdevs[n].used)
			c = &k.cdevs[n];
	if (c)
		*c = (struct cdev){ .used = true };
	pthread_mutex_unlock(&k.lock);
	if (!c) {
		errno = EMFILE;
		return -1;
	}
	snprintf(link, sizeof(link), "/dev/vfio/devices/vfio%zu", n - 1);
	return fake_fd_new(cdev_ioctl, cdev_release, c, link);
}

/* As fake.c's table lock, around fork(): taken before it (see fake_reset()). */
static void lock_take(void)
{
	pthread_mutex_lock(&k.lock);
}

static void lock_give(void)
{
	pthread_mutex_unlock(&k.lock);
}

static void kernel_atfork(void)
{
	pthread_atfork(lock_take, lock_give, lock_give);
}

void fake_kernel_reset(const struct fake_kernel_opts *opts)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, kernel_atfork);
	pthread_mutex_lock(&k.lock);
	memset(k.insts, 0, sizeof(k.insts));
	memset(k.cdevs, 0, sizeof(k.cdevs));
	k.o = *opts;
	/*
	 * The usable IOVA ranges, sorted and disjoint as the kernel reports them:
	 * those of VT-d (below and above the MSI window) unless the input says.
	 */
	k.nr_ranges = (uint32_t)fz_below(rep(), MAX_RANGES + 1);
	if (!k.nr_ranges) {
		k.ranges[0] = (struct iommu_iova_range){ 0, 0xfedfffff };
		k.ranges[1] = (struct iommu_iova_range){ 0xfef00000, 0xffffffffffffULL };
		k.nr_ranges = 2;
		k.alignment = 4096;
	} else {
		uint64_t at = 0;
		uint32_t n = 0;

		for (uint32_t i = 0; i < k.nr_ranges; i++) {
			uint64_t gap = (fz_u32(rep()) & ~0xfffULL) | (i ? 0x1000 : 0);
			uint64_t len = fz_u64(rep()) | 0xfff;

			if (i && (at == 0 || at + gap < at))
				break;
			if (at + gap + len < at + gap)
				len = UINT64_MAX - (at + gap);
			k.ranges[n++] = (struct iommu_iova_range){ at + gap, at + gap + len };
			at = at + gap + len + 1;
		}
		k.nr_ranges = n;
		k.alignment = 1ULL << (fz_u8(rep()) % 13);
	}
	pthread_mutex_unlock(&k.lock);
}
