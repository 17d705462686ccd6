# lib/: freestanding code shared by the VMM, the firmware and lv6, built once
# for 64-bit (VMM, lv6) and once for 32-bit (the firmware).
LIB_SRCS = lib/cmdline.c lib/console.c lib/poweroff.c lib/printk.c lib/string.c lib/tsc.c lib/vsnprintf.c
LIB64 = $(BUILD)/64/lib.a
LIB32 = $(BUILD)/32/lib.a

$(LIB64): $(call obj64,$(LIB_SRCS))
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(LIB32): $(call obj32,$(LIB_SRCS)) $(BUILD)/32/lib/div64.o
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
