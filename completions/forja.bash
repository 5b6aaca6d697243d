# bash completion for forja(1)
#
# To add a command: put its name in _forja_commands and, when it has options
# of its own, set _forja_opts_<name> (dashes in the name become underscores).
# Options that take a value go in _forja_value_opts as well.

_forja_commands="bootstrap exec models doctor help"

# Options before the command only.
_forja_global_opts="-C --version"
# Options every command accepts, before or after its name.
_forja_common_opts="--json --color -q --quiet -v --verbose -h --help"
# Options before the command and after the commands that talk to a model.
_forja_provider_opts="--provider --model --base-url"
# The built-in providers (more may be defined in the config).
_forja_providers="openai anthropic ollama llamacpp lmstudio vllm openrouter"
# Each command's own options.
_forja_opts_bootstrap="--budget --no-cache"
_forja_opts_exec="--no-context $_forja_provider_opts"
_forja_opts_models="$_forja_provider_opts"
_forja_opts_doctor="$_forja_provider_opts"
_forja_opts_help=""
# Options whose value is the next word (or follows '=').
_forja_value_opts="-C --color --budget --provider --model --base-url"

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
	--budget | --model | --base-url)
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
		# forja help COMMAND
		if [ "$_forja_cmd" = help ]; then
			local i n=0
			for ((i = _forja_cmd_index + 1; i < COMP_CWORD; i++)); do
				case ${COMP_WORDS[i]} in
				-*) ;;
				*) n=$((n + 1)) ;;
				esac
			done
			[ "$n" -eq 0 ] && _forja_reply -W "$_forja_commands" -- "$cur"
		fi
		;;
	esac
	return 0
}

complete -F _forja forja
