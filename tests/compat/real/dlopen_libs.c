// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Loads libraries the program does not link, with dlopen(): their
 * constructors (libselinux reads /etc/selinux/config, gnutls and p11-kit
 * open their configuration) run after the shim's, from inside the loader,
 * and every later call they make goes through the shim. Prints what each
 * library answers, which must not change under the shim.
 */
#include <dlfcn.h>
#include <stdio.h>

int main(void)
{
	void *selinux, *gnutls, *z;
	int (*enabled)(void);
	const char *(*check)(const char *);
	const char *(*zver)(void);

	selinux = dlopen("libselinux.so.1", RTLD_NOW | RTLD_LOCAL);
	gnutls = dlopen("libgnutls.so.30", RTLD_NOW | RTLD_GLOBAL);
	z = dlopen("libz.so.1", RTLD_LAZY);
	if (!selinux || !gnutls || !z) {
		printf("dlopen failed: %s\n", dlerror());
		return 1;
	}
	enabled = (int (*)(void))dlsym(selinux, "is_selinux_enabled");
	check = (const char *(*)(const char *))dlsym(gnutls, "gnutls_check_version");
	zver = (const char *(*)(void))dlsym(z, "zlibVersion");
	if (!enabled || !check || !zver) {
		printf("dlsym failed: %s\n", dlerror());
		return 1;
	}
	printf("is_selinux_enabled: %d\n", enabled());
	printf("gnutls_check_version: %s\n", check(NULL));
	printf("zlibVersion: %s\n", zver());
	dlclose(z);
	dlclose(gnutls);
	dlclose(selinux);
	printf("dlclose: ok\n");
	return 0;
}
