/*
 * table.h - aligned text tables for the `brook` commands' human output.
 *
 * Owns: copies of every cell until cli_table_free.
 * Never: cuts a value; a long cell widens its column.
 */
#ifndef BROOK_CLI_TABLE_H
#define BROOK_CLI_TABLE_H

#include <stdio.h>

typedef struct cli_table cli_table;

/* A table with ncols columns named by headers (copied). A header that starts with '>' makes
 * its column right-aligned (numbers); the '>' is not printed. NULL when out of memory. */
cli_table *cli_table_new(int ncols, const char *const *headers);
/* Appends a row of ncols cells (copied; NULL prints "-"). Returns 0, or -1 out of memory. */
int cli_table_add(cli_table *t, const char *const *cells);
/* The number of rows added. */
int cli_table_rows(const cli_table *t);
/* Prints the header and rows, columns separated by two spaces, no trailing blanks. */
void cli_table_print(const cli_table *t, FILE *out);
void cli_table_free(cli_table *t);

/* cli_table_add for a loop of rows: out of memory frees the table and sets *t to NULL (so
 * that cli_table_done reports it); nothing happens when *t is already NULL. */
void cli_table_push(cli_table **t, const char *const *cells);
/* Prints t on stdout and frees it, returning 0; t NULL (out of memory) prints
 * "<cmd>: out of memory" on stderr and returns 1. */
int cli_table_done(cli_table *t, const char *cmd);

#endif
