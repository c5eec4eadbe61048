/*
 * acl.h - `brook acl add|list|remove`: Kafka's ACLs (docs/security.md) through librdkafka's
 * CreateAcls, DescribeAcls and DeleteAcls, with kafka-acls.sh's vocabulary: a principal
 * (User:alice), an operation (READ, WRITE, ...), a resource (--topic, --group,
 * --transactional-id or --cluster), literal or prefixed, allow or deny, from a host.
 *
 * Owns: the flags, the table and JSON output. Client settings for a secured listener
 * (security.protocol, sasl.*) come from --client-prop KEY=VALUE, as librdkafka names them.
 * Never: changes anything on `list`; removes with a filter that names neither a resource
 * nor a principal (that would remove every ACL) unless --all is given.
 */
#ifndef BROOK_CLI_ACL_H
#define BROOK_CLI_ACL_H

#include <stdio.h>

/* Runs `brook acl <argv...>` where argv[0] is the subcommand. Returns 0 on success, 1 when
 * the broker could not be reached or refused, 2 on a usage error. */
int cli_acl_main(int argc, char **argv);
void cli_acl_usage(FILE *out);

#endif
