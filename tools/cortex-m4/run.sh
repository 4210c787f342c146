#!/bin/sh
# Runs a harness image (build.sh) on QEMU's Cortex-M4 board with deterministic instruction timing.
# Usage: tools/cortex-m4/run.sh OUT.elf WORKDIR [TIMEOUT_SECONDS]   (default 600)
# WORKDIR holds input.bin; output.bin and counts.txt are written there. Exit status: the firmware's
# (0 ok, 2 bad input, 3 CPU fault, 4 run returned non-zero, 5 output error), 124 on timeout.
set -eu

die() { echo "cortex-m4/run.sh: error: $*" >&2; exit 1; }

[ $# -ge 2 ] && [ $# -le 3 ] || die "usage: run.sh OUT.elf WORKDIR [TIMEOUT_SECONDS]"
ELF=$1 WORKDIR=$2 LIMIT=${3:-600}
case $LIMIT in '' | *[!0-9]*) die "timeout '$LIMIT' is not a whole number of seconds" ;; esac
[ -f "$ELF" ] || die "firmware $ELF does not exist"
[ -d "$WORKDIR" ] || die "working directory $WORKDIR does not exist"
command -v qemu-system-arm >/dev/null 2>&1 || die "qemu-system-arm not found; install qemu-system-arm (scripts/setup.sh does)"
ELF=$(cd "$(dirname "$ELF")" && pwd)/$(basename "$ELF")

# -icount shift=0: each guest instruction is 1 ns of virtual time; sleep=off and align=off keep the
# virtual clock independent of host speed, so counts repeat exactly run to run.
cd "$WORKDIR"
status=0
timeout -k 5 "$LIMIT" qemu-system-arm -M mps2-an386 -cpu cortex-m4 -nographic -monitor none -serial stdio \
  -icount shift=0,align=off,sleep=off -semihosting-config enable=on,target=native -kernel "$ELF" \
  </dev/null || status=$?
[ $status -ne 124 ] || echo "cortex-m4/run.sh: error: QEMU did not finish within $LIMIT s" >&2
exit $status
