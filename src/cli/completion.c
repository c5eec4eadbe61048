/*
 * completion.c - the bash completion script; see completion.h.
 */
#include "cli/completion.h"

#include <string.h>

/* Completes, in order: the command (from `brook help`), its subcommand (the a|b|c word of
 * its summary line), then flags (from `brook CMD SUB --help`), and after --topic or --group
 * the names the cluster has (bounded by a 2 s timeout, quiet on failure). */
static const char BASH_SCRIPT[] =
    "# bash completion for brook; load with: source <(brook completion bash)\n"
    "_brook_words() { \"$1\" help 2>/dev/null | awk '/^commands:/{on=1;next} "
    "on&&/^  [a-z]/{print $1} /^$/{if(on)exit}'; }\n"
    "_brook_subs() { \"$1\" help 2>/dev/null | awk -v c=\"$2\" '$1==c && $2 ~ /\\|/ "
    "{gsub(/\\|/,\" \",$2); print $2}'; }\n"
    "_brook_flags() { \"$@\" --help 2>&1 | grep -o -- '--[a-z][a-z0-9-]*' | sort -u; }\n"
    "_brook_names() {\n"
    "  \"$1\" \"$2\" list --json --timeout-ms 2000 2>/dev/null | tr ',{}[]' '\\n\\n\\n\\n\\n' |\n"
    "    sed -n 's/^ *\"\\(name\\|group\\|topic\\)\": *\"\\([^\"]*\\)\".*/\\2/p' | sort -u\n"
    "}\n"
    "_brook() {\n"
    "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
    "  local bin=${COMP_WORDS[0]} cmd=${COMP_WORDS[1]} words\n"
    "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
    "    words=$(_brook_words \"$bin\")\n"
    "  elif [ \"$prev\" = --topic ]; then\n"
    "    words=$(_brook_names \"$bin\" topic)\n"
    "  elif [ \"$prev\" = --group ]; then\n"
    "    words=$(_brook_names \"$bin\" group)\n"
    "  elif [ \"$COMP_CWORD\" -eq 2 ] && [ -n \"$(_brook_subs \"$bin\" \"$cmd\")\" ] &&\n"
    "       [[ $cur != -* ]]; then\n"
    "    words=$(_brook_subs \"$bin\" \"$cmd\")\n"
    "  elif [ -n \"$(_brook_subs \"$bin\" \"$cmd\")\" ]; then\n"
    "    words=$(_brook_flags \"$bin\" \"$cmd\" \"${COMP_WORDS[2]}\")\n"
    "  else\n"
    "    words=$(_brook_flags \"$bin\" \"$cmd\")\n"
    "  fi\n"
    "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
    "}\n"
    "complete -F _brook brook\n";

void cli_completion_usage(FILE *out)
{
    fprintf(out, "brook completion bash   print the bash completion script\n"
                 "  use: source <(brook completion bash), or save it as\n"
                 "  /etc/bash_completion.d/brook\n");
}

int cli_completion_main(int argc, char **argv)
{
    if (argc == 1 && strcmp(argv[0], "bash") == 0) {
        fputs(BASH_SCRIPT, stdout);
        return 0;
    }
    if (argc == 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        cli_completion_usage(stdout);
        return 0;
    }
    fprintf(stderr, "brook completion: only 'bash' is supported\n");
    cli_completion_usage(stderr);
    return 2;
}
