/*
 * quota.h - `brook quota set|list|remove`: client byte-rate quotas (producer_byte_rate,
 * consumer_byte_rate) per user and client id, through AlterClientQuotas and
 * DescribeClientQuotas (KIP-546) on a plain connection to the broker named by --bootstrap
 * (librdkafka 2.0 has no admin call for them).
 *
 * Owns: turning the flags into a quota entity and operations, and the table and JSON
 * output.
 * Never: decides precedence or validity itself; the broker answers those.
 */
#ifndef BROOK_CLI_QUOTA_H
#define BROOK_CLI_QUOTA_H

#include <stdio.h>

/* Runs `brook quota <argv...>` where argv[0] is the subcommand. Returns 0 on success, 1 when
 * the broker could not be reached or refused, 2 on a usage error. */
int cli_quota_main(int argc, char **argv);
void cli_quota_usage(FILE *out);

#endif
