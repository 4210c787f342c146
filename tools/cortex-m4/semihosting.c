#include "semihosting.h"

#include <string.h>

enum {
  SYS_OPEN = 0x01,
  SYS_CLOSE = 0x02,
  SYS_WRITE0 = 0x04,
  SYS_WRITE = 0x05,
  SYS_READ = 0x06,
  SYS_FLEN = 0x0C,
  SYS_REMOVE = 0x0E,
  SYS_RENAME = 0x0F,
  SYS_EXIT_EXTENDED = 0x20, /* carries the exit status on 32-bit targets; SYS_EXIT (0x18) does not */
};
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

/* r0 = operation, r1 = pointer to the parameter block; the result comes back in r0. */
static int32_t semihost(uint32_t op, const void* args) {
  register uint32_t r0 __asm__("r0") = op;
  register const void* r1 __asm__("r1") = args;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return (int32_t)r0;
}

int sh_open(const char* path, int mode) {
  const uint32_t args[3] = {(uint32_t)(uintptr_t)path, (uint32_t)mode, (uint32_t)strlen(path)};
  return semihost(SYS_OPEN, args);
}

int sh_close(int handle) {
  const uint32_t args[1] = {(uint32_t)handle};
  return semihost(SYS_CLOSE, args);
}

long sh_flen(int handle) {
  const uint32_t args[1] = {(uint32_t)handle};
  return semihost(SYS_FLEN, args);
}

/* SYS_READ and SYS_WRITE return the number of bytes NOT transferred. */
int sh_read_all(int handle, void* buf, size_t len) {
  uint8_t* p = (uint8_t*)buf;
  while (len > 0) {
    const uint32_t args[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)p, (uint32_t)len};
    const int32_t left = semihost(SYS_READ, args);
    if (left < 0 || (size_t)left >= len) return -1; /* error or end of file */
    p += len - (size_t)left;
    len = (size_t)left;
  }
  return 0;
}

int sh_write_all(int handle, const void* buf, size_t len) {
  const uint32_t args[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)buf, (uint32_t)len};
  return len == 0 || semihost(SYS_WRITE, args) == 0 ? 0 : -1;
}

int sh_rename(const char* from, const char* to) {
  const uint32_t args[4] = {(uint32_t)(uintptr_t)from, (uint32_t)strlen(from), (uint32_t)(uintptr_t)to,
                            (uint32_t)strlen(to)};
  return semihost(SYS_RENAME, args);
}

int sh_remove(const char* path) {
  const uint32_t args[2] = {(uint32_t)(uintptr_t)path, (uint32_t)strlen(path)};
  return semihost(SYS_REMOVE, args);
}

void sh_write0(const char* s) { semihost(SYS_WRITE0, s); }

void sh_exit(int status) {
  const uint32_t args[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};
  semihost(SYS_EXIT_EXTENDED, args);
  for (;;) {
  }
}
