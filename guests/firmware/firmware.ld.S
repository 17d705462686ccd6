/*
 * The firmware image: everything at FIRMWARE_ADDR, entry.S's real-mode
 * code first, since the VMM starts the guest at its first byte. The build
 * turns the ELF into a flat binary (objcopy -O binary); .bss is not in the
 * file, entry.S clears it. Preprocessed so that the addresses come from
 * include/lvisor/handoff.h.
 */
#include <lvisor/handoff.h>

OUTPUT_FORMAT("elf32-i386")
ENTRY(_start)
SECTIONS
{
	. = FIRMWARE_ADDR;
	.text : { KEEP(*(.text.entry)) *(.text .text.*) }
	.rodata : { *(.rodata .rodata.*) }
	.data : { *(.data .data.*) }
	.bss : { __bss_start = .; *(.bss .bss.*) *(COMMON) }
	_end = .;
	/DISCARD/ : { *(.note*) *(.comment) *(.eh_frame) }
}
ASSERT(_end <= FIRMWARE_ADDR + FIRMWARE_MAX, "firmware: image and .bss exceed FIRMWARE_MAX (include/lvisor/handoff.h)")
