#!/usr/bin/env bash
# Install oxmq as a libzmq: the shared library under libzmq's file names (libzmq.so.5.2.5,
# with the symlinks libzmq.so.5 and libzmq.so), the static libzmq.a, oxmq's zmq.h and
# zmq_utils.h, and a libzmq.pc for pkg-config: programs that build against libzmq then build,
# link and run against oxmq (COMPATIBILITY.md lists what differs).
#
#   bash scripts/install-libzmq-compat.sh                      # into /usr/local
#   bash scripts/install-libzmq-compat.sh --prefix "$HOME/.local"
#   DESTDIR=/tmp/stage bash scripts/install-libzmq-compat.sh --prefix /usr   # for packaging
#   bash scripts/install-libzmq-compat.sh --prefix P --lib-from DIR   # install libzmq.so and
#                                                        # libzmq.a already built in DIR
#
# Installing into the prefix of a system libzmq (/usr on Debian) replaces it for every
# program on the machine: prefer a prefix of its own and PKG_CONFIG_PATH/LD_LIBRARY_PATH.
# Without --lib-from it runs `cargo build --release -p oxmq-ffi` first (CARGO_TARGET_DIR is
# honoured).
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=/usr/local
lib_from=
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --lib-from) lib_from="$2"; shift 2 ;;
    --lib-from=*) lib_from="${1#--lib-from=}"; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$prefix" in
  /*) ;;
  *) echo "--prefix must be an absolute path, got $prefix" >&2; exit 2 ;;
esac

if [ -z "$lib_from" ]; then
  cargo build --release -p oxmq-ffi
  lib_from="${CARGO_TARGET_DIR:-target}/release"
fi
for f in libzmq.so libzmq.a; do
  [ -f "$lib_from/$f" ] || { echo "no $f in $lib_from" >&2; exit 1; }
done

dest="${DESTDIR:-}$prefix"
libdir="$prefix/lib"
install -d "$dest/lib/pkgconfig" "$dest/include"
# libzmq 4.3.5 installs libzmq.so.5.2.5; the soname inside ours is libzmq.so.5 as well.
install -m 755 "$lib_from/libzmq.so" "$dest/lib/libzmq.so.5.2.5"
ln -sf libzmq.so.5.2.5 "$dest/lib/libzmq.so.5"
ln -sf libzmq.so.5 "$dest/lib/libzmq.so"
install -m 644 "$lib_from/libzmq.a" "$dest/lib/libzmq.a"
install -m 644 crates/oxmq-ffi/include/zmq.h crates/oxmq-ffi/include/zmq_utils.h "$dest/include/"
sed -e "s|@PREFIX@|$prefix|g" -e "s|@LIBDIR@|$libdir|g" crates/oxmq-ffi/libzmq.pc.in \
  > "$dest/lib/pkgconfig/libzmq.pc"
chmod 644 "$dest/lib/pkgconfig/libzmq.pc"
echo "installed oxmq's libzmq 4.3.5 into $dest"
echo "  build:  PKG_CONFIG_PATH=$libdir/pkgconfig cc prog.c \$(pkg-config --cflags --libs libzmq)"
echo "  run:    LD_LIBRARY_PATH=$libdir ./prog   (unless $libdir is in the loader's path)"
