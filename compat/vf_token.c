// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * SR-IOV VF tokens, as far as this process can know them.
 *
 * vfio-pci checks a "BDF vf_token=UUID" name against the token set on the
 * PF (vfio_pci_validate_vf_token()), but only on the group path: 6.12's
 * cdev bind takes no token. So the shim checks it itself, against the
 * tokens set on PFs through it in this process (a PF name with a token, or
 * VFIO_DEVICE_FEATURE_PCI_VF_TOKEN on a PF's device fd), and counts the VFs
 * it opened with one, as vfio-pci counts VF users. A PF whose token was set
 * elsewhere is unknown here, and its VFs are refused rather than opened on
 * trust.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"

struct pf_token {
	char pf[16];
	uint8_t uuid[16];
	int vf_users;		/* VF device fds this process opened with the token */
};

static struct pf_token *tokens;
static size_t nr_tokens;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void lock_tokens(void)
{
	pthread_mutex_lock(&lock);
}

static void unlock_tokens(void)
{
	pthread_mutex_unlock(&lock);
}

/* No fork() may leave the lock held in the child. */
static void install_atfork(void)
{
	pthread_atfork(lock_tokens, unlock_tokens, unlock_tokens);
}

static struct pf_token *find(const char *pf)
{
	for (size_t i = 0; i < nr_tokens; i++)
		if (!strcmp(tokens[i].pf, pf))
			return &tokens[i];
	return NULL;
}

int compat_vf_token_set(const char *pf, const uint8_t *uuid)
{
	struct pf_token *t, *tmp;
	int r = 0;

	pthread_once(&once, install_atfork);
	lock_tokens();
	t = find(pf);
	if (!t) {
		tmp = realloc(tokens, (nr_tokens + 1) * sizeof(*tokens));
		if (tmp) {
			tokens = tmp;
			t = &tokens[nr_tokens++];
			memset(t, 0, sizeof(*t));
			snprintf(t->pf, sizeof(t->pf), "%s", pf);
		} else {
			r = -ENOMEM;
		}
	}
	if (t)
		memcpy(t->uuid, uuid, sizeof(t->uuid));
	unlock_tokens();
	return r;
}

int compat_vf_token_check(const char *pf, bool for_vf, const uint8_t *uuid)
{
	struct pf_token *t;
	int r;

	pthread_once(&once, install_atfork);
	lock_tokens();
	t = find(pf);
	if (for_vf) {
		/* A VF: the PF's token, or no access. */
		if (!uuid)
			r = -EACCES;
		else if (!t)
			r = -ENOKEY;
		else
			r = memcmp(t->uuid, uuid, sizeof(t->uuid)) ? -EACCES : 0;
	} else {
		/* A PF with VFs in use: whoever opens it proves it knows their token. */
		if (!t || !t->vf_users)
			r = 0;
		else if (!uuid || memcmp(t->uuid, uuid, sizeof(t->uuid)))
			r = -EACCES;
		else
			r = 0;
	}
	unlock_tokens();
	return r;
}

void compat_vf_token_use(const char *pf, int delta)
{
	struct pf_token *t;

	pthread_once(&once, install_atfork);
	lock_tokens();
	t = find(pf);
	if (t)
		t->vf_users += delta;
	unlock_tokens();
}
