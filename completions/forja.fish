# fish completion for forja(1)
#
# To add a command: put "name<TAB>summary" in forja_commands, then add its
# own options at the end, with the condition '__forja_using_command NAME'.

set -l forja_commands \
    'bootstrap	print the project context the agent starts with' \
    'exec	send one prompt to the model and stream the answer' \
    'models	list the models the provider offers' \
    'doctor	check config, provider, key, reachability and sandbox support' \
    'contracts	list, show and check the tool contracts' \
    'tool	run one tool call as the agent would' \
    'trust	trust this project'"'"'s own config and contracts, or stop' \
    'sessions	list, show, export, remove or resume past conversations' \
    'hook	install, remove, list or run forja'"'"'s git hooks' \
    'help	show help for forja or for one command'

# Print the command on the command line before the cursor, then the words
# after it, one a line; fail when there is no command yet.  Skips the
# options before the command and the values of -C, --color, --provider,
# --model, --base-url and --sandbox.
function __forja_parse
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l skip 0
    set -l dashdash 0
    for i in (seq (count $tokens))
        set -l t $tokens[$i]
        if test $skip -eq 1
            set skip 0
            continue
        end
        if test $dashdash -eq 0
            switch $t
                case --
                    set dashdash 1
                    continue
                case -C --color --provider --model --base-url --sandbox --approvals '-[!-]*C'
                    set skip 1
                    continue
                case '-*'
                    continue
            end
        end
        printf '%s\n' $tokens[$i..-1]
        return 0
    end
    return 1
end

function __forja_no_command
    not __forja_parse >/dev/null
end

function __forja_using_command
    set -l words (__forja_parse); or return 1
    test "$words[1]" = $argv[1]
end

# True before the command and after the commands that talk to a model.
function __forja_provider_ok
    set -l words (__forja_parse); or return 0
    contains -- $words[1] exec models doctor hook
end

# True after `forja help` until a command name is given.
function __forja_help_needs_topic
    set -l words (__forja_parse); or return 1
    test "$words[1]" = help; or return 1
    for w in $words[2..-1]
        string match -q -- '-*' $w; or return 1
    end
    return 0
end

# The operands after the command on the command line (the command's own
# options and their values left out), one a line.
function __forja_operands
    set -l words (__forja_parse); or return 1
    set -l skip 0
    for w in $words[2..-1]
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $w
            case --color --args --session --sandbox --approvals --provider --model --base-url --budget --output-last-message
                set skip 1
            case '-*'
            case '*'
                printf '%s\n' $w
        end
    end
end

# True after `forja COMMAND` followed by exactly the operands in argv.
function __forja_operands_are
    __forja_using_command $argv[1]; or return 1
    set -l want $argv
    set -e want[1]
    set -l ops (__forja_operands)
    test "$ops" = "$want"
end

# True where a hook's name goes: after `forja hook install` or `uninstall`
# (any number), after `forja hook run` (one).
function __forja_hook_wants_name
    __forja_using_command hook; or return 1
    set -l ops (__forja_operands)
    contains -- "$ops[1]" install uninstall; and return 0
    test "$ops[1]" = run; and test (count $ops) -eq 1
end

# True after `forja contracts check`.
function __forja_contracts_check
    __forja_using_command contracts; or return 1
    set -l ops (__forja_operands)
    test "$ops[1]" = check
end

# The names of the contracts forja loads: the first column of
# `forja contracts list`, run with the forja on the command line.
function __forja_contract_names
    set -l prog (commandline -opc)[1]
    set prog (string replace -r '^~/' "$HOME/" -- $prog)
    $prog contracts list 2>/dev/null | string replace -r ' .*' ''
end

# Every session id, newest first: `forja sessions list --all --ids`, run
# with the forja on the command line.
function __forja_session_ids
    set -l prog (commandline -opc)[1]
    set prog (string replace -r '^~/' "$HOME/" -- $prog)
    $prog sessions list --all --ids 2>/dev/null
end

# True where a session id goes: after `forja sessions show`, `export` or
# `resume` (one id) and after `forja sessions rm` (any number).
function __forja_sessions_wants_id
    __forja_using_command sessions; or return 1
    set -l ops (__forja_operands)
    switch "$ops[1]"
        case show export resume
            test (count $ops) -eq 1
        case rm
            return 0
        case '*'
            return 1
    end
end

# forja takes no file names (but `forja contracts check` does).
complete -c forja -f

# The commands, and the command names after `forja help`.
for c in $forja_commands
    set -l parts (string split -m 1 \t -- $c)
    complete -c forja -n __forja_no_command -a $parts[1] -d $parts[2]
    complete -c forja -n __forja_help_needs_topic -a $parts[1] -d $parts[2]
end

# Options before the command only.
complete -c forja -n __forja_no_command -s C -x -a '(__fish_complete_directories)' \
    -d 'run as if forja was started in DIR'
complete -c forja -n __forja_no_command -l version -d 'print the version and exit'
complete -c forja -n __forja_no_command -l continue -d 'continue the latest session of this project'

# Before the command, and after tool.
complete -c forja -n '__forja_no_command; or __forja_using_command exec' -l approvals -x \
    -a 'ask auto' -d 'whether calls that need approval wait for you'
complete -c forja -n '__forja_using_command exec' -l output-last-message -r -F \
    -d 'also write the final answer to FILE'
complete -c forja -n '__forja_using_command exec' -l session -x -a '(forja sessions list --all --ids 2>/dev/null)' \
    -d 'continue this session'
complete -c forja -n '__forja_no_command; or __forja_using_command tool; or __forja_using_command exec' -l sandbox -x \
    -a 'read-only workspace-write danger-full-access' -d 'what tool calls may do'

# Options every command accepts, before or after its name.
complete -c forja -l json -d 'machine-readable JSON output'
complete -c forja -l color -x -a 'auto always never' -d 'colour: auto, always or never'
complete -c forja -s q -l quiet -d 'print less'
complete -c forja -s v -l verbose -d 'print more (repeat for more)'
complete -c forja -s h -l help -d 'show help and exit'

# Before the command, and after exec, models and doctor.  The built-in
# providers are listed; more may be defined in the config.
complete -c forja -n __forja_provider_ok -l provider -x \
    -a 'openai anthropic ollama llamacpp lmstudio vllm openrouter' -d 'the LLM provider'
complete -c forja -n __forja_provider_ok -l model -x -d 'the model to use'
complete -c forja -n __forja_provider_ok -l base-url -x -d "the provider's API base URL"

# bootstrap
complete -c forja -n '__forja_using_command bootstrap' -l budget -x \
    -d 'size of the text output in tokens (default 2000)'
complete -c forja -n '__forja_using_command bootstrap' -l no-cache \
    -d 'scan afresh, ignoring the cache'

# exec
complete -c forja -n '__forja_using_command exec' -l no-context \
    -d 'do not send the project context'

# contracts
complete -c forja -n '__forja_operands_are contracts' -a list \
    -d 'list the contracts loaded (the default)'
complete -c forja -n '__forja_operands_are contracts' -a show \
    -d 'print the tool definition the model sees'
complete -c forja -n '__forja_operands_are contracts' -a check \
    -d 'check the loaded contracts or the files given'
complete -c forja -n '__forja_operands_are contracts show' -a '(__forja_contract_names)' \
    -d 'tool contract'
complete -c forja -n __forja_contracts_check -F

# tool
complete -c forja -n '__forja_operands_are tool' -a '(__forja_contract_names)' -d 'tool'
complete -c forja -n '__forja_using_command tool' -l args -x -a - \
    -d 'the arguments, a JSON object; - reads standard input'
complete -c forja -n '__forja_using_command tool' -l session -x \
    -d 'record the call in this existing session'

# trust
complete -c forja -n '__fish_seen_subcommand_from trust' -l revoke -d 'stop trusting this project'
complete -c forja -n '__fish_seen_subcommand_from trust' -l list -d 'list the trusted projects'

# sessions
complete -c forja -n '__forja_operands_are sessions' -a list \
    -d "this project's sessions, newest first (the default)"
complete -c forja -n '__forja_operands_are sessions' -a show -d "print a session's conversation"
complete -c forja -n '__forja_operands_are sessions' -a export \
    -d 'write a session as Markdown or JSON'
complete -c forja -n '__forja_operands_are sessions' -a rm \
    -d 'remove sessions and all they recorded'
complete -c forja -n '__forja_operands_are sessions' -a resume -d 'continue a session'
complete -c forja -n __forja_sessions_wants_id -a '(__forja_session_ids)' -d 'session'
complete -c forja -n '__forja_using_command sessions' -l all \
    -d "list every project's sessions, with their project"
complete -c forja -n '__forja_using_command sessions' -l ids -d 'list only the full ids, one a line'
complete -c forja -n '__forja_using_command sessions' -l markdown \
    -d 'export as Markdown (the default)'

# hook
complete -c forja -n '__forja_operands_are hook' -a install -d 'install the hooks named, or both'
complete -c forja -n '__forja_operands_are hook' -a uninstall \
    -d "remove forja's hooks, put back the ones they chained to"
complete -c forja -n '__forja_operands_are hook' -a list -d 'show each hook and its path'
complete -c forja -n '__forja_operands_are hook' -a run -d 'run a hook, as the installed scripts do'
complete -c forja -n __forja_hook_wants_name -a 'pre-commit prepare-commit-msg' -d 'git hook'
