/* regex.c - see regex.h. */
#include "base/regex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool regex_whole_compile(regex_t *rx, const char *pattern)
{
    size_t n = strlen(pattern) + 5;
    char *anchored = malloc(n);
    if (!anchored)
        return false;
    snprintf(anchored, n, "^(%s)$", pattern);
    bool ok = regcomp(rx, anchored, REG_EXTENDED | REG_NOSUB) == 0;
    free(anchored);
    return ok;
}

bool regex_whole_match(const regex_t *rx, const char *s)
{
    return regexec(rx, s, 0, NULL, 0) == 0;
}
