# bash completion for forja(1)
#
# To add a command: put its name in _forja_commands and, when it has options
# of its own, set _forja_opts_<name> (dashes in the name become underscores).
# Options that take a value go in _forja_value_opts as well.

_forja_commands="bootstrap exec models doctor contracts tool trust sessions hook help"

# Options before the command only.
_forja_global_opts="-C --version --sandbox --approvals --continue"
# Options every command accepts, before or after its name.
_forja_common_opts="--json --color -q --quiet -v --verbose -h --help"
# Options before the command and after the commands that talk to a model.
_forja_provider_opts="--provider --model --base-url"
# The built-in providers (more may be defined in the config).
_forja_providers="openai anthropic ollama llamacpp lmstudio vllm openrouter"
# The values of --sandbox.
_forja_sandbox_modes="read-only workspace-write danger-full-access"
# The values of --approvals.
_forja_approvals_modes="ask auto"
# The subcommands of contracts, sessions and hook, and the hooks.
_forja_contracts_subcommands="list show check"
_forja_sessions_subcommands="list show export rm resume"
_forja_hook_subcommands="install uninstall list run"
_forja_hook_names="pre-commit prepare-commit-msg"
# Each command's own options.
_forja_opts_bootstrap="--budget --no-cache"
_forja_opts_exec="--no-context --session --output-last-message --sandbox --approvals $_forja_provider_opts"
_forja_opts_models="$_forja_provider_opts"
_forja_opts_doctor="$_forja_provider_opts"
_forja_opts_contracts=""
_forja_opts_tool="--args --session --sandbox"
_forja_opts_trust="--revoke --list"
_forja_opts_sessions="--all --ids --markdown"
_forja_opts_hook="$_forja_provider_opts"
_forja_opts_help=""
# Options whose value is the next word (or follows '=').
_forja_value_opts="-C --color --budget --provider --model --base-url --sandbox --approvals --args --session --output-last-message"

# Set _forja_cmd to the command on the line before word $1 (empty when there
# is none yet) and _forja_cmd_index to its position.
_forja_find_command()
{
	local i=1 w
	_forja_cmd='' _forja_cmd_index=0
	while [ "$i" -lt "$1" ]; do
		w=${COMP_WORDS[i]}
		case $w in
		--)
			if [ $((i + 1)) -lt "$1" ]; then
				_forja_cmd=${COMP_WORDS[i + 1]} _forja_cmd_index=$((i + 1))
			fi
			return
			;;
		--*=*) ;;
		-[!-]*C)
			# a bundle ending in C ("-qC DIR") takes the next word
			i=$((i + 2))
			continue
			;;
		-*)
			case " $_forja_value_opts " in
			*" $w "*)
				# its value: "--color=auto" may arrive as three words
				if [ "${COMP_WORDS[i + 1]-}" = "=" ]; then
					i=$((i + 3))
				else
					i=$((i + 2))
				fi
				continue
				;;
			esac
			case $w in
			--*) [ "${COMP_WORDS[i + 1]-}" = "=" ] && i=$((i + 2)) ;;
			esac
			;;
		*)
			_forja_cmd=$w _forja_cmd_index=$i
			return
			;;
		esac
		i=$((i + 1))
	done
}

# The names of the contracts forja loads: the first column of
# `forja contracts list`, run with the forja on the command line.
_forja_contract_names()
{
	local prog=${COMP_WORDS[0]} line
	case $prog in
	\~/*) prog=$HOME/${prog#\~/} ;;
	esac
	"$prog" contracts list 2>/dev/null | while read -r line; do
		printf '%s\n' "${line%% *}"
	done
}

# Every session id, newest first: `forja sessions list --all --ids`, run
# with the forja on the command line.
_forja_session_ids()
{
	local prog=${COMP_WORDS[0]}
	case $prog in
	\~/*) prog=$HOME/${prog#\~/} ;;
	esac
	"$prog" sessions list --all --ids 2>/dev/null
}

# Set the array _forja_args to the operands between the command and word $1,
# options and their values left out.
_forja_operands()
{
	local i=$((_forja_cmd_index + 1)) w
	_forja_args=()
	while [ "$i" -lt "$1" ]; do
		w=${COMP_WORDS[i]}
		case $w in
		--*=*) ;;
		-*)
			case " $_forja_value_opts " in
			*" $w "*)
				if [ "${COMP_WORDS[i + 1]-}" = "=" ]; then
					i=$((i + 2))
				else
					i=$((i + 1))
				fi
				;;
			esac
			;;
		=) ;;
		*) _forja_args+=("$w") ;;
		esac
		i=$((i + 1))
	done
}

# COMPREPLY from compgen "$@", one candidate a line (names may hold spaces).
_forja_reply()
{
	local line
	COMPREPLY=()
	while IFS= read -r line; do
		COMPREPLY+=("$line")
	done < <(compgen "$@")
}

_forja()
{
	local cur prev word_before opts var pfx=''
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=
	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
	word_before=
	[ "$COMP_CWORD" -gt 1 ] && word_before=${COMP_WORDS[COMP_CWORD - 2]}

	# "--color=al": bash splits at '=' when COMP_WORDBREAKS holds it.
	if [ "$cur" = "=" ]; then
		cur='' word_before=$prev prev='='
	fi
	if [ "$prev" = "=" ]; then
		prev=$word_before
	elif [ "${cur#--*=}" != "$cur" ]; then
		# COMP_WORDBREAKS without '=': the option is part of cur
		pfx=${cur%%=*}= prev=${cur%%=*} cur=${cur#*=}
	fi

	_forja_find_command "$COMP_CWORD"

	case $prev in
	-C | -[!-]*C)
		# -C goes before the command only
		[ -z "$_forja_cmd" ] || return 0
		compopt -o filenames 2>/dev/null
		_forja_reply -d -- "$cur"
		return 0
		;;
	--color)
		_forja_reply -P "$pfx" -W "auto always never" -- "$cur"
		return 0
		;;
	--provider)
		_forja_reply -P "$pfx" -W "$_forja_providers" -- "$cur"
		return 0
		;;
	--sandbox)
		_forja_reply -P "$pfx" -W "$_forja_sandbox_modes" -- "$cur"
		return 0
		;;
	--approvals)
		_forja_reply -P "$pfx" -W "$_forja_approvals_modes" -- "$cur"
		return 0
		;;
	--args)
		_forja_reply -P "$pfx" -W "-" -- "$cur"
		return 0
		;;
	--budget | --model | --base-url | --session)
		return 0
		;;
	esac

	if [ -z "$_forja_cmd" ]; then
		case $cur in
		-*) _forja_reply -W "$_forja_global_opts $_forja_provider_opts $_forja_common_opts" -- "$cur" ;;
		*) _forja_reply -W "$_forja_commands" -- "$cur" ;;
		esac
		return 0
	fi

	case $cur in
	-*)
		var=_forja_opts_${_forja_cmd//[^A-Za-z0-9_]/_}
		opts=${!var-}
		_forja_reply -W "$opts $_forja_common_opts" -- "$cur"
		;;
	*)
		local n
		_forja_operands "$COMP_CWORD"
		n=${#_forja_args[@]}
		case $_forja_cmd in
		help)
			# forja help COMMAND
			[ "$n" -eq 0 ] && _forja_reply -W "$_forja_commands" -- "$cur"
			;;
		contracts)
			# forja contracts list | show NAME | check [PATH...]
			if [ "$n" -eq 0 ]; then
				_forja_reply -W "$_forja_contracts_subcommands" -- "$cur"
			else
				case ${_forja_args[0]} in
				show)
					[ "$n" -eq 1 ] && _forja_reply -W "$(_forja_contract_names)" -- "$cur"
					;;
				check)
					compopt -o filenames 2>/dev/null
					_forja_reply -f -- "$cur"
					;;
				esac
			fi
			;;
		sessions)
			# forja sessions list | show ID | export ID | rm ID... | resume ID
			if [ "$n" -eq 0 ]; then
				_forja_reply -W "$_forja_sessions_subcommands" -- "$cur"
			else
				case ${_forja_args[0]} in
				show | export | resume)
					[ "$n" -eq 1 ] && _forja_reply -W "$(_forja_session_ids)" -- "$cur"
					;;
				rm)
					_forja_reply -W "$(_forja_session_ids)" -- "$cur"
					;;
				esac
			fi
			;;
		hook)
			# forja hook install [HOOK...] | uninstall [HOOK...] | list | run HOOK [ARGS...]
			if [ "$n" -eq 0 ]; then
				_forja_reply -W "$_forja_hook_subcommands" -- "$cur"
			else
				case ${_forja_args[0]} in
				install | uninstall)
					_forja_reply -W "$_forja_hook_names" -- "$cur"
					;;
				run)
					if [ "$n" -eq 1 ]; then
						_forja_reply -W "$_forja_hook_names" -- "$cur"
					else
						compopt -o filenames 2>/dev/null
						_forja_reply -f -- "$cur"
					fi
					;;
				esac
			fi
			;;
		tool)
			# forja tool NAME
			[ "$n" -eq 0 ] && _forja_reply -W "$(_forja_contract_names)" -- "$cur"
			;;
		esac
		;;
	esac
	return 0
}

complete -F _forja forja
