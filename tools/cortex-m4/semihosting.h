/* ARM semihosting (bkpt 0xAB on M-profile): the few host calls the harness needs. QEMU serves them
 * with -semihosting-config enable=on,target=native; relative paths resolve in QEMU's working directory. */
#ifndef TINYPTQ_CORTEX_M4_SEMIHOSTING_H
#define TINYPTQ_CORTEX_M4_SEMIHOSTING_H

#include <stddef.h>
#include <stdint.h>

/* SYS_OPEN modes (ISO C fopen equivalents). */
enum { SH_MODE_RB = 1, SH_MODE_W = 4, SH_MODE_WB = 5 };

/* Returns a handle >= 0, or -1. */
int sh_open(const char* path, int mode);
int sh_close(int handle);
/* Length of an open file in bytes, or -1. */
long sh_flen(int handle);
/* Reads/writes exactly len bytes; returns 0 on success, -1 on a short read/write. */
int sh_read_all(int handle, void* buf, size_t len);
int sh_write_all(int handle, const void* buf, size_t len);
/* Host rename (replaces `to`) and remove; 0 on success. */
int sh_rename(const char* from, const char* to);
int sh_remove(const char* path);
/* Writes a NUL-terminated string to the host console (QEMU: its stderr). */
void sh_write0(const char* s);
/* Ends the emulation; QEMU exits with status & 0xff. */
void sh_exit(int status) __attribute__((noreturn));

#endif
