/* produce.c - placeholder until the command lands; see produce.h. */
#include "cli/produce.h"

int cli_produce_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "brook: 'brook produce' is not built yet\n");
    return 1;
}

void cli_produce_usage(FILE *out) { (void)out; }
