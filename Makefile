# lvisor: a minimal bare-metal hypervisor for learning hardware virtualization.
# `make help` lists the targets; config.def lists the settings.

include config.def
-include config.mk

# V=1 shows the commands.
ifeq ($(V),1)
Q =
msg = @true
else
Q = @
msg = @printf '  %-8s %s\n' '$(1)' '$(2)'
endif

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SUFFIXES:

CC = gcc
LD = ld
OBJCOPY = objcopy

# Freestanding C for both word sizes; header dependencies come from -MMD.
CFLAGS_COMMON = -std=gnu11 -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
	-fno-asynchronous-unwind-tables -fno-omit-frame-pointer -mgeneral-regs-only \
	-O2 -g -Wall -Wextra -Werror -MMD -MP -Iinclude
CFLAGS64 = $(CFLAGS_COMMON) -m64 -mno-red-zone -mcmodel=small
CFLAGS32 = $(CFLAGS_COMMON) -m32 -march=i686
LDFLAGS64 = -m elf_x86_64 -nostdlib -z noexecstack --no-warn-rwx-segments
LDFLAGS32 = -m elf_i386 -nostdlib -z noexecstack --no-warn-rwx-segments

# Objects: $(BUILD)/64/path/file.o and $(BUILD)/32/path/file.o.
$(BUILD)/64/%.o: %.c
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS64) $(CFLAGS_$(firstword $(subst /, ,$*))) -c -o $@ $<
$(BUILD)/64/%.o: %.S
	$(call msg,AS,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS64) $(CFLAGS_$(firstword $(subst /, ,$*))) -c -o $@ $<
$(BUILD)/32/%.o: %.c
	$(call msg,CC32,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS32) $(CFLAGS_$(firstword $(subst /, ,$*))) -c -o $@ $<
$(BUILD)/32/%.o: %.S
	$(call msg,AS32,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS32) $(CFLAGS_$(firstword $(subst /, ,$*))) -c -o $@ $<

# Object files of a list of sources.
obj64 = $(patsubst %,$(BUILD)/64/%.o,$(basename $(1)))
obj32 = $(patsubst %,$(BUILD)/32/%.o,$(basename $(1)))

# The policy: a name in policies/ or a path to any .yaml file. A path is
# written relative to the checkout when it lies within it (else absolute), so
# that every spelling of one file names it the same way in the generated C.
policy_file = $(if $(wildcard policies/$(1).yaml),policies/$(1).yaml,$(patsubst $(CURDIR)/%,%,$(abspath $(1))))
# Its build directory, $(BUILD)/policy/ID/: a shipped policy's ID is its
# name, any other file's its name and a short hash of its path (and of the
# file a symlink points to). Two files never share generated C or objects,
# whatever their names.
policy_id = $(basename $(notdir $(1)))$(if $(filter $(1),$(wildcard policies/*.yaml)),,-$(shell \
	printf '%s\n' '$(abspath $(1)) $(realpath $(1))' | sha1sum | cut -c1-8))
POLICY_FILE := $(call policy_file,$(POLICY))
POLICY_NAME := $(basename $(notdir $(POLICY_FILE)))
POLICY_ID := $(call policy_id,$(POLICY_FILE))
# POLICY2: a second policy linked into the same lvisor, for a second guest.
# The pair gets its own build directory, $(BUILD)/policy/ID+ID2/.
POLICY2_FILE := $(if $(POLICY2),$(call policy_file,$(POLICY2)))
POLICY2_ID := $(if $(POLICY2),$(call policy_id,$(POLICY2_FILE)))

include lib/lib.mk
-include codegen/codegen.mk
include vmm/vmm.mk
include guests/guests.mk
include boot/run.mk
include tests/tests.mk

## all            build lvisor for POLICY, the firmware and the guests (the default)
all: $(LVISOR) $(FIRMWARE) $(GUEST_KERNELS)

## clean          remove the build directory
clean:
	rm -rf $(BUILD)

## help           this list
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

.PHONY: all clean help

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
