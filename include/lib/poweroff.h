/* Ending the emulated machine (lib/poweroff.c). */
#ifndef LIB_POWEROFF_H
#define LIB_POWEROFF_H

/* Values written to QEMU's isa-debug-exit port (0xf4); QEMU then exits with
 * status (value << 1) | 1, which boot/qemu.sh maps back: 33 -> 0 (success),
 * 35 -> 1 (failure). */
#define POWEROFF_PORT		0xf4
#define POWEROFF_SUCCESS	0x10
#define POWEROFF_FAILURE	0x11

/* Power the machine off; `ok` says whether the run succeeded. */
void poweroff(int ok) __attribute__((noreturn));

#endif
