#!/usr/bin/env bash
# A repository deleted and cloned again at the same path (what CI does between runs) must be
# what the Debian 13 chroot shows, not the deleted directory its old bind mount still holds.
# Needs root and a built chroot (scripts/trixie-root ensure). Exit 0 on pass.
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd -P)
ROOT=$("$SRC/scripts/trixie-root" path)
CLONE=$(mktemp -d /var/tmp/herald-stale-mount.XXXXXX)
cleanup() {
    mountpoint -q "$ROOT$CLONE" && umount "$ROOT$CLONE"
    rm -rf "$CLONE"
    rmdir "$ROOT$CLONE" 2>/dev/null
}
trap cleanup EXIT
fresh_clone() {
    mkdir -p "$CLONE/scripts" && cp "$SRC/scripts/trixie-root" "$CLONE/scripts/" && echo "$1" >"$CLONE/marker"
}
fresh_clone first && "$CLONE/scripts/trixie-root" mount || { echo "FAIL: first mount"; exit 1; }
rm -rf "$CLONE"
fresh_clone second && "$CLONE/scripts/trixie-root" mount || { echo "FAIL: second mount"; exit 1; }
seen=$(chroot "$ROOT" cat "$CLONE/marker" 2>&1)
if [ "$seen" != second ]; then
    echo "FAIL: the chroot shows '$seen' at $CLONE, expected the new clone's 'second'"
    exit 1
fi
echo "PASS: the chroot shows the new clone after the old one was deleted"
