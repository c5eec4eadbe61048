/* consume.c - placeholder until the command lands; see consume.h. */
#include "cli/consume.h"

int cli_consume_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "brook: 'brook consume' is not built yet\n");
    return 1;
}

void cli_consume_usage(FILE *out) { (void)out; }
