/* What both backends say when the CPU lacks a control the policy needs. */
#include <lib/printk.h>
#include <lib/string.h>
#include "policy.h"

void policy_lacks(const struct policy_requirement *r)
{
	if (!strncmp(r->rule, "required by", 11))	/* the core's own, not a rule's */
		printk("this CPU lacks %s, %s\n", r->control, r->rule);
	else
		printk("this CPU lacks %s, needed by %s\n", r->control, r->rule);
}
