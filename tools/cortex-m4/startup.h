/* Bare-metal start-up for the harness (startup.c): what main() can ask of it. */
#ifndef TINYPTQ_CORTEX_M4_STARTUP_H
#define TINYPTQ_CORTEX_M4_STARTUP_H

#include <stdint.h>

/* Deepest stack use so far in bytes (harness frames included), from the paint laid at reset. */
uint32_t stack_peak_bytes(void);
/* Bytes available for the stack: RAM above .bss. */
uint32_t stack_capacity_bytes(void);

#endif
