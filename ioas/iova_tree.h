/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to ioas/: an AVL tree of disjoint page-frame ranges, augmented so
 * that the highest free gap that fits a request below a limit is found
 * without visiting every range.
 *
 * Each node keeps the lowest and highest pfn of its subtree and the largest
 * free gap between two consecutive ranges inside it. A search skips every
 * subtree whose largest gap is too small or that lies wholly above the
 * limit, so it is O(log n) for unaligned requests. For aligned ones a gap
 * long enough but misaligned costs a look; after IOVA_MAX_MISSES of those
 * the search takes the highest gap long enough for any alignment instead,
 * so the worst case stays O(log n) (the kernel's allocator looks at every
 * gap on its way down).
 *
 * Nodes live in a pool of fixed-size chunks addressed by 32-bit indices:
 * 56 bytes a range, no per-node malloc header, and freed nodes are reused.
 */
#ifndef IOAS_IOVA_TREE_H
#define IOAS_IOVA_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IOVA_NIL 0u
/* 1024 nodes (56 KiB) a chunk: little unused tail at any size. */
#define IOVA_CHUNK_SHIFT 10
/* Misaligned candidates an aligned search looks at before it settles. */
#define IOVA_MAX_MISSES 32

struct iova_node {
	uint64_t lo, hi;		/* the range, inclusive pfns */
	uint64_t sub_lo, sub_hi;	/* lowest and highest pfn in the subtree */
	uint64_t max_gap;		/* largest gap between consecutive ranges inside */
	uint32_t left, right;
	uint8_t height;
	uint8_t flags;			/* IOVA_NODE_* */
};

enum {
	IOVA_NODE_RESERVED = 1 << 0,	/* never freed: anchors, reserved windows */
};

struct iova_tree {
	uint32_t root;
	struct iova_node **chunks;	/* pool */
	uint32_t nr_chunks;
	uint32_t next_unused;		/* first never-used index */
	uint32_t free_list;		/* reused nodes, linked through .left */
	size_t live;			/* nodes in the tree */
};

int iova_tree_init(struct iova_tree *t);
void iova_tree_destroy(struct iova_tree *t);

static inline struct iova_node *iova_node(const struct iova_tree *t, uint32_t i)
{
	return &t->chunks[i >> IOVA_CHUNK_SHIFT][i & ((1u << IOVA_CHUNK_SHIFT) - 1)];
}

/* Insert [lo, hi]: -EEXIST if it overlaps a range, -ENOMEM. */
int iova_tree_insert(struct iova_tree *t, uint64_t lo, uint64_t hi, uint8_t flags);
/* Remove the range starting at @lo: -ENOENT if none. Its flags go to @flags. */
int iova_tree_remove(struct iova_tree *t, uint64_t lo, uint64_t *hi, uint8_t *flags);
/* The range with the largest start <= @pfn, or NULL. */
struct iova_node *iova_tree_floor(const struct iova_tree *t, uint64_t pfn);
/* The range holding @pfn, or NULL. */
const struct iova_node *iova_tree_find(const struct iova_tree *t, uint64_t pfn);
/*
 * The highest start a with a + size - 1 <= limit and (a & ~mask) == 0 inside
 * a gap: 0 and *lo set, or -ENOSPC.
 */
int iova_tree_find_gap(const struct iova_tree *t, uint64_t size, uint64_t limit, uint64_t mask,
		       uint64_t *lo);
/* The largest free gap below @limit (for explanations). */
uint64_t iova_tree_largest_gap(const struct iova_tree *t, uint64_t limit, uint64_t *at);
/* Bytes of memory the tree holds. */
size_t iova_tree_memory(const struct iova_tree *t);

#endif
