/* CMSDK APB timer 0 of mps2-an386 (0x40000000), clocked by the 25 MHz SYSCLK: a 32-bit down-counter
 * that reloads from RELOAD after reaching 0. Under QEMU -icount shift=0 every guest instruction advances
 * virtual time by 1 ns, so one tick = 1e9 / 25e6 = 40 instructions. */
#ifndef TINYPTQ_CORTEX_M4_APB_TIMER_H
#define TINYPTQ_CORTEX_M4_APB_TIMER_H

#include <stdint.h>

#define APB_TIMER0_BASE 0x40000000u
#define APB_TIMER_CLOCK_HZ 25000000u
#define APB_TIMER_INSTRUCTIONS_PER_TICK (1000000000u / APB_TIMER_CLOCK_HZ)

typedef struct {
  volatile uint32_t ctrl;   /* bit 0: enable; bit 3: interrupt enable (left off) */
  volatile uint32_t value;  /* current count */
  volatile uint32_t reload; /* writing it also loads value */
  volatile uint32_t intstatus;
} apb_timer_regs;

#define APB_TIMER0 ((apb_timer_regs*)APB_TIMER0_BASE)

/* Free-running from 0xFFFFFFFF: wraps every 2^32 ticks (~171.8 s, ~1.7e11 instructions). */
static inline void apb_timer_start(void) {
  APB_TIMER0->ctrl = 0;
  APB_TIMER0->reload = 0xFFFFFFFFu;
  APB_TIMER0->value = 0xFFFFFFFFu;
  APB_TIMER0->ctrl = 1;
}

static inline uint32_t apb_timer_read(void) {
  __asm__ volatile("" ::: "memory"); /* keep the read where it is written */
  const uint32_t v = APB_TIMER0->value;
  __asm__ volatile("" ::: "memory");
  return v;
}

/* Ticks from `start` to `end` readings (down-counter, modulo 2^32). */
static inline uint32_t apb_timer_elapsed(uint32_t start, uint32_t end) { return start - end; }

#endif
