/* topic.c - placeholder until the command lands; see topic.h. */
#include "cli/topic.h"

int cli_topic_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "brook: 'brook topic create|list|describe|delete|alter' is not built yet\n");
    return 1;
}

void cli_topic_usage(FILE *out) { (void)out; }
