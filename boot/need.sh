#!/bin/sh
# Make sure the tools lvisor needs are installed: each argument is
# "command:debian-package" (or "python:module:debian-package" for a module of
# Debian's /usr/bin/python3). Missing ones are installed with apt-get when we
# are root, otherwise the exact command to run is printed.
missing=""
for need in "$@"; do
	case "$need" in
	python:*)
		mod=${need#python:}; pkg=${mod#*:}; mod=${mod%%:*}
		/usr/bin/python3 -c "import $mod" 2>/dev/null || missing="$missing $pkg" ;;
	*)
		cmd=${need%%:*}; pkg=${need#*:}
		command -v "$cmd" >/dev/null 2>&1 || [ -e "$cmd" ] || missing="$missing $pkg" ;;
	esac
done
[ -z "$missing" ] && exit 0
missing=$(echo $missing | tr ' ' '\n' | sort -u | tr '\n' ' ')
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "lvisor: installing missing Debian packages: $missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	{ apt-get update -q && apt-get install -y -q $missing; } >&2 && exit 0
	echo "lvisor: apt-get failed; install them by hand: apt-get install $missing" >&2
	exit 1
fi
echo "lvisor: missing Debian packages; install them with:" >&2
echo "    sudo apt-get install $missing" >&2
exit 1
