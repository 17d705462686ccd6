/* Questions about the generated policy that the core and both backends ask. */
#include <lib/printk.h>
#include <lib/string.h>
#include "policy.h"

bool policy_rule_is_core(const char *rule)
{
	return !strncmp(rule, "required by the core", 20);
}

void policy_lacks(const struct policy_requirement *r)
{
	if (policy_rule_is_core(r->rule))	/* the core's own, not a rule's */
		printk("this CPU lacks %s, %s\n", r->control, r->rule);
	else
		printk("this CPU lacks %s, needed by %s\n", r->control, r->rule);
}
