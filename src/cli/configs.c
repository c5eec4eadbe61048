/* configs.c - placeholder until the command lands; see configs.h. */
#include "cli/configs.h"

int cli_configs_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "brook: 'brook config describe|set' is not built yet\n");
    return 1;
}

void cli_configs_usage(FILE *out) { (void)out; }
