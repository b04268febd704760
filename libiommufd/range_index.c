// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The range index: an AVL tree of disjoint [start, last] ranges with parent
 * pointers (see range_index.h for why). Parent pointers give next/prev and
 * the post-order clear without a stack, and let remove work from the node
 * alone. Rebalancing walks up from the change and stops at the first subtree
 * whose height came out as it was: nothing above it can have changed.
 */
#include <assert.h>
#include <errno.h>

#include "range_index.h"

static inline int height(const struct range_node *n)
{
	return n ? n->height : 0;
}

static void update_height(struct range_node *n)
{
	int l = height(n->left), r = height(n->right);

	n->height = 1 + (l > r ? l : r);
}

/* Hang @child (may be NULL) where @old hung below @parent, or at the root. */
static void replace_child(struct range_index *ix, struct range_node *parent,
			  struct range_node *old, struct range_node *child)
{
	if (!parent)
		ix->root = child;
	else if (parent->left == old)
		parent->left = child;
	else
		parent->right = child;
	if (child)
		child->parent = parent;
}

/* @x's right child takes its place, @x becomes its left child. */
static struct range_node *rotate_left(struct range_index *ix, struct range_node *x)
{
	struct range_node *y = x->right;

	replace_child(ix, x->parent, x, y);
	x->right = y->left;
	if (x->right)
		x->right->parent = x;
	y->left = x;
	x->parent = y;
	update_height(x);
	update_height(y);
	return y;
}

static struct range_node *rotate_right(struct range_index *ix, struct range_node *x)
{
	struct range_node *y = x->left;

	replace_child(ix, x->parent, x, y);
	x->left = y->right;
	if (x->left)
		x->left->parent = x;
	y->right = x;
	x->parent = y;
	update_height(x);
	update_height(y);
	return y;
}

/* Restore the AVL balance at @n, whose subtrees are AVL trees; the subtree's new root. */
static struct range_node *rebalance(struct range_index *ix, struct range_node *n)
{
	int bf = height(n->left) - height(n->right);

	if (bf > 1) {
		if (height(n->left->left) < height(n->left->right))
			rotate_left(ix, n->left);
		return rotate_right(ix, n);
	}
	if (bf < -1) {
		if (height(n->right->right) < height(n->right->left))
			rotate_right(ix, n->right);
		return rotate_left(ix, n);
	}
	update_height(n);
	return n;
}

/* Rebalance from @n, one of whose subtrees changed height, up to the root. */
static void fixup(struct range_index *ix, struct range_node *n)
{
	while (n) {
		int old = n->height;

		n = rebalance(ix, n);
		if (n->height == old)
			break;
		n = n->parent;
	}
}

int range_index_insert(struct range_index *ix, struct range_node *n, struct range_node **hit)
{
	struct range_node **link = &ix->root, *parent = NULL;

	assert(n->start <= n->last);
	/*
	 * Everything right of a node starts after its last, everything left
	 * of it ends before its start, so a range overlapping @n, if any, lies
	 * on this path.
	 */
	while (*link) {
		parent = *link;
		if (n->last < parent->start) {
			link = &parent->left;
		} else if (n->start > parent->last) {
			link = &parent->right;
		} else {
			if (hit)
				*hit = range_index_first(ix, n->start, n->last);
			return -EEXIST;
		}
	}
	n->left = n->right = NULL;
	n->parent = parent;
	n->height = 1;
	*link = n;
	ix->count++;
	fixup(ix, parent);
	return 0;
}

void range_index_remove(struct range_index *ix, struct range_node *n)
{
	struct range_node *from, *s;

	assert(ix->count);
	if (!n->left || !n->right) {
		from = n->parent;
		replace_child(ix, from, n, n->left ? n->left : n->right);
	} else {
		/*
		 * Two children: the successor @s (leftmost of the right subtree,
		 * so without a left child) takes @n's place, height included.
		 * The subtree that lost a node is where @s was.
		 */
		s = n->right;
		while (s->left)
			s = s->left;
		if (s->parent == n) {
			from = s;
		} else {
			from = s->parent;
			from->left = s->right;
			if (s->right)
				s->right->parent = from;
			s->right = n->right;
			s->right->parent = s;
		}
		s->left = n->left;
		s->left->parent = s;
		s->height = n->height;
		replace_child(ix, n->parent, n, s);
	}
	n->left = n->right = n->parent = NULL;
	ix->count--;
	fixup(ix, from);
}

struct range_node *range_index_find(const struct range_index *ix, uint64_t addr)
{
	struct range_node *n = ix->root;

	while (n) {
		if (addr < n->start)
			n = n->left;
		else if (addr > n->last)
			n = n->right;
		else
			return n;
	}
	return NULL;
}

struct range_node *range_index_first(const struct range_index *ix, uint64_t start, uint64_t last)
{
	struct range_node *n = ix->root, *best = NULL;

	/* The lowest range not wholly below @start; it overlaps if it starts by @last. */
	while (n) {
		if (n->last >= start) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best && best->start <= last ? best : NULL;
}

struct range_node *range_index_min(const struct range_index *ix)
{
	struct range_node *n = ix->root;

	while (n && n->left)
		n = n->left;
	return n;
}

struct range_node *range_index_max(const struct range_index *ix)
{
	struct range_node *n = ix->root;

	while (n && n->right)
		n = n->right;
	return n;
}

struct range_node *range_index_next(const struct range_node *n)
{
	const struct range_node *p;

	if (n->right) {
		n = n->right;
		while (n->left)
			n = n->left;
		return (struct range_node *)n;
	}
	/* Up until we come from a left child: that parent is next. */
	for (p = n->parent; p && n == p->right; p = p->parent)
		n = p;
	return (struct range_node *)p;
}

struct range_node *range_index_prev(const struct range_node *n)
{
	const struct range_node *p;

	if (n->left) {
		n = n->left;
		while (n->right)
			n = n->right;
		return (struct range_node *)n;
	}
	for (p = n->parent; p && n == p->left; p = p->parent)
		n = p;
	return (struct range_node *)p;
}

void range_index_clear(struct range_index *ix, void (*fn)(struct range_node *n, void *data),
		       void *data)
{
	struct range_node *n = ix->root, *p;

	/* Post-order without a stack: cut each leaf off its parent before @fn sees it. */
	while (n) {
		if (n->left) {
			n = n->left;
		} else if (n->right) {
			n = n->right;
		} else {
			p = n->parent;
			if (p && p->left == n)
				p->left = NULL;
			else if (p)
				p->right = NULL;
			if (fn)
				fn(n, data);
			n = p;
		}
	}
	range_index_init(ix);
}
