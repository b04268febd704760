#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Build (once) the test guest's kernel for a variant and print the bzImage path.
#
#   tests/vm/kernel.sh [full|cdevonly|kcompat]
#
# full:     VFIO groups and the native type1 container (the reference).
# cdevonly: no groups and no container at all: legacy programs need compat/.
# kcompat:  iommufd's own compat container provides /dev/vfio/vfio.
#
# The kernel is cached under $CACHE_DIR/kernels, keyed by the Debian source
# version and a hash of the fragments, so only the first run pays.
set -euo pipefail
. "$(dirname "$0")/../../scripts/common.sh"

variant=${1:-full}
frags=("$VM_DIR/kconfig/base.config")
case $variant in
full) ;;
cdevonly|kcompat) frags+=("$VM_DIR/kconfig/$variant.config") ;;
*) die "unknown kernel variant '$variant' (full, cdevonly, kcompat)" ;;
esac

ver=$(ksrc_version)
hash=$(cat "${frags[@]}" | sha256sum | cut -c1-16)
out=$CACHE_DIR/kernels/$ver-$variant-$hash
if [ -f "$out/bzImage" ]; then
	echo "$out/bzImage"
	exit 0
fi

src=$(ksrc_dir)
mkdir -p "$CACHE_DIR/kernels"
exec 9>"$CACHE_DIR/kernels/.lock-$variant"
if ! flock -n 9; then
	log "waiting for another build of the $variant test kernel to finish..."
	flock 9
fi
[ -f "$out/bzImage" ] && { echo "$out/bzImage"; exit 0; }

obj=$CACHE_DIR/build/$variant-$hash
rm -rf "$obj"
mkdir -p "$obj"
# The output goes to logs, so say on stderr what takes these minutes and how
# long it should take (about 8 CPU-minutes: 4 minutes on 2 cores), then one
# line a minute: enough to show it is alive, few enough for a CI log.
cpus=$(nproc)
log "building the $variant test kernel (once, about $(((8 + cpus - 1) / cpus)) minutes on $cpus cores; log: $obj/build.log)..."
start=$SECONDS
t0=$(date +%s)
(
	while sleep 60 >/dev/null 2>&1; do
		log "... still building the $variant test kernel, $((($(date +%s) - t0) / 60)) min so far"
	done
) >/dev/null &
ticker=$!
trap 'kill $ticker 2>/dev/null' EXIT
{
	make -C "$src" O="$obj" tinyconfig
	KCONFIG_CONFIG="$obj/.config" "$src/scripts/kconfig/merge_config.sh" -m -O "$obj" \
		"$obj/.config" "${frags[@]}"
	make -C "$src" O="$obj" olddefconfig
} >"$obj/config.log" 2>&1 || { tail -20 "$obj/config.log" >&2; die "kernel configuration failed"; }

# merge_config.sh only warns when olddefconfig drops a symbol whose dependency
# is missing; a silently dropped IOMMUFD_TEST would turn tests into skips.
missing=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=n)
		sym=${line%%=*}
		if grep -q "^$sym=" "$obj/.config"; then
			echo "vm: $sym wanted off but is $(grep "^$sym=" "$obj/.config")" >&2
			missing=1
		fi ;;
	CONFIG_*=*)
		if ! grep -qx "$line" "$obj/.config"; then
			echo "vm: $line did not survive olddefconfig" >&2
			missing=1
		fi ;;
	esac
done < <(cat "${frags[@]}" | sed 's/[[:space:]]*#.*//' | grep '^CONFIG_' |
	awk -F= '{v[$1]=$0} END {for (k in v) print v[k]}')
[ $missing = 0 ] || die "the kernel config lost symbols; see above"

make -C "$src" O="$obj" -j"$(nproc)" bzImage >"$obj/build.log" 2>&1 ||
	{ tail -30 "$obj/build.log" >&2; die "kernel build failed (log: $obj/build.log)"; }
mkdir -p "$out.tmp"
cp "$obj/arch/x86/boot/bzImage" "$obj/.config" "$out.tmp/"
rm -rf "$out" && mv "$out.tmp" "$out"
rm -rf "$obj"
log "built the $variant test kernel in $((SECONDS - start)) s"
echo "$out/bzImage"
