/*
 * txn.h - `brook txn list|describe|abort`: find and end hanging transactions through
 * brookd's admin HTTP listener (admin.listeners, /v1/transactions).
 *
 * Owns: a minimal HTTP/1.1 client over a plain socket (one request per connection, every
 * wait and size bounded) and the human-readable tables. Never: links broker internals;
 * it speaks only the admin API's JSON.
 */
#ifndef BROOK_CLI_TXN_H
#define BROOK_CLI_TXN_H

#include <stdio.h>

/* Runs `brook txn <argv...>` where argv[0] is the subcommand. Returns the exit code: 0 on
 * success, 1 when the broker could not be reached or refused, 2 on a usage error. */
int cli_txn_main(int argc, char **argv);

/* Prints the usage of every txn subcommand on out. */
void cli_txn_usage(FILE *out);

#endif
