#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install into a scratch DESTDIR and use the result as a user would: the
# exported symbols must be exactly the version map's, the headers and
# pkg-config file must build and link a program against the shared library,
# and the man pages must be there. Prints TAP and a summary line.
set -uo pipefail
O=${O:-build}
# A sanitizer build installs an instrumented library: its users need the runtime too.
san=${SANITIZE:+-fsanitize=address,undefined}
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
n=0 fail=0
check() {
	n=$((n + 1))
	if "$@" >/tmp/install-check.$$ 2>&1; then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"
		sed 's/^/#   /' /tmp/install-check.$$
		fail=$((fail + 1))
	fi
	rm -f /tmp/install-check.$$
}

desc="make install PREFIX=/opt/iommufd DESTDIR=..."
check make -s install O="$O" PREFIX=/opt/iommufd DESTDIR="$dest"

desc="soname is libiommufd.so.0"
check bash -c "readelf -d '$dest/opt/iommufd/lib/libiommufd.so.0' | grep -q 'SONAME.*libiommufd.so.0'"

desc="exported symbols are exactly the version map's"
check bash -c "diff <(nm -D --defined-only '$dest/opt/iommufd/lib/libiommufd.so.0' | awk '\$2 == \"T\" {sub(/@.*/, \"\", \$3); print \$3}' | sort) \
	<(grep -oE '^[[:space:]]+(iommufd|ioas)_[a-z0-9_]+;' libiommufd/libiommufd.map | tr -d ' \t;' | sort)"

desc="every exported symbol carries the version of its node in the map"
check bash -c "diff <(nm -D --defined-only '$dest/opt/iommufd/lib/libiommufd.so.0' | awk '\$2 == \"T\" {sub(/@@/, \" \", \$3); print \$3}' | sort) \
	<(awk '/^LIBIOMMUFD_[0-9A-Z_.]+ *\\{/ {v = \$1} /^[[:space:]]+(iommufd|ioas)_[a-z0-9_]+;/ {gsub(/[ \t;]/, \"\"); print \$0, v}' libiommufd/libiommufd.map | sort)"

desc="a program builds and runs against the installed library via pkg-config"
check bash -c "
	export PKG_CONFIG_SYSROOT_DIR='$dest' PKG_CONFIG_LIBDIR='$dest/opt/iommufd/lib/pkgconfig'
	printf '#include <iommufd/iommufd.h>\n#include <stdio.h>\nint main(void) { char b[128]; iommufd_strerror(-16, b, sizeof(b)); puts(b); return 0; }\n' > '$dest/t.c'
	cc $san '$dest/t.c' -o '$dest/t' \$(pkg-config --cflags --libs libiommufd) -Wl,-rpath,'$dest/opt/iommufd/lib'
	'$dest/t' | grep -q 'still in use'"

desc="libiommufd-async: soname, and exactly the version map's symbols"
check bash -c "readelf -d '$dest/opt/iommufd/lib/libiommufd-async.so.0' | grep -q 'SONAME.*libiommufd-async.so.0' &&
	diff <(nm -D --defined-only '$dest/opt/iommufd/lib/libiommufd-async.so.0' | awk '\$2 == \"T\" {sub(/@.*/, \"\", \$3); print \$3}' | sort) \
	<(grep -oE '^[[:space:]]+iommufd_[a-z0-9_]+;' async/libiommufd-async.map | tr -d ' \t;' | sort)"

desc="a program using libiommufd-async builds and runs via pkg-config"
check bash -c "
	export PKG_CONFIG_SYSROOT_DIR='$dest' PKG_CONFIG_LIBDIR='$dest/opt/iommufd/lib/pkgconfig:/usr/lib/x86_64-linux-gnu/pkgconfig:/usr/share/pkgconfig'
	printf '#include <iommufd/async.h>\n#include <stdio.h>\nint main(void) { struct iommufd_async *a; IOMMUFD_OPTS(iommufd_async_opts, o, .flags = IOMMUFD_ASYNC_SYNC); if (iommufd_async_new(NULL, &o, &a)) return 1; puts(iommufd_async_describe(a)); iommufd_async_free(a); return 0; }\n' > '$dest/a.c'
	cc $san '$dest/a.c' -o '$dest/a' \$(pkg-config --cflags --libs libiommufd-async) -Wl,-rpath,'$dest/opt/iommufd/lib'
	LD_LIBRARY_PATH='$dest/opt/iommufd/lib' '$dest/a' | grep -q 'synchronous: asked for'"

# LIBIOMMUFD_PRIVATE is exported for the project's own libraries, not for programs: no pages.
desc="every exported function has a man page, and pages render without warnings"
check bash -c "
	for s in \$(awk '/^LIB[A-Z_]+PRIVATE *\\{/ {p = 1} /^}/ {p = 0} !p' libiommufd/libiommufd.map async/libiommufd-async.map |
			grep -oE '^[[:space:]]+(iommufd|ioas)_[a-z0-9_]+;' | tr -d ' \t;'); do
		[ -f Documentation/man/\$s.3 ] || { echo \"no page for \$s\"; exit 1; }
	done
	for f in Documentation/man/*.[378]; do
		grep -q '^\.so ' \$f && continue
		out=\$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww \$f 2>&1 >/dev/null)
		[ -z \"\$out\" ] || { echo \"\$f: \$out\"; exit 1; }
	done"

desc="man pages are installed"
check bash -c "ls '$dest/opt/iommufd/share/man/man7/libiommufd.7' '$dest/opt/iommufd/share/man/man3/iommufd_ioas_map.3'"

echo "install: $((n - fail)) passed, $fail failed, 0 skipped"
[ $fail = 0 ]
