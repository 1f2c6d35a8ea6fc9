#!/bin/sh
# completion.sh - contrib/bash-completion/spoolctl, sourced in bash:
# commands, global options, each command's options and --state values.
. "$(dirname "$0")/lib.sh"

if ! command -v bash >/dev/null 2>&1; then
	echo "# bash missing: not run"
	exit 0
fi
COMP=$top_srcdir/contrib/bash-completion/spoolctl

# comp WORDS...: the completions bash offers for the last word.
comp() {
	bash -c '
		. "$1"
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		_spoolctl
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "
	' comp "$COMP" "$@"
}

# want EXPECTED WORDS...
want() {
	exp=$1
	shift
	got=$(comp "$@")
	[ "$got" = "$exp" ] || fail "completion of '$*': '$got', want '$exp'"
}

bash -n "$COMP" || fail "the completion is not valid bash"
bash -c ". '$COMP'; complete -p spoolctl" | grep -q '_spoolctl' ||
    fail "spoolctl has no completion function"
want "batch batches " spoolctl bat
want "status " spoolctl st
want "check " spoolctl -c /etc/spoold.conf ch
want "--json " spoolctl --js
want "--older-than " spoolctl list --ol
want "--state " spoolctl list --st
want "deferred done " spoolctl list --state d
want "--all-failed " spoolctl retry --a
want "--reason " spoolctl skip --tx acme T1 3 --re
want "--repair " spoolctl check --re
want "--done-older-than --dry-run --help --json " spoolctl --json purge --
want "list " spoolctl help li
want " " spoolctl list --partner a
want "held " spoolctl list --state h
want "log " spoolctl lo
want "--file " spoolctl log --fi
want "hold " spoolctl hol
want "release retry " spoolctl re
want "delete " spoolctl del
want "--tx " spoolctl hold --t
want "--control " spoolctl list --con
want "--interchange " spoolctl show --i
want "--reason " spoolctl delete 17 --r
ok "bash completion of commands, options and states"
