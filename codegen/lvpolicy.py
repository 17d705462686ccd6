#!/usr/bin/python3
"""lvpolicy: turn an lvisor policy (policies/*.yaml) into C.

  lvpolicy.py generate POLICY.yaml OUTDIR [--symbol NAME] [--depfile FILE [--target NAME]]
      writes OUTDIR/policy.c, which includes policy_vmx.c, policy_svm.c and
      policy_actions.c (and policy_actions.h) and exports one
      `const struct policy NAME` (default: policy); the depfile lists what
      they were made from.
  lvpolicy.py core-header OUTFILE [--depfile FILE [--target NAME]]
      writes core_ports.h, the numbers of the ports and MSRs the core keeps
      for itself (codegen/core.py); it does not depend on any policy.
  lvpolicy.py diff [--short] DIR_A DIR_B
      prints the unified diff of the C generated into two directories;
      --short leaves out the citations (policy file and line), so that only
      what the rules change shows.
  lvpolicy.py list [DIR]
      prints "name  description" for each policy in DIR (default policies/).

A mistake in a policy is reported as one line, file:line:col: message, with
exit status 1.
"""

import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from errors import PolicyError  # noqa: E402
import model  # noqa: E402
import render  # noqa: E402


def generate(args):
    pol = model.load_policy(args.policy)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", args.symbol):
        print(f"lvpolicy.py: --symbol {args.symbol}: not a C name", file=sys.stderr)
        sys.exit(2)
    files = render.render(pol, args.symbol, args.outdir)       # everything is checked before anything is written
    os.makedirs(args.outdir, exist_ok=True)
    for name, text in files.items():
        render.write_if_changed(os.path.join(args.outdir, name), text)
    if args.depfile:
        targets = args.target or " ".join(os.path.join(args.outdir, n) for n in render.OUTPUTS)
        render.write_if_changed(args.depfile, render.depfile(targets, pol.files + sorted(set(pol.dirs)) + render.sources()))


def core_header(args):
    outdir = os.path.dirname(args.outfile)
    if outdir:
        os.makedirs(outdir, exist_ok=True)
    render.write_if_changed(args.outfile, render.core_header())
    if args.depfile:
        render.write_if_changed(args.depfile, render.depfile(args.target or args.outfile, render.sources()))


def diff(args):
    sys.stdout.write(render.diff(args.dir_a, args.dir_b, args.short))


def list_policies(args):
    # By policy name: "bench" before "bench-rdtsc" (file names would sort the other way).
    names = sorted((f for f in os.listdir(args.dir) if f.endswith(".yaml")), key=lambda f: f[:-5])
    width = max((len(n) - 5 for n in names), default=0)
    for n in names:
        pol = model.load_policy(os.path.join(args.dir, n))
        print(f"{pol.name:<{width}}  {pol.description}")


def main(argv=None):
    p = argparse.ArgumentParser(prog="lvpolicy.py", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="generate the C of one policy")
    g.add_argument("policy")
    g.add_argument("outdir")
    g.add_argument("--symbol", default=render.DEFAULT_SYMBOL,
                   help="the exported struct policy's name (default: %(default)s)")
    g.add_argument("--depfile", help="write a make depfile listing the inputs")
    g.add_argument("--target", help="the depfile's target (default: the generated files)")
    g.set_defaults(run=generate)
    h = sub.add_parser("core-header", help="write core_ports.h, the core's port and MSR numbers")
    h.add_argument("outfile")
    h.add_argument("--depfile", help="write a make depfile listing the inputs")
    h.add_argument("--target", help="the depfile's target (default: OUTFILE)")
    h.set_defaults(run=core_header)
    d = sub.add_parser("diff", help="diff the C generated into two directories")
    d.add_argument("--short", action="store_true", help="leave out the policy file and line citations")
    d.add_argument("dir_a")
    d.add_argument("dir_b")
    d.set_defaults(run=diff)
    ls = sub.add_parser("list", help="list policies with their descriptions")
    ls.add_argument("dir", nargs="?", default="policies")
    ls.set_defaults(run=list_policies)
    args = p.parse_args(argv)
    try:
        args.run(args)
    except PolicyError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
