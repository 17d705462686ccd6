# guests/linux/: Linux as a guest. Debian's stock kernel, taken out of its
# package without installing it, and a busybox initramfs built here; both are
# fetched once and cached in $(BUILD)/linux (`rm -r $(BUILD)/linux` fetches
# the current ones again). `make qemu KERNEL=linux` boots them (boot/run.mk);
# the firmware loads the kernel by the Linux boot protocol
# (guests/firmware/linux.c).
LINUX_DIR = $(BUILD)/linux
LINUX_KERNEL = $(LINUX_DIR)/vmlinuz
LINUX_INITRD = $(LINUX_DIR)/initramfs.cpio.gz
LINUX_BUSYBOX = $(LINUX_DIR)/busybox

# The bzImage and $(LINUX_DIR)/version, its `uname -r`.
$(LINUX_KERNEL): guests/linux/fetch.sh
	$(call msg,FETCH,$@)
	$(Q)guests/linux/fetch.sh kernel $(LINUX_DIR)

$(LINUX_BUSYBOX): guests/linux/fetch.sh
	$(call msg,FETCH,$@)
	$(Q)guests/linux/fetch.sh busybox $(LINUX_DIR)

$(LINUX_INITRD): guests/linux/mkinitramfs.py $(LINUX_BUSYBOX) guests/linux/init guests/linux/inittab
	$(call msg,CPIO,$@)
	$(Q)$(PYTHON) guests/linux/mkinitramfs.py $@ $(LINUX_BUSYBOX) guests/linux/init guests/linux/inittab

## linux          boot Debian's Linux under lvisor in QEMU (make qemu KERNEL=linux)
linux:
	$(Q)$(MAKE) --no-print-directory qemu KERNEL=linux

## linux-files    fetch and build the Linux guest's kernel and initramfs only
linux-files: $(LINUX_KERNEL) $(LINUX_INITRD)

.PHONY: linux linux-files
