# guests/firmware/: the in-guest firmware. lvisor copies $(FIRMWARE), a flat
# binary, to guest-physical FIRMWARE_ADDR (just below 16 MiB) and starts the
# guest there in real mode;
# the firmware loads the kernel that the VMM staged (include/lvisor/handoff.h).
# firmware.elf is the same code with symbols, for GDB.
FIRMWARE_SRCS = guests/firmware/entry.S guests/firmware/main.c guests/firmware/memory.c \
	guests/firmware/multiboot.c guests/firmware/elf.c guests/firmware/mbinfo.c \
	guests/firmware/multiboot_enter.S guests/firmware/linux.c guests/firmware/linux_enter.S
FIRMWARE_OBJS = $(call obj32,$(FIRMWARE_SRCS))
FIRMWARE = $(BUILD)/guests/firmware.bin
FIRMWARE_ELF = $(BUILD)/guests/firmware.elf
FIRMWARE_LD = $(BUILD)/guests/firmware.ld

# The linker script takes its addresses from handoff.h through the C
# preprocessor; it checks that the image fits in FIRMWARE_MAX.
$(FIRMWARE_LD): guests/firmware/firmware.ld.S
	$(call msg,CPP,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) -E -P -x assembler-with-cpp -Iinclude -MMD -MP -MT $@ -MF $@.d -o $@ $<

$(FIRMWARE_ELF): $(FIRMWARE_OBJS) $(LIB32) $(FIRMWARE_LD)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(LD) $(LDFLAGS32) -T $(FIRMWARE_LD) -o $@ $(FIRMWARE_OBJS) $(LIB32)

$(FIRMWARE): $(FIRMWARE_ELF)
	$(call msg,OBJCOPY,$@)
	$(Q)$(OBJCOPY) -O binary $< $@
