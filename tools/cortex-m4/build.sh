#!/bin/sh
# Builds the Cortex-M4 harness around an export-c library into a QEMU mps2-an386 firmware image.
# Usage: tools/cortex-m4/build.sh LIBDIR PREFIX OUT.elf
#   LIBDIR  holds PREFIX.h (PREFIX_run; PREFIX_INPUT_SIZE, _OUTPUT_SIZE, _ARENA_SIZE with PREFIX upper-cased) and
#           the library's *.c files (all are compiled)
# Prints arm-none-eabi-size of OUT.elf and the library's own flash: text + data of LIBDIR's objects
# (before --gc-sections, an upper bound) and what the link kept of them (from the link map).
set -eu

die() { echo "cortex-m4/build.sh: error: $*" >&2; exit 1; }

[ $# -eq 3 ] || die "usage: build.sh LIBDIR PREFIX OUT.elf"
LIBDIR=$1 PREFIX=$2 OUT=$3
HERE=$(cd "$(dirname "$0")" && pwd)

case $PREFIX in
  '' | [0-9]* | *[!A-Za-z0-9_]*) die "prefix '$PREFIX' is not a C identifier" ;;
esac
[ -d "$LIBDIR" ] || die "library directory $LIBDIR does not exist"
[ -f "$LIBDIR/$PREFIX.h" ] || die "$LIBDIR/$PREFIX.h does not exist (wrong LIBDIR or PREFIX?)"
set -- "$LIBDIR"/*.c
[ -f "$1" ] || die "$LIBDIR has no .c files"
for tool in arm-none-eabi-gcc arm-none-eabi-size; do
  command -v $tool >/dev/null 2>&1 ||
    die "$tool not found; install gcc-arm-none-eabi and libnewlib-arm-none-eabi (scripts/setup.sh does)"
done

CC=arm-none-eabi-gcc
CFLAGS="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -O2 -std=c99 -ffunction-sections -fdata-sections -Wall -Wextra"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tinyptq-m4-XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
mkdir "$WORK/lib" "$WORK/harness"

# The harness reaches the library only through these names; the size macros are PREFIX in upper case
# (export-c writes model_run and MODEL_INPUT_SIZE).
UPPER=$(printf '%s' "$PREFIX" | tr 'a-z' 'A-Z')
cat >"$WORK/model_config.h" <<EOH
#include "$PREFIX.h"
#define MODEL_NAME "$PREFIX"
#define MODEL_RUN ${PREFIX}_run
#define MODEL_INPUT_SIZE ${UPPER}_INPUT_SIZE
#define MODEL_OUTPUT_SIZE ${UPPER}_OUTPUT_SIZE
#define MODEL_ARENA_SIZE ${UPPER}_ARENA_SIZE
EOH

for src in "$@"; do
  $CC $CFLAGS -I"$LIBDIR" -c "$src" -o "$WORK/lib/$(basename "$src" .c).o" ||
    die "compiling $src failed"
done
for src in startup semihosting main; do
  $CC $CFLAGS -I"$WORK" -I"$LIBDIR" -I"$HERE" -c "$HERE/$src.c" -o "$WORK/harness/$src.o" ||
    die "compiling the harness ($src.c) against $LIBDIR/$PREFIX.h failed"
done

# Link to a temporary beside OUT, then rename: OUT is either the old or the complete new image.
TMP_OUT="$OUT.tmp-$$"
$CC $CFLAGS -nostartfiles -T"$HERE/mps2_an386.ld" -Wl,--gc-sections -Wl,-Map="$WORK/fw.map" \
  "$WORK"/harness/*.o "$WORK"/lib/*.o -o "$TMP_OUT" || { rm -f "$TMP_OUT"; die "linking $OUT failed"; }
mv -f "$TMP_OUT" "$OUT"

arm-none-eabi-size "$OUT"
# size -t: the last line sums text (code + rodata: weights), data and bss of the library's objects.
arm-none-eabi-size -t "$WORK"/lib/*.o | awk 'END {
  printf "library flash (weights + code): %d bytes (text %d + data %d of the library objects); library bss %d\n",
         $1 + $2, $1, $2, $3 }'
# What --gc-sections kept of those objects, from the link map (libc/libgcc helpers not included).
awk -v objdir="$WORK/lib/" -f "$HERE/lib_sections.awk" "$WORK/fw.map" | awk '{
  printf "library flash kept after --gc-sections: %d bytes; library static RAM (.data + .bss): %d bytes\n", $1, $2 }'
