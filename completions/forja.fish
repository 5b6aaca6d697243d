# fish completion for forja(1)
#
# To add a command: put "name<TAB>summary" in forja_commands, then add its
# own options at the end, with the condition '__forja_using_command NAME'.

set -l forja_commands \
    'bootstrap	print the project context the agent starts with' \
    'exec	send one prompt to the model and stream the answer' \
    'models	list the models the provider offers' \
    'doctor	check config, provider, key, reachability and sandbox support' \
    'help	show help for forja or for one command'

# Print the command on the command line before the cursor, then the words
# after it, one a line; fail when there is no command yet.  Skips the
# options before the command and the values of -C, --color, --provider,
# --model and --base-url.
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
                case -C --color --provider --model --base-url '-[!-]*C'
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
    contains -- $words[1] exec models doctor
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

# forja takes no file names.
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
