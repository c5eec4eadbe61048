/*
 * user.h - `brook user add|list|delete`: the SCRAM credentials of SASL users, through
 * AlterUserScramCredentials and DescribeUserScramCredentials (KIP-554) on a plain connection
 * to the broker named by --bootstrap (librdkafka 2.0 has no admin call for them).
 *
 * Owns: salting the password here (PBKDF2, a random salt) so that only the salted password
 * travels, as Kafka's clients do; the table and JSON output.
 * Never: prints or stores a password.
 */
#ifndef BROOK_CLI_USER_H
#define BROOK_CLI_USER_H

#include <stdio.h>

/* Runs `brook user <argv...>` where argv[0] is the subcommand. Returns 0 on success, 1 when
 * the broker could not be reached or refused, 2 on a usage error. */
int cli_user_main(int argc, char **argv);
void cli_user_usage(FILE *out);

#endif
