/* Runs an export-c library on every image of input.bin and writes output.bin and counts.txt in QEMU's
 * working directory (semihosting).
 *   input.bin   N x MODEL_INPUT_SIZE int8 (N = file size / MODEL_INPUT_SIZE, must divide exactly)
 *   output.bin  N x MODEL_OUTPUT_SIZE int8, image order kept
 *   counts.txt  one line per image: "<index> <timer ticks> <instructions>", timed around MODEL_RUN only
 * Both outputs are written as *.partial and renamed when every image is done, so after a failed run
 * neither exists in a half-written state. Exit status: 0 ok, 2 bad/missing input, 3 CPU fault
 * (startup.c), 4 MODEL_RUN returned non-zero, 5 cannot write an output.
 * model_config.h comes from build.sh and maps MODEL_* to the library's PREFIX_* names. */
#include <stdint.h>

#include "apb_timer.h"
#include "model_config.h"
#include "semihosting.h"
#include "startup.h"

#define ARENA_BYTES (MODEL_ARENA_SIZE > 0 ? MODEL_ARENA_SIZE : 1)

static int8_t input[MODEL_INPUT_SIZE] __attribute__((aligned(8)));
static int8_t output[MODEL_OUTPUT_SIZE] __attribute__((aligned(8)));
static uint8_t arena[ARENA_BYTES] __attribute__((aligned(8)));

/* Appends the decimal digits of v at p; returns the new end. */
static char* put_u64(char* p, uint64_t v) {
  char digits[20];
  int n = 0;
  do {
    digits[n++] = (char)('0' + (int)(v % 10u));
    v /= 10u;
  } while (v != 0);
  while (n > 0) *p++ = digits[--n];
  return p;
}

static char* put_str(char* p, const char* s) {
  while (*s) *p++ = *s++;
  return p;
}

/* Prints "cortex-m4 harness: error: <what><number>" (number only when >= 0), drops the partial
 * outputs and returns status. */
static int fail(const char* what, int64_t number, int status) {
  char line[192];
  char* p = put_str(line, "cortex-m4 harness: error: ");
  p = put_str(p, what);
  if (number >= 0) p = put_u64(p, (uint64_t)number);
  p = put_str(p, "\n");
  *p = '\0';
  sh_write0(line);
  sh_remove("output.bin.partial");
  sh_remove("counts.txt.partial");
  return status;
}

int main(void) {
  const int in = sh_open("input.bin", SH_MODE_RB);
  if (in < 0) return fail("cannot open input.bin in the working directory", -1, 2);
  const long length = sh_flen(in);
  if (length <= 0 || length % MODEL_INPUT_SIZE != 0)
    return fail("input.bin: size is not a positive multiple of " MODEL_NAME "_INPUT_SIZE; bytes = ",
                length < 0 ? 0 : length, 2);
  const uint32_t images = (uint32_t)(length / MODEL_INPUT_SIZE);

  const int out = sh_open("output.bin.partial", SH_MODE_WB);
  const int counts = sh_open("counts.txt.partial", SH_MODE_W);
  if (out < 0 || counts < 0) return fail("cannot create output.bin / counts.txt in the working directory", -1, 5);

  uint64_t total = 0, lowest = UINT64_MAX, highest = 0;
  apb_timer_start();
  for (uint32_t i = 0; i < images; ++i) {
    if (sh_read_all(in, input, sizeof input) != 0) return fail("input.bin: short read at image ", i, 2);
    const uint32_t start = apb_timer_read();
    const int rc = MODEL_RUN(input, output, arena);
    const uint32_t end = apb_timer_read();
    if (rc != 0) return fail(MODEL_NAME "_run returned non-zero on image ", i, 4);

    const uint64_t ticks = apb_timer_elapsed(start, end);
    const uint64_t instructions = ticks * APB_TIMER_INSTRUCTIONS_PER_TICK;
    total += instructions;
    if (instructions < lowest) lowest = instructions;
    if (instructions > highest) highest = instructions;

    char line[64];
    char* p = put_u64(line, i);
    *p++ = ' ';
    p = put_u64(p, ticks);
    *p++ = ' ';
    p = put_u64(p, instructions);
    *p++ = '\n';
    if (sh_write_all(out, output, sizeof output) != 0 || sh_write_all(counts, line, (uint32_t)(p - line)) != 0)
      return fail("cannot write output.bin / counts.txt at image ", i, 5);
  }
  sh_close(in);
  if (sh_close(out) != 0 || sh_close(counts) != 0 || sh_rename("output.bin.partial", "output.bin") != 0 ||
      sh_rename("counts.txt.partial", "counts.txt") != 0)
    return fail("cannot finish output.bin / counts.txt in the working directory", -1, 5);

  char line[320];
  char* p = put_str(line, "cortex-m4: model=" MODEL_NAME " images=");
  p = put_u64(p, images);
  p = put_str(p, " instructions/inference mean=");
  p = put_u64(p, total / images);
  p = put_str(p, " min=");
  p = put_u64(p, lowest);
  p = put_str(p, " max=");
  p = put_u64(p, highest);
  p = put_str(p, " (25 MHz timer ticks x 40, resolution 40) arena=");
  p = put_u64(p, MODEL_ARENA_SIZE);
  p = put_str(p, " stack_peak=");
  p = put_u64(p, stack_peak_bytes());
  p = put_str(p, " of ");
  p = put_u64(p, stack_capacity_bytes());
  p = put_str(p, " bytes\n");
  *p = '\0';
  sh_write0(line);
  return 0;
}
