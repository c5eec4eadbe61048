/*
 * ident.h - protocol strings held as C strings without losing a byte.
 *
 * Owns: the one mapping between a Kafka STRING as it is on the wire (length-delimited,
 * any bytes, NUL included) and the NUL-terminated form the coordinators keep for ids
 * (group ids, member and instance ids, client ids, protocol names, transactional ids).
 * The internal form escapes two bytes, as Java's modified UTF-8 does for NUL:
 *   0x00 -> 0xC0 0x80      0xC0 -> 0xC0 0xC0
 * 0xC0 never occurs in valid UTF-8, so every valid id is stored unchanged (logs written
 * before this mapping replay as they are), and the mapping is a bijection on all byte
 * strings: ident_wire(ident_decode(x)) == x for every x.
 * Every handler turns a wire id into a C string with ident_decode and writes one back
 * with wr_ident; byte fields (metadata, assignments) are kept as bytes with a length.
 * Never: used for topic names (Kafka restricts them to [a-zA-Z0-9._-]).
 */
#ifndef BROOK_PROTO_IDENT_H
#define BROOK_PROTO_IDENT_H

#include <stddef.h>

#include "base/arena.h"
#include "base/buf.h"

/* The internal form of a wire string, in arena a; NULL for a null string (or no memory:
 * callers that must tell the two apart check s.len first). */
char *ident_decode(arena *a, kslice s);
/* The same into malloc'd memory (free() it); NULL for null or no memory. */
char *ident_decode_dup(kslice s);
/* Writes an internal id as a STRING (COMPACT_STRING when w->flex); NULL writes null. */
void wr_ident(wr *w, const char *id);
/* The wire bytes of an internal id into out (at least strlen(id) bytes); returns the
 * wire length. */
size_t ident_wire(const char *id, uint8_t *out);

#endif
