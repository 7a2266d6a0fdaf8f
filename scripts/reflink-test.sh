#!/usr/bin/env bash
# The reflink path of vault copies (src/vault/fsutil.rs `copy_verified_how`) on a file system
# that makes reflinks: an XFS image (reflink=1) on a loop device, mounted for the test and
# removed after. Needs root, mkfs.xfs (Debian xfsprogs) and a kernel with XFS; where any of
# them is missing it says so and exits 0 (the streamed path is tested everywhere by cargo test).
#   bash scripts/reflink-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ] || ! command -v mkfs.xfs >/dev/null || ! grep -qw xfs /proc/filesystems; then
  echo "reflink-test: skipped (needs root, mkfs.xfs and XFS in the kernel)"
  exit 0
fi
work=$(mktemp -d /tmp/mapvault-reflink.XXXXXX)
cleanup() {
  umount "$work/mnt" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/mnt"
truncate -s 320M "$work/xfs.img"
mkfs.xfs -q -m reflink=1 "$work/xfs.img"
if ! mount -o loop "$work/xfs.img" "$work/mnt" 2>/dev/null; then
  echo "reflink-test: skipped (cannot mount a loop device here)"
  exit 0
fi
MAPVAULT_REFLINK_DIR="$work/mnt" cargo test --locked --features failpoints --lib \
  vault::fsutil::tests::copies_are_reflinks_where_the_file_system_makes_them -- --exact
