/* Vector table and reset handler: enable the FPU (the harness is built -mfloat-abi=hard), copy .data
 * from its load image in FLASH, zero .bss, paint the stack for a high-water mark, run main() and end
 * the emulation through semihosting with main's status. A fault ends it too (status 3), so a broken
 * library never hangs QEMU. */
#include <stdint.h>

#include "semihosting.h"
#include "startup.h"

int main(void);

/* Linker-script symbols (mps2_an386.ld). */
extern uint32_t __data_start, __data_end, __data_load, __bss_start, __bss_end;
extern uint32_t __stack_limit, __stack_top;

#define STACK_PAINT 0xA5A5A5A5u
#define CPACR (*(volatile uint32_t*)0xE000ED88u)

void reset_handler(void);
void fault_handler(void);

void reset_handler(void) {
  /* CP10/CP11 full access, before any floating-point instruction. */
  CPACR |= 0xFu << 20;
  __asm__ volatile("dsb\n\tisb" ::: "memory");

  for (uint32_t *src = &__data_load, *dst = &__data_start; dst < &__data_end;) *dst++ = *src++;
  for (uint32_t* p = &__bss_start; p < &__bss_end;) *p++ = 0;

  /* Paint the free stack below this frame (64 bytes of margin). */
  uint32_t* sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  for (volatile uint32_t* p = &__stack_limit; p < sp - 16;) *p++ = STACK_PAINT;

  sh_exit(main());
}

uint32_t stack_peak_bytes(void) {
  const uint32_t* p = &__stack_limit;
  while (p < &__stack_top && *p == STACK_PAINT) ++p;
  return (uint32_t)((uintptr_t)&__stack_top - (uintptr_t)p);
}

uint32_t stack_capacity_bytes(void) { return (uint32_t)((uintptr_t)&__stack_top - (uintptr_t)&__stack_limit); }

void fault_handler(void) {
  sh_write0("cortex-m4 harness: error: CPU fault (HardFault/MemManage/BusFault/UsageFault/NMI)\n");
  sh_exit(3);
}

/* Cortex-M4 system exceptions; no interrupt is enabled, so no IRQ entries are needed. */
__attribute__((section(".vectors"), used)) static void (*const vector_table[16])(void) = {
    (void (*)(void))(&__stack_top),
    reset_handler,
    fault_handler, /* NMI */
    fault_handler, /* HardFault */
    fault_handler, /* MemManage */
    fault_handler, /* BusFault */
    fault_handler, /* UsageFault */
    0, 0, 0, 0,
    fault_handler, /* SVCall */
    fault_handler, /* DebugMonitor */
    0,
    fault_handler, /* PendSV */
    fault_handler, /* SysTick */
};
