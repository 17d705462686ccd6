# guests/: what runs inside the virtual machine.
#   lv6/       our own tiny x86-64 OS
#   firmware/  the in-guest loader that starts in real mode and boots the kernel
#   test/      tiny multiboot test kernels
#   linux/     Debian's Linux kernel and a busybox initramfs (KERNEL=linux)
#   bench/     the bench guest and `make bench`

# A multiboot kernel for QEMU's -kernel must be ELF32: link as ELF64, then
# convert (all addresses lie below 4 GiB, so nothing is lost).
define elf32
	$(call msg,OBJCOPY,$(2))
	$(Q)$(OBJCOPY) -O elf32-i386 $(1) $(2)
endef

LV6_SRCS = guests/lv6/head.S guests/lv6/main.c guests/lv6/syscall.c guests/lv6/trap.S guests/lv6/user.S
LV6_OBJS = $(call obj64,$(LV6_SRCS))
LV6 = $(BUILD)/guests/lv6
$(LV6).elf: $(LV6_OBJS) $(LIB64) guests/lv6/lv6.ld
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(LD) $(LDFLAGS64) -T guests/lv6/lv6.ld -o $@ $(LV6_OBJS) $(LIB64)
$(LV6): $(LV6).elf
	$(call elf32,$<,$@)

GUEST_KERNELS = $(LV6)

-include guests/firmware/firmware.mk
-include guests/test/test.mk
-include guests/linux/linux.mk
-include guests/bench/bench.mk
