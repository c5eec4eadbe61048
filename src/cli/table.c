/*
 * table.c - aligned text tables; see table.h.
 */
#include "cli/table.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct cli_table {
    int ncols;
    int nrows, cap;
    char **cells; /* (nrows + 1) * ncols; row 0 is the header */
    bool *right;  /* per column */
};

cli_table *cli_table_new(int ncols, const char *const *headers)
{
    cli_table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->ncols = ncols;
    t->cap = 16;
    t->cells = calloc((size_t)(t->cap + 1) * (size_t)ncols, sizeof(char *));
    t->right = calloc((size_t)ncols, sizeof(bool));
    if (!t->cells || !t->right) {
        cli_table_free(t);
        return NULL;
    }
    for (int c = 0; c < ncols; c++) {
        const char *h = headers[c];
        t->right[c] = h[0] == '>';
        t->cells[c] = strdup(t->right[c] ? h + 1 : h);
        if (!t->cells[c]) {
            cli_table_free(t);
            return NULL;
        }
    }
    return t;
}

int cli_table_add(cli_table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        int cap = t->cap * 2;
        char **n = realloc(t->cells, (size_t)(cap + 1) * (size_t)t->ncols * sizeof(char *));
        if (!n)
            return -1;
        t->cells = n;
        t->cap = cap;
    }
    char **row = t->cells + (size_t)(t->nrows + 1) * (size_t)t->ncols;
    for (int c = 0; c < t->ncols; c++) {
        row[c] = strdup(cells[c] ? cells[c] : "-");
        if (!row[c]) {
            for (int k = 0; k < c; k++)
                free(row[k]);
            return -1;
        }
    }
    t->nrows++;
    return 0;
}

int cli_table_rows(const cli_table *t) { return t->nrows; }

void cli_table_print(const cli_table *t, FILE *out)
{
    int *w = calloc((size_t)t->ncols, sizeof(int));
    if (!w)
        return;
    for (int r = 0; r <= t->nrows; r++)
        for (int c = 0; c < t->ncols; c++) {
            int n = (int)strlen(t->cells[(size_t)r * (size_t)t->ncols + (size_t)c]);
            if (n > w[c])
                w[c] = n;
        }
    for (int r = 0; r <= t->nrows; r++) {
        for (int c = 0; c < t->ncols; c++) {
            const char *s = t->cells[(size_t)r * (size_t)t->ncols + (size_t)c];
            bool last = c == t->ncols - 1;
            if (c > 0)
                fputs("  ", out);
            if (t->right[c])
                fprintf(out, "%*s", w[c], s);
            else if (last)
                fputs(s, out);
            else
                fprintf(out, "%-*s", w[c], s);
        }
        fputc('\n', out);
    }
    free(w);
}

void cli_table_free(cli_table *t)
{
    if (!t)
        return;
    if (t->cells)
        for (int i = 0; i < (t->nrows + 1) * t->ncols; i++)
            free(t->cells[i]);
    free(t->cells);
    free(t->right);
    free(t);
}

void cli_table_push(cli_table **t, const char *const *cells)
{
    if (*t && cli_table_add(*t, cells) != 0) {
        cli_table_free(*t);
        *t = NULL;
    }
}

int cli_table_done(cli_table *t, const char *cmd)
{
    if (!t) {
        fprintf(stderr, "%s: out of memory\n", cmd);
        return 1;
    }
    cli_table_print(t, stdout);
    cli_table_free(t);
    return 0;
}
