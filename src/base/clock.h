/*
 * clock.h - wall-clock and monotonic time in milliseconds and microseconds.
 *
 * Owns: reading the clocks. Protocol state machines never call this; they get time as an
 * event argument so that a simulator can drive them.
 */
#ifndef BROOK_BASE_CLOCK_H
#define BROOK_BASE_CLOCK_H

#include <stdint.h>

int64_t clock_wall_ms(void);
int64_t clock_mono_ms(void);
int64_t clock_mono_us(void);

#endif
