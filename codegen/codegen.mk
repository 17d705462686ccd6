# codegen/codegen.mk: the generated policy C, and the policy make targets.
#
# The including Makefile defines PYTHON, BUILD, POLICY, POLICY_FILE,
# POLICY_NAME, POLICY_ID, POLICY2, POLICY2_FILE, POLICY2_ID, policy_file,
# policy_id and Q. The generator rewrites only files whose contents
# change, and a stamp records each run; the depfile it writes lists the
# policy, the policies it includes, the templates and the generator's own
# sources, so make reruns it exactly when one of them changes. It is
# generator.d, not policy.d: the compiler writes policy.d beside policy.o
# (-MMD), which would replace it.

LVPOLICY = $(PYTHON) codegen/lvpolicy.py
# The generator needs Debian's Python with PyYAML and Jinja2.
NEED_PYTHON = $(Q)boot/need.sh $(PYTHON):python3 python:yaml:python3-yaml python:jinja2:python3-jinja2
GEN = $(BUILD)/policy/$(POLICY_ID)/gen
# policy.c is the one file to compile: it includes the other three, so that
# everything in them can be static (one exported name, `policy`).
GEN_SRCS = $(GEN)/policy.c
GEN_PARTS = $(GEN)/policy_svm.c $(GEN)/policy_vmx.c $(GEN)/policy_actions.c $(GEN)/policy_actions.h

# $(call lvpolicy_generate,POLICY_FILE,DIR): generate into DIR, then stamp it.
define lvpolicy_generate
$(LVPOLICY) generate $(1) $(2) --depfile $(2)/generator.d --target $(2)/.stamp && touch $(2)/.stamp
endef

$(GEN)/.stamp: $(if $(wildcard $(POLICY_FILE)),$(POLICY_FILE),policy-missing) codegen/codegen.mk
	$(NEED_PYTHON)
	@echo '  GEN      $(GEN)/ from $(POLICY_FILE)'
	$(Q)$(call lvpolicy_generate,$(POLICY_FILE),$(GEN))
# The generated files change only when the stamp's rule rewrites them.
$(GEN_SRCS) $(GEN_PARTS): $(GEN)/.stamp ;
-include $(GEN)/generator.d

# POLICY2: the second policy's C, in the pair's directory ($(POLICY_DIR),
# vmm/vmm.mk), exported as `policy2` rather than `policy`, so that both
# link into one lvisor (vmm/policy.h).
ifneq ($(POLICY2),)
GEN2 = $(BUILD)/policy/$(POLICY_ID)+$(POLICY2_ID)/gen2
GEN2_SRCS = $(GEN2)/policy.c

$(GEN2)/.stamp: $(if $(wildcard $(POLICY2_FILE)),$(POLICY2_FILE),policy2-missing) codegen/codegen.mk
	$(NEED_PYTHON)
	@echo '  GEN      $(GEN2)/ from $(POLICY2_FILE), as policy2'
	$(Q)$(LVPOLICY) generate $(POLICY2_FILE) $(GEN2) --symbol policy2 \
		--depfile $(GEN2)/generator.d --target $(GEN2)/.stamp && touch $(GEN2)/.stamp
$(GEN2_SRCS): $(GEN2)/.stamp ;
-include $(GEN2)/generator.d
endif

# core_ports.h: the numbers of the ports and MSRs the core keeps for itself,
# from codegen/core.py. It is the same for every policy, so it is generated
# once, into $(BUILD)/gen/; vmm/vmm.mk makes the vmm objects wait for it.
# Its own stamp and depfile, as above: rewritten only when it changes.
CORE_GEN = $(BUILD)/gen
CORE_PORTS_H = $(CORE_GEN)/core_ports.h

$(CORE_GEN)/.stamp:
	$(NEED_PYTHON)
	@echo '  GEN      $(CORE_PORTS_H) from codegen/core.py'
	$(Q)$(LVPOLICY) core-header $(CORE_PORTS_H) --depfile $(CORE_GEN)/core_ports.d \
		--target $(CORE_GEN)/.stamp && touch $@
$(CORE_PORTS_H): $(CORE_GEN)/.stamp ;
-include $(CORE_GEN)/core_ports.d

policy-missing:
	@echo "policy '$(POLICY)' not found: neither policies/$(POLICY).yaml nor a file $(POLICY) (make policies lists them)" >&2
	@exit 1
policy2-missing:
	@echo "POLICY2 '$(POLICY2)' not found: neither policies/$(POLICY2).yaml nor a file $(POLICY2) (make policies lists them)" >&2
	@exit 1

## policies       list the shipped policies with their descriptions
policies:
	$(NEED_PYTHON)
	$(Q)$(LVPOLICY) list policies

## policy         generate the C of POLICY (and POLICY2) without booting; prints where it is
policy: $(GEN)/.stamp $(if $(POLICY2),$(GEN2)/.stamp)
	@echo "policy $(POLICY_NAME) ($(POLICY_FILE)): generated C in $(GEN)/"
	@ls $(GEN_SRCS) $(GEN_PARTS)
	@if [ -n '$(POLICY2)' ]; then \
		echo "POLICY2 $(basename $(notdir $(POLICY2_FILE))) ($(POLICY2_FILE)): generated C (as policy2) in $(GEN2)/"; fi

# policy-diff A=x B=y: names in policies/ or paths; each is generated into
# its own $(BUILD)/policy/ID/gen/, as for POLICY.
policy_gen = $(BUILD)/policy/$(call policy_id,$(call policy_file,$(1)))/gen
# policy-diff-short (or SHORT=1): the same diff without the citations (policy
# file and line) that every comment carries, so that a policy outside
# policies/ diffs against a shipped one in the lines its rules change.
DIFF_SHORT = $(if $(or $(filter policy-diff-short,$@),$(filter 1,$(SHORT))),--short)

## policy-diff    A=x B=y: unified diff of the C generated from two policies
## policy-diff-short A=x B=y: the same without the policy file:line citations (also SHORT=1)
policy-diff policy-diff-short:
	@if [ -z '$(A)' ] || [ -z '$(B)' ]; then \
		echo "usage: make $@ A=policy B=policy (names from 'make policies', or paths)" >&2; exit 1; fi
	@for p in '$(call policy_file,$(A))' '$(call policy_file,$(B))'; do \
		[ -f "$$p" ] || { echo "$@: policy '$$p' not found (make policies lists them)" >&2; exit 1; }; done
	$(NEED_PYTHON)
	$(Q)$(call lvpolicy_generate,$(call policy_file,$(A)),$(call policy_gen,$(A)))
	$(Q)$(call lvpolicy_generate,$(call policy_file,$(B)),$(call policy_gen,$(B)))
	$(Q)$(LVPOLICY) diff $(DIFF_SHORT) $(call policy_gen,$(A)) $(call policy_gen,$(B))

## check-codegen  run the policy generator's unit tests
check-codegen:
	$(Q)$(PYTHON) -m pytest -q tests/codegen

.PHONY: policies policy policy-diff policy-diff-short check-codegen policy-missing policy2-missing
