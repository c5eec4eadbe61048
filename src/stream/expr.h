/*
 * stream/expr.h - the stream pipelines' expression language: field paths, literals,
 * operators and a few functions, parsed once into a tree and evaluated against each record
 * (a cJSON value). The grammar is in docs/stream.md ("Expressions").
 *
 * Values are JSON values. Numbers are doubles: integers are exact up to 2^53, and an
 * integer literal beyond that is a parse error rather than a silent rounding. A missing
 * field evaluates to null; a type mismatch ("abc" * 2, "a" < 1, lower(5)) is an error, as
 * are division by zero and a non-finite result.
 *
 * Owns: the parsed trees (malloc'd, freed by sx_free) and the canonical JSON text of values
 * (sx_print: the one serializer the stream core uses, so outputs are byte-for-byte
 * reproducible and integral numbers print as integers).
 * Never: does I/O, keeps state between evaluations, or trusts its input: the text of an
 * expression and the records are bounded (SX_TEXT_MAX, SX_DEPTH_MAX, SX_TREE_DEPTH_MAX,
 * SX_STRING_MAX) and checked, and no input makes it crash or assert.
 */
#ifndef BROOK_STREAM_EXPR_H
#define BROOK_STREAM_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Longest expression (and pipeline operator line) text, in bytes. */
#define SX_TEXT_MAX 8192
/* Deepest syntactic nesting: parentheses, function arguments, unary `-` and `not`. */
#define SX_DEPTH_MAX 64
/* Deepest evaluated tree (also bounds chains like a + b + c + ...). */
#define SX_TREE_DEPTH_MAX 256
/* Arguments of one function call. */
#define SX_ARGS_MAX 32
/* Longest string an expression may build (by concatenation or str()), in bytes. */
#define SX_STRING_MAX (16u * 1024 * 1024)
/* 2^53: numbers with a larger magnitude are not exact integers. */
#define SX_EXACT_INT_MAX 9007199254740992.0

typedef struct sx_expr sx_expr;

/* Parses the whole of `text` (NUL-terminated) as one expression. NULL with a message in
 * err ("position N: problem", N the 1-based byte offset) on error. */
sx_expr *sx_parse(const char *text, char *err, size_t errlen);
/* Parses one expression starting at byte `start` of `text` and stops before the first
 * token that cannot continue it (a `,`, `=`, or a word like `as`), setting *end to that
 * token's offset (trailing spaces skipped). For the operator lines, which embed
 * expressions; positions in err are offsets into `text`, not from `start`. */
sx_expr *sx_parse_part(const char *text, size_t start, size_t *end, char *err, size_t errlen);
void sx_free(sx_expr *e);

/* Evaluates against a record (any cJSON value; NULL or a non-object makes every field
 * missing). Returns a new cJSON value the caller owns (cJSON_Delete), or NULL with err set. */
cJSON *sx_eval(const sx_expr *e, const cJSON *rec, char *err, size_t errlen);
/* Truthiness for predicates: false, null, 0 and "" are false; everything else is true.
 * Returns 0, or -1 with err set. */
int sx_test(const sx_expr *e, const cJSON *rec, bool *out, char *err, size_t errlen);
/* The truthiness rule of sx_test on a value. */
bool sx_truthy(const cJSON *v);

/* For a field path (`a`, `a.b`, `a["x y"]`, `items[0]`): its number of segments; 0 when
 * the expression is anything else. */
size_t sx_path_len(const sx_expr *e);
/* The i-th segment's key (borrowed), or NULL when it is an array index. */
const char *sx_path_key(const sx_expr *e, size_t i);

/* The canonical compact JSON text of v: no spaces, object members in their order, strings
 * escaped (\" \\ \b \f \n \r \t, other control bytes as \u00XX, all other bytes as they
 * are), numbers by sx_format_number. Returns a malloc'd NUL-terminated string (its length
 * in *len when len is not NULL), or NULL when out of memory. */
char *sx_print(const cJSON *v, size_t *len);
/* A number's canonical text: integral values of magnitude <= 2^53 as integers ("-0" as
 * "0"), others with the fewest significant digits (15 to 17) that read back to the same
 * double, non-finite values as "null". buf should have 32 bytes; returns the length. */
size_t sx_format_number(double d, char *buf, size_t buflen);
/* Parses exactly n bytes of JSON text (borrowed; need not be NUL-terminated; spaces around
 * the value allowed). NULL with err ("malformed JSON at byte N") on error. */
cJSON *sx_json_parse(const char *text, size_t n, char *err, size_t errlen);
/* "null", "boolean", "number", "string", "array" or "object". */
const char *sx_type_name(const cJSON *v);

#endif
