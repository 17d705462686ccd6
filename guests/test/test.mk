# guests/test/: tiny multiboot kernels that test the firmware's loaders and
# lvisor's protection of its own memory. Each prints a line and powers off.
#   pm32      stays in 32-bit protected mode; a.out kludge header, flat binary
#   lm64      enters long mode itself; an ELF64 file; CPUID with REX prefixes; #UD at a page's
#             end, SYSCALL in compatibility mode and with TF (for the `syscall` event)
#   vmmtouch  touches lvisor's memory: lvisor must stop it
#   probe     shows what an exit policy changes, one line per effect (32-bit ELF); prefixed and
#             single-stepped instructions lvisor completes; APPEND=pdpte: PAE PDPTEs outside RAM;
#             APPEND=devices: fw_cfg, PCI bus mastering and BARs, APIC base, PAT, MTRRs
#   misbehave a triple fault, VMXON/VMRUN, a reset, sleep, INIT...: lvisor must report it and stop the guest
#   echo      reads its console (COM2 as the second guest): prints each line back; quit powers off
#   tables    prints the CPUs, I/O APIC and memory its firmware's tables (MP, ACPI MADT, BDA) show
#   watch     writes and reads watched memory (memory: rules), prints what it reads back
#   low       linked at 0x8000, in conventional memory (32-bit ELF): the firmware must leave that to kernels
# Each X also has X.elf with its symbols, for GDB.
TEST_LD = guests/test/test.ld

PM32 = $(BUILD)/guests/pm32
PM32_OBJS = $(call obj32,guests/test/start32.S guests/test/pm32.c)
$(PM32).elf: $(PM32_OBJS) $(LIB32) $(TEST_LD)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(LD) $(LDFLAGS32) -T $(TEST_LD) -o $@ $(PM32_OBJS) $(LIB32)
# The kludge header says where the file goes: the loader needs no ELF.
$(PM32): $(PM32).elf
	$(call msg,OBJCOPY,$@)
	$(Q)$(OBJCOPY) -O binary $< $@

LM64 = $(BUILD)/guests/lm64
LM64_OBJS = $(call obj64,guests/test/start64.S guests/test/lm64.c)
# 4 KiB segment alignment keeps the multiboot header within the first 8 KiB.
$(LM64).elf: $(LM64_OBJS) $(LIB64) $(TEST_LD)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(LD) $(LDFLAGS64) -z max-page-size=0x1000 -T $(TEST_LD) -o $@ $(LM64_OBJS) $(LIB64)

# The 32-bit test kernels that boot as ELF files: start32.S and NAME.c.
TEST32 = $(addprefix $(BUILD)/guests/,vmmtouch probe misbehave echo tables watch)
$(TEST32:=.elf): $(BUILD)/guests/%.elf: $(BUILD)/32/guests/test/start32.o $(BUILD)/32/guests/test/%.o $(LIB32) $(TEST_LD)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(LD) $(LDFLAGS32) -T $(TEST_LD) -o $@ $(filter %.o,$^) $(LIB32)

# low is one of them linked at 0x8000 instead of 1 MiB: its single loadable
# segment (code, data, .bss, stack) lies in conventional memory, where
# real-mode test kernels put theirs.
LOW = $(BUILD)/guests/low
$(LOW).elf: $(BUILD)/32/guests/test/start32.o $(BUILD)/32/guests/test/low.o $(LIB32) $(TEST_LD)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(LD) $(LDFLAGS32) --defsym=LOAD_ADDR=0x8000 -T $(TEST_LD) -o $@ $(filter %.o,$^) $(LIB32)

# They, low and lm64 boot as ELF files: the same file without debug information.
$(LM64) $(TEST32) $(LOW): %: %.elf
	$(call msg,STRIP,$@)
	$(Q)$(OBJCOPY) --strip-debug $< $@

GUEST_KERNELS += $(PM32) $(LM64) $(TEST32) $(LOW)
