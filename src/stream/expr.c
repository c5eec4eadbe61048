/*
 * stream/expr.c - see expr.h. A recursive-descent parser over an on-demand lexer (so that
 * sx_parse_part can stop at the first token that does not continue the expression), a tree
 * of nodes, and an evaluator that borrows field values from the record instead of copying
 * them (a comparison of a large sub-object copies nothing).
 */
#include "stream/expr.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

typedef enum {
    T_EOF, T_ERR, T_NUM, T_STR, T_IDENT, T_LPAREN, T_RPAREN, T_LBRACK, T_RBRACK, T_COMMA,
    T_DOT, T_ASSIGN, T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE, T_PLUS, T_MINUS, T_STAR, T_SLASH,
    T_PERCENT,
} tok_type;

static const char *const g_op_text[] = {
    [T_EQ] = "==", [T_NE] = "!=", [T_LT] = "<",    [T_LE] = "<=",    [T_GT] = ">",
    [T_GE] = ">=", [T_PLUS] = "+", [T_MINUS] = "-", [T_STAR] = "*", [T_SLASH] = "/",
    [T_PERCENT] = "%",
};

typedef enum { N_NUM, N_STR, N_BOOL, N_NULL, N_PATH, N_NOT, N_NEG, N_AND, N_OR, N_BIN,
               N_CALL } node_kind;

typedef enum { F_LOWER, F_UPPER, F_LEN, F_STR, F_NUM, F_FLOOR, F_COALESCE, F_EXISTS } fn_id;

static const struct {
    const char *name;
    fn_id id;
    size_t min_args, max_args;
} g_fns[] = {
    {"lower", F_LOWER, 1, 1}, {"upper", F_UPPER, 1, 1}, {"len", F_LEN, 1, 1},
    {"str", F_STR, 1, 1},     {"num", F_NUM, 1, 1},     {"floor", F_FLOOR, 1, 1},
    {"coalesce", F_COALESCE, 1, SX_ARGS_MAX},           {"exists", F_EXISTS, 1, 1},
};

typedef struct seg {
    char *key;    /* NULL: an array index */
    size_t index;
} seg;

struct sx_expr {
    node_kind kind;
    tok_type op; /* N_BIN */
    fn_id fn;    /* N_CALL */
    size_t pos;  /* 0-based offset of the node's operator or first token, for messages */
    int depth;   /* 1 for a leaf */
    double num;  /* N_NUM */
    bool b;      /* N_BOOL */
    char *str;   /* N_STR: NUL-terminated */
    seg *segs;   /* N_PATH */
    size_t nsegs;
    sx_expr **kids; /* operands and arguments */
    size_t nkids;
};

/* ---- lexer ---------------------------------------------------------------------------- */

typedef struct tok {
    tok_type type;
    size_t pos, len; /* where the token is in the text */
    double num;
    bool integral;   /* T_NUM written without a fraction or an exponent */
    char *str;       /* T_STR: the decoded text (owned by the token until taken) */
} tok;

typedef struct parser {
    const char *text;
    size_t len, pos; /* pos: the next byte to lex */
    tok t;
    int depth;
    bool failed;
    char *err;
    size_t errlen;
} parser;

static void perr(parser *p, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void perr(parser *p, size_t pos, const char *fmt, ...)
{
    if (p->failed)
        return; /* the first problem is the one to report */
    p->failed = true;
    if (!p->err || p->errlen == 0)
        return;
    int n = snprintf(p->err, p->errlen, "position %zu: ", pos + 1);
    if (n < 0 || (size_t)n >= p->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static bool is_ident_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_ident_char(unsigned char c) { return is_ident_start(c) || is_digit(c); }

/* A bounded, printable rendering of n bytes for messages: 'abc', with \xNN for others. */
static const char *show(const char *s, size_t n, char *buf, size_t buflen)
{
    size_t o = 0, i;
    buf[o++] = '\'';
    for (i = 0; i < n && i < 20 && o + 8 < buflen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f)
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, buflen - o, "\\x%02x", c);
    }
    if (i < n && o + 5 < buflen) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '\'';
    buf[o] = '\0';
    return buf;
}

static const char *show_tok(const parser *p, char *buf, size_t buflen)
{
    if (p->t.type == T_EOF)
        return "the end of the text";
    return show(p->text + p->t.pos, p->t.len, buf, buflen);
}

/* Length of a JSON-style number at s (at most n bytes): -?digits(.digits)?([eE][+-]?digits)?;
 * 0 when there is none. *integral says whether it had no fraction and no exponent. */
static size_t scan_number(const char *s, size_t n, bool allow_sign, bool *integral)
{
    size_t i = 0;
    *integral = true;
    if (allow_sign && i < n && s[i] == '-')
        i++;
    size_t d0 = i;
    while (i < n && is_digit((unsigned char)s[i]))
        i++;
    if (i == d0)
        return 0;
    if (i < n && s[i] == '.') {
        size_t f0 = ++i;
        while (i < n && is_digit((unsigned char)s[i]))
            i++;
        if (i == f0)
            return 0;
        *integral = false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < n && (s[j] == '+' || s[j] == '-'))
            j++;
        size_t e0 = j;
        while (j < n && is_digit((unsigned char)s[j]))
            j++;
        if (j == e0)
            return 0;
        i = j;
        *integral = false;
    }
    return i;
}

static void lex_number(parser *p)
{
    const char *s = p->text + p->pos;
    size_t n = scan_number(s, p->len - p->pos, false, &p->t.integral);
    if (n == 0 || (p->pos + n < p->len && (is_ident_char((unsigned char)s[n]) || s[n] == '.'))) {
        perr(p, p->pos, "malformed number");
        p->t.type = T_ERR;
        return;
    }
    char buf[72];
    if (n >= sizeof(buf)) {
        perr(p, p->pos, "number literal longer than %zu characters", sizeof(buf) - 1);
        p->t.type = T_ERR;
        return;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (p->t.integral) {
        errno = 0;
        unsigned long long u = strtoull(buf, NULL, 10);
        if (errno == ERANGE || u > (1ull << 53)) {
            perr(p, p->pos, "integer literal beyond 2^53 (it would not be exact)");
            p->t.type = T_ERR;
            return;
        }
        p->t.num = (double)u;
    } else {
        p->t.num = strtod(buf, NULL);
        if (!isfinite(p->t.num)) {
            perr(p, p->pos, "number literal out of range");
            p->t.type = T_ERR;
            return;
        }
    }
    p->t.type = T_NUM;
    p->t.len = n;
    p->pos += n;
}

static void lex_string(parser *p)
{
    size_t start = p->pos, i = p->pos + 1, o = 0;
    char *out = malloc(p->len - p->pos); /* the decoded text is never longer than the rest */
    if (!out) {
        perr(p, start, "out of memory");
        p->t.type = T_ERR;
        return;
    }
    char sb[32];
    while (i < p->len && p->text[i] != '"') {
        unsigned char c = (unsigned char)p->text[i];
        if (c == '\\') {
            char e = i + 1 < p->len ? p->text[i + 1] : '\0';
            char d = e == '"' ? '"' : e == '\\' ? '\\' : e == 'n' ? '\n' : e == 't' ? '\t'
                   : e == 'r' ? '\r' : '\0';
            if (d == '\0') {
                perr(p, i, "unknown escape %s in a string (use \\\" \\\\ \\n \\t \\r)",
                     show(p->text + i, i + 1 < p->len ? 2 : 1, sb, sizeof(sb)));
                free(out);
                p->t.type = T_ERR;
                return;
            }
            out[o++] = d;
            i += 2;
        } else if (c < 0x20) {
            perr(p, i, "control character in a string (write \\n, \\t or \\r)");
            free(out);
            p->t.type = T_ERR;
            return;
        } else {
            out[o++] = (char)c;
            i++;
        }
    }
    if (i >= p->len) {
        perr(p, start, "unterminated string");
        free(out);
        p->t.type = T_ERR;
        return;
    }
    out[o] = '\0';
    p->t.type = T_STR;
    p->t.str = out;
    p->t.len = i + 1 - start;
    p->pos = i + 1;
}

/* Reads the next token into p->t; a malformed one becomes T_ERR with the error reported. */
static void lex(parser *p)
{
    free(p->t.str);
    memset(&p->t, 0, sizeof(p->t));
    while (p->pos < p->len && (p->text[p->pos] == ' ' || p->text[p->pos] == '\t' ||
                               p->text[p->pos] == '\r' || p->text[p->pos] == '\n'))
        p->pos++;
    p->t.pos = p->pos;
    if (p->failed) {
        p->t.type = T_ERR; /* stop: nothing after the first problem matters */
        return;
    }
    if (p->pos >= p->len) {
        p->t.type = T_EOF;
        return;
    }
    unsigned char c = (unsigned char)p->text[p->pos];
    char next = p->pos + 1 < p->len ? p->text[p->pos + 1] : '\0';
    if (is_digit(c)) {
        lex_number(p);
        return;
    }
    if (c == '"') {
        lex_string(p);
        return;
    }
    if (is_ident_start(c)) {
        size_t i = p->pos;
        while (i < p->len && is_ident_char((unsigned char)p->text[i]))
            i++;
        p->t.type = T_IDENT;
        p->t.len = i - p->pos;
        p->pos = i;
        return;
    }
    tok_type t = T_ERR;
    size_t n = 1;
    switch (c) {
    case '(': t = T_LPAREN; break;
    case ')': t = T_RPAREN; break;
    case '[': t = T_LBRACK; break;
    case ']': t = T_RBRACK; break;
    case ',': t = T_COMMA; break;
    case '.': t = T_DOT; break;
    case '+': t = T_PLUS; break;
    case '-': t = T_MINUS; break;
    case '*': t = T_STAR; break;
    case '/': t = T_SLASH; break;
    case '%': t = T_PERCENT; break;
    case '=': t = next == '=' ? T_EQ : T_ASSIGN; break;
    case '<': t = next == '=' ? T_LE : T_LT; break;
    case '>': t = next == '=' ? T_GE : T_GT; break;
    case '!':
        if (next == '=')
            t = T_NE;
        break;
    default: break;
    }
    if (t == T_EQ || t == T_NE || t == T_LE || t == T_GE)
        n = 2;
    if (t == T_ERR) {
        char sb[32];
        if (c == '!')
            perr(p, p->pos, "'!' is not an operator (write not, or != to compare)");
        else
            perr(p, p->pos, "unexpected character %s", show(p->text + p->pos, 1, sb, sizeof(sb)));
    }
    p->t.type = t;
    p->t.len = n;
    p->pos += n;
}

static bool tok_is(const parser *p, const char *kw)
{
    size_t n = strlen(kw);
    return p->t.type == T_IDENT && p->t.len == n && memcmp(p->text + p->t.pos, kw, n) == 0;
}

static bool expect(parser *p, tok_type type, const char *what)
{
    if (p->t.type == type) {
        lex(p);
        return true;
    }
    char sb[40];
    perr(p, p->t.pos, "expected %s, found %s", what, show_tok(p, sb, sizeof(sb)));
    return false;
}

/* ---- trees ---------------------------------------------------------------------------- */

void sx_free(sx_expr *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->nkids; i++)
        sx_free(e->kids[i]);
    for (size_t i = 0; i < e->nsegs; i++)
        free(e->segs[i].key);
    free(e->kids);
    free(e->segs);
    free(e->str);
    free(e);
}

static sx_expr *node(parser *p, node_kind k, size_t pos)
{
    sx_expr *e = calloc(1, sizeof(*e));
    if (!e) {
        perr(p, pos, "out of memory");
        return NULL;
    }
    e->kind = k;
    e->pos = pos;
    e->depth = 1;
    return e;
}

/* Appends kid to e (taking ownership of it either way); false when out of memory. */
static bool add_kid(parser *p, sx_expr *e, sx_expr *kid)
{
    sx_expr **k = realloc(e->kids, (e->nkids + 1) * sizeof(*k));
    if (!k) {
        sx_free(kid);
        perr(p, e->pos, "out of memory");
        return false;
    }
    e->kids = k;
    e->kids[e->nkids++] = kid;
    if (kid->depth + 1 > e->depth)
        e->depth = kid->depth + 1;
    if (e->depth > SX_TREE_DEPTH_MAX) {
        perr(p, e->pos, "expression deeper than %d levels", SX_TREE_DEPTH_MAX);
        return false;
    }
    return true;
}

/* A node of kind k over operands a and b (b may be NULL for unary), owning both; NULL (and
 * both freed) when an operand is missing or on error. */
static sx_expr *combine(parser *p, node_kind k, tok_type op, size_t pos, sx_expr *a, sx_expr *b,
                        bool unary)
{
    if (!a || (!unary && !b)) {
        sx_free(a);
        sx_free(b);
        return NULL;
    }
    sx_expr *e = node(p, k, pos);
    if (!e) {
        sx_free(a);
        sx_free(b);
        return NULL;
    }
    e->op = op;
    bool ok = add_kid(p, e, a);
    if (!unary)
        ok = ok ? add_kid(p, e, b) : (sx_free(b), false);
    if (!ok) {
        sx_free(e);
        return NULL;
    }
    return e;
}

static bool enter(parser *p)
{
    if (++p->depth > SX_DEPTH_MAX) {
        perr(p, p->t.pos, "nested deeper than %d levels", SX_DEPTH_MAX);
        return false;
    }
    return true;
}

static sx_expr *parse_or(parser *p);

static bool add_seg(parser *p, sx_expr *e, char *key, size_t index)
{
    seg *s = realloc(e->segs, (e->nsegs + 1) * sizeof(*s));
    if (!s) {
        free(key);
        perr(p, e->pos, "out of memory");
        return false;
    }
    e->segs = s;
    e->segs[e->nsegs].key = key;
    e->segs[e->nsegs].index = index;
    e->nsegs++;
    return true;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* A field path; `first` (owned) is its first name, or NULL when it opens with [ ]. */
static sx_expr *parse_path(parser *p, size_t pos, char *first)
{
    sx_expr *e = node(p, N_PATH, pos);
    if (!e || (first && !add_seg(p, e, first, 0))) {
        if (!e)
            free(first);
        sx_free(e);
        return NULL;
    }
    char sb[40];
    for (;;) {
        if (p->t.type == T_DOT) {
            lex(p);
            if (p->t.type != T_IDENT) {
                perr(p, p->t.pos, "expected a field name after '.', found %s",
                     show_tok(p, sb, sizeof(sb)));
                break;
            }
            char *k = dup_n(p->text + p->t.pos, p->t.len);
            if (!k) {
                perr(p, p->t.pos, "out of memory");
                break;
            }
            if (!add_seg(p, e, k, 0))
                break;
            lex(p);
        } else if (p->t.type == T_LBRACK) {
            lex(p);
            if (p->t.type == T_STR) {
                char *k = p->t.str;
                p->t.str = NULL;
                if (!add_seg(p, e, k, 0))
                    break;
            } else if (p->t.type == T_NUM && p->t.integral) {
                if (!add_seg(p, e, NULL, (size_t)p->t.num))
                    break;
            } else {
                perr(p, p->t.pos, "expected a \"key\" or an index in [ ], found %s",
                     show_tok(p, sb, sizeof(sb)));
                break;
            }
            lex(p);
            if (!expect(p, T_RBRACK, "']'"))
                break;
        } else {
            break;
        }
    }
    if (p->failed) {
        sx_free(e);
        return NULL;
    }
    return e;
}

static sx_expr *parse_call(parser *p, size_t pos, size_t name_len)
{
    const char *name = p->text + pos;
    size_t f = 0;
    while (f < BROOK_ARRAY_LEN(g_fns) &&
           !(strlen(g_fns[f].name) == name_len && memcmp(g_fns[f].name, name, name_len) == 0))
        f++;
    char sb[40];
    if (f == BROOK_ARRAY_LEN(g_fns)) {
        perr(p, pos, "unknown function %s (there are lower, upper, len, str, num, floor, "
             "coalesce, exists)", show(name, name_len, sb, sizeof(sb)));
        return NULL;
    }
    sx_expr *e = node(p, N_CALL, pos);
    if (!e)
        return NULL;
    e->fn = g_fns[f].id;
    lex(p); /* the ( */
    if (p->t.type != T_RPAREN) {
        for (;;) {
            if (e->nkids == SX_ARGS_MAX) {
                perr(p, p->t.pos, "more than %d arguments", SX_ARGS_MAX);
                break;
            }
            sx_expr *a = parse_or(p);
            if (!a || !add_kid(p, e, a))
                break;
            if (p->t.type != T_COMMA)
                break;
            lex(p);
        }
    }
    if (!p->failed)
        expect(p, T_RPAREN, "',' or ')'");
    if (!p->failed && (e->nkids < g_fns[f].min_args || e->nkids > g_fns[f].max_args)) {
        if (g_fns[f].min_args == g_fns[f].max_args)
            perr(p, pos, "%s() takes %zu argument%s", g_fns[f].name, g_fns[f].min_args,
                 g_fns[f].min_args == 1 ? "" : "s");
        else
            perr(p, pos, "%s() takes %zu to %zu arguments", g_fns[f].name, g_fns[f].min_args,
                 g_fns[f].max_args);
    }
    if (!p->failed && e->fn == F_EXISTS && e->kids[0]->kind != N_PATH)
        perr(p, e->kids[0]->pos, "exists() takes a field path");
    if (p->failed) {
        sx_free(e);
        return NULL;
    }
    return e;
}

static sx_expr *parse_primary(parser *p)
{
    char sb[40];
    size_t pos = p->t.pos;
    sx_expr *e = NULL;
    switch (p->t.type) {
    case T_NUM:
        if ((e = node(p, N_NUM, pos)) != NULL)
            e->num = p->t.num;
        lex(p);
        return e;
    case T_STR:
        if ((e = node(p, N_STR, pos)) != NULL) {
            e->str = p->t.str;
            p->t.str = NULL;
        }
        lex(p);
        return e;
    case T_LPAREN:
        lex(p);
        e = parse_or(p);
        if (e && !expect(p, T_RPAREN, "')'")) {
            sx_free(e);
            return NULL;
        }
        return e;
    case T_LBRACK:
        return parse_path(p, pos, NULL);
    case T_IDENT:
        if (tok_is(p, "true") || tok_is(p, "false")) {
            if ((e = node(p, N_BOOL, pos)) != NULL)
                e->b = tok_is(p, "true");
            lex(p);
            return e;
        }
        if (tok_is(p, "null")) {
            e = node(p, N_NULL, pos);
            lex(p);
            return e;
        }
        if (tok_is(p, "and") || tok_is(p, "or") || tok_is(p, "not")) {
            perr(p, pos, "expected an expression, found %s (a keyword: write [\"%.*s\"] for "
                 "a field of that name, or parenthesize not)", show_tok(p, sb, sizeof(sb)),
                 (int)p->t.len, p->text + pos);
            return NULL;
        }
        {
            size_t n = p->t.len;
            lex(p);
            if (p->t.type == T_LPAREN)
                return parse_call(p, pos, n);
            char *first = dup_n(p->text + pos, n);
            if (!first) {
                perr(p, pos, "out of memory");
                return NULL;
            }
            return parse_path(p, pos, first);
        }
    default:
        if (p->t.type != T_ERR)
            perr(p, pos, "expected an expression, found %s", show_tok(p, sb, sizeof(sb)));
        return NULL;
    }
}

static sx_expr *parse_unary(parser *p)
{
    if (p->t.type != T_MINUS)
        return parse_primary(p);
    size_t pos = p->t.pos;
    if (!enter(p))
        return NULL;
    lex(p);
    sx_expr *e = combine(p, N_NEG, T_MINUS, pos, parse_unary(p), NULL, true);
    p->depth--;
    return e;
}

/* The operator of one left-associative level at the current token (its node kind and, for
 * N_BIN, its token), or false when the token is none of the level's. */
typedef bool (*level_op)(const parser *p, node_kind *kind, tok_type *op);

static bool mul_op(const parser *p, node_kind *kind, tok_type *op)
{
    *kind = N_BIN;
    *op = p->t.type;
    return *op == T_STAR || *op == T_SLASH || *op == T_PERCENT;
}

static bool add_op(const parser *p, node_kind *kind, tok_type *op)
{
    *kind = N_BIN;
    *op = p->t.type;
    return *op == T_PLUS || *op == T_MINUS;
}

static bool and_op(const parser *p, node_kind *kind, tok_type *op)
{
    *kind = N_AND;
    *op = T_EOF;
    return tok_is(p, "and");
}

static bool or_op(const parser *p, node_kind *kind, tok_type *op)
{
    *kind = N_OR;
    *op = T_EOF;
    return tok_is(p, "or");
}

/* One left-associative level: next { op next }. */
static sx_expr *parse_chain(parser *p, sx_expr *(*next)(parser *), level_op is_op)
{
    sx_expr *l = next(p);
    node_kind kind;
    tok_type op;
    while (l && is_op(p, &kind, &op)) {
        size_t pos = p->t.pos;
        lex(p);
        l = combine(p, kind, op, pos, l, next(p), false);
    }
    return l;
}

static sx_expr *parse_mul(parser *p) { return parse_chain(p, parse_unary, mul_op); }
static sx_expr *parse_add(parser *p) { return parse_chain(p, parse_mul, add_op); }

static bool is_cmp(tok_type t) { return t >= T_EQ && t <= T_GE; }

static sx_expr *parse_cmp(parser *p)
{
    sx_expr *l = parse_add(p);
    if (l && is_cmp(p->t.type)) {
        tok_type op = p->t.type;
        size_t pos = p->t.pos;
        lex(p);
        l = combine(p, N_BIN, op, pos, l, parse_add(p), false);
        if (l && is_cmp(p->t.type)) {
            perr(p, p->t.pos, "comparisons do not chain (write a < b and b < c)");
            sx_free(l);
            return NULL;
        }
    }
    return l;
}

static sx_expr *parse_not(parser *p)
{
    if (!tok_is(p, "not"))
        return parse_cmp(p);
    size_t pos = p->t.pos;
    if (!enter(p))
        return NULL;
    lex(p);
    sx_expr *e = combine(p, N_NOT, T_EOF, pos, parse_not(p), NULL, true);
    p->depth--;
    return e;
}

static sx_expr *parse_and(parser *p) { return parse_chain(p, parse_not, and_op); }

static sx_expr *parse_or(parser *p)
{
    if (!enter(p))
        return NULL;
    sx_expr *l = parse_chain(p, parse_and, or_op);
    p->depth--;
    return l;
}

static sx_expr *parse_from(const char *text, size_t start, bool whole, size_t *end, char *err,
                           size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    parser p = {.text = text, .err = err, .errlen = errlen};
    p.len = text ? strnlen(text, SX_TEXT_MAX + 1) : 0;
    if (!text || p.len > SX_TEXT_MAX) {
        perr(&p, 0, "%s", text ? "text longer than 8192 bytes" : "no text");
        return NULL;
    }
    if (start > p.len) {
        perr(&p, p.len, "expected an expression");
        return NULL;
    }
    p.pos = start;
    lex(&p);
    sx_expr *e = parse_or(&p);
    char sb[40];
    if (e && !p.failed && whole && p.t.type != T_EOF) {
        if (p.t.type == T_ASSIGN)
            perr(&p, p.t.pos, "unexpected '=' (write == to compare)");
        else
            perr(&p, p.t.pos, "unexpected %s after the expression", show_tok(&p, sb, sizeof(sb)));
    }
    if (end)
        *end = p.t.pos;
    free(p.t.str);
    if (p.failed) {
        sx_free(e);
        return NULL;
    }
    BROOK_ASSERT(e != NULL);
    return e;
}

sx_expr *sx_parse(const char *text, char *err, size_t errlen)
{
    return parse_from(text, 0, true, NULL, err, errlen);
}

sx_expr *sx_parse_part(const char *text, size_t start, size_t *end, char *err, size_t errlen)
{
    return parse_from(text, start, false, end, err, errlen);
}

size_t sx_path_len(const sx_expr *e) { return e && e->kind == N_PATH ? e->nsegs : 0; }

const char *sx_path_key(const sx_expr *e, size_t i)
{
    return i < sx_path_len(e) ? e->segs[i].key : NULL;
}

/* ---- printing -------------------------------------------------------------------------- */

size_t sx_format_number(double d, char *buf, size_t buflen)
{
    int n;
    if (!isfinite(d))
        n = snprintf(buf, buflen, "null");
    else if (d == 0)
        n = snprintf(buf, buflen, "0"); /* also -0: one spelling for one value */
    else if (floor(d) == d && fabs(d) <= SX_EXACT_INT_MAX)
        n = snprintf(buf, buflen, "%.0f", d);
    else {
        n = 0;
        for (int prec = 15; prec <= 17; prec++) {
            n = snprintf(buf, buflen, "%.*g", prec, d);
            if (strtod(buf, NULL) == d)
                break;
        }
    }
    return n < 0 ? 0 : (size_t)n < buflen ? (size_t)n : buflen - 1;
}

const char *sx_type_name(const cJSON *v)
{
    if (!v || cJSON_IsNull(v))
        return "null";
    if (cJSON_IsBool(v))
        return "boolean";
    if (cJSON_IsNumber(v))
        return "number";
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsArray(v))
        return "array";
    if (cJSON_IsObject(v))
        return "object";
    return "null";
}

typedef struct jbuf {
    char *p;
    size_t n, cap;
    bool oom;
} jbuf;

static void put(jbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = true;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void put_str(jbuf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    put(b, "\"", 1);
    size_t run = 0; /* bytes copied as they are, written in one go */
    for (size_t i = 0; s && s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b"
                        : c == '\f' ? "\\f" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                        : c == '\t' ? "\\t" : NULL;
        if (!esc && c >= 0x20) {
            run++;
            continue;
        }
        put(b, s + i - run, run);
        run = 0;
        if (esc) {
            put(b, esc, strlen(esc));
        } else {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(b, u, sizeof(u));
        }
    }
    if (s)
        put(b, s + strlen(s) - run, run);
    put(b, "\"", 1);
}

static void put_value(jbuf *b, const cJSON *v)
{
    char num[32];
    if (cJSON_IsFalse(v)) {
        put(b, "false", 5);
    } else if (cJSON_IsTrue(v)) {
        put(b, "true", 4);
    } else if (cJSON_IsNumber(v)) {
        put(b, num, sx_format_number(v->valuedouble, num, sizeof(num)));
    } else if (cJSON_IsString(v)) {
        put_str(b, v->valuestring);
    } else if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
        bool obj = cJSON_IsObject(v);
        put(b, obj ? "{" : "[", 1);
        for (const cJSON *c = v->child; c; c = c->next) {
            if (c != v->child)
                put(b, ",", 1);
            if (obj) {
                put_str(b, c->string);
                put(b, ":", 1);
            }
            put_value(b, c);
        }
        put(b, obj ? "}" : "]", 1);
    } else {
        put(b, "null", 4);
    }
}

char *sx_print(const cJSON *v, size_t *len)
{
    jbuf b = {0};
    put_value(&b, v);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    if (len)
        *len = b.n;
    return b.p;
}

/* ---- evaluation ------------------------------------------------------------------------ */

typedef struct val {
    cJSON *v;
    bool owned; /* false: borrowed from the record */
} val;

typedef struct ectx {
    const cJSON *rec;
    char *err;
    size_t errlen;
} ectx;

static void vfree(val *v)
{
    if (v->owned)
        cJSON_Delete(v->v);
    v->v = NULL;
    v->owned = false;
}

static int eerr(ectx *c, const sx_expr *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int eerr(ectx *c, const sx_expr *e, const char *fmt, ...)
{
    if (!c->err || c->errlen == 0)
        return -1;
    int n = snprintf(c->err, c->errlen, "position %zu: ", e->pos + 1);
    if (n >= 0 && (size_t)n < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int mk(ectx *c, const sx_expr *e, val *out, cJSON *v)
{
    if (!v)
        return eerr(c, e, "out of memory");
    out->v = v;
    out->owned = true;
    return 0;
}

static const cJSON *lookup(const sx_expr *e, const cJSON *rec)
{
    const cJSON *cur = rec;
    for (size_t i = 0; cur && i < e->nsegs; i++) {
        if (e->segs[i].key) {
            cur = cJSON_IsObject(cur) ? cJSON_GetObjectItemCaseSensitive(cur, e->segs[i].key)
                                      : NULL;
        } else {
            size_t idx = e->segs[i].index;
            cur = cJSON_IsArray(cur) && idx <= INT_MAX ? cJSON_GetArrayItem(cur, (int)idx)
                                                       : NULL;
        }
    }
    return cur;
}

bool sx_truthy(const cJSON *v)
{
    if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v))
        return false;
    if (cJSON_IsNumber(v))
        return v->valuedouble != 0;
    if (cJSON_IsString(v))
        return v->valuestring && v->valuestring[0] != '\0';
    return true;
}

/* Deep equality: numbers by value, strings by bytes, objects by members (in any order; the
 * first member of a name counts, as in a lookup). Different types are never equal. */
static bool values_equal(const cJSON *a, const cJSON *b)
{
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
        return a->valuedouble == b->valuedouble;
    if (cJSON_IsString(a) && cJSON_IsString(b))
        return strcmp(a->valuestring ? a->valuestring : "", b->valuestring ? b->valuestring : "")
               == 0;
    if (cJSON_IsBool(a) && cJSON_IsBool(b))
        return cJSON_IsTrue(a) == cJSON_IsTrue(b);
    if (cJSON_IsNull(a) && cJSON_IsNull(b))
        return true;
    if (cJSON_IsArray(a) && cJSON_IsArray(b)) {
        const cJSON *x = a->child, *y = b->child;
        for (; x && y; x = x->next, y = y->next)
            if (!values_equal(x, y))
                return false;
        return !x && !y;
    }
    if (cJSON_IsObject(a) && cJSON_IsObject(b)) {
        if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
            return false;
        for (const cJSON *x = a->child; x; x = x->next) {
            if (!x->string)
                return false;
            const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
            if (!y || !values_equal(cJSON_GetObjectItemCaseSensitive(a, x->string), y))
                return false;
        }
        return true;
    }
    return false;
}

static int ev(const sx_expr *e, val *out, ectx *c);

static int binary(const sx_expr *e, const cJSON *a, const cJSON *b, val *out, ectx *c)
{
    const char *op = g_op_text[e->op];
    bool nums = cJSON_IsNumber(a) && cJSON_IsNumber(b);
    bool strs = cJSON_IsString(a) && cJSON_IsString(b);
    if (e->op == T_EQ || e->op == T_NE)
        return mk(c, e, out, cJSON_CreateBool(values_equal(a, b) == (e->op == T_EQ)));
    if (is_cmp(e->op)) {
        int cmp;
        if (nums)
            cmp = a->valuedouble < b->valuedouble ? -1 : a->valuedouble > b->valuedouble;
        else if (strs)
            cmp = strcmp(a->valuestring, b->valuestring);
        else
            return eerr(c, e, "'%s' cannot order %s and %s (only two numbers or two strings)",
                        op, sx_type_name(a), sx_type_name(b));
        bool r = e->op == T_LT ? cmp < 0 : e->op == T_LE ? cmp <= 0 : e->op == T_GT ? cmp > 0
                                                                                  : cmp >= 0;
        return mk(c, e, out, cJSON_CreateBool(r));
    }
    if (e->op == T_PLUS && strs) {
        size_t la = strlen(a->valuestring), lb = strlen(b->valuestring);
        if (la + lb > SX_STRING_MAX)
            return eerr(c, e, "string longer than %u bytes", SX_STRING_MAX);
        char *s = malloc(la + lb + 1);
        if (!s)
            return eerr(c, e, "out of memory");
        memcpy(s, a->valuestring, la);
        memcpy(s + la, b->valuestring, lb + 1);
        int rc = mk(c, e, out, cJSON_CreateString(s));
        free(s);
        return rc;
    }
    if (!nums) {
        if (e->op == T_PLUS)
            return eerr(c, e, "'+' needs two numbers or two strings, got %s and %s",
                        sx_type_name(a), sx_type_name(b));
        return eerr(c, e, "'%s' needs numbers, got %s and %s", op, sx_type_name(a),
                    sx_type_name(b));
    }
    double x = a->valuedouble, y = b->valuedouble, r;
    switch (e->op) {
    case T_PLUS: r = x + y; break;
    case T_MINUS: r = x - y; break;
    case T_STAR: r = x * y; break;
    case T_SLASH:
        if (y == 0)
            return eerr(c, e, "division by zero");
        r = x / y;
        break;
    default:
        BROOK_ASSERT(e->op == T_PERCENT);
        if (y == 0)
            return eerr(c, e, "modulo by zero");
        r = fmod(x, y);
        break;
    }
    if (!isfinite(r))
        return eerr(c, e, "'%s' gives a number out of range", op);
    return mk(c, e, out, cJSON_CreateNumber(r));
}

static size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int call(const sx_expr *e, val *out, ectx *c)
{
    if (e->fn == F_EXISTS)
        return mk(c, e, out, cJSON_CreateBool(lookup(e->kids[0], c->rec) != NULL));
    if (e->fn == F_COALESCE) {
        for (size_t i = 0; i < e->nkids; i++) {
            if (ev(e->kids[i], out, c) < 0)
                return -1;
            if (!cJSON_IsNull(out->v))
                return 0;
            vfree(out);
        }
        return mk(c, e, out, cJSON_CreateNull());
    }
    val a = {0};
    if (ev(e->kids[0], &a, c) < 0)
        return -1;
    const cJSON *v = a.v;
    int rc;
    char num[32];
    switch (e->fn) {
    case F_LOWER:
    case F_UPPER:
        if (!cJSON_IsString(v)) {
            rc = eerr(c, e, "%s() needs a string, got %s", e->fn == F_LOWER ? "lower" : "upper",
                      sx_type_name(v));
            break;
        }
        {
            char *s = dup_n(v->valuestring, strlen(v->valuestring));
            if (!s) {
                rc = eerr(c, e, "out of memory");
                break;
            }
            for (char *q = s; *q; q++) {
                if (e->fn == F_LOWER && *q >= 'A' && *q <= 'Z')
                    *q = (char)(*q - 'A' + 'a');
                else if (e->fn == F_UPPER && *q >= 'a' && *q <= 'z')
                    *q = (char)(*q - 'a' + 'A');
            }
            rc = mk(c, e, out, cJSON_CreateString(s));
            free(s);
        }
        break;
    case F_LEN:
        if (cJSON_IsString(v))
            rc = mk(c, e, out, cJSON_CreateNumber((double)utf8_len(v->valuestring)));
        else if (cJSON_IsArray(v))
            rc = mk(c, e, out, cJSON_CreateNumber(cJSON_GetArraySize(v)));
        else
            rc = eerr(c, e, "len() needs a string or an array, got %s", sx_type_name(v));
        break;
    case F_STR:
        if (cJSON_IsString(v)) {
            *out = a; /* as it is, borrowed or not */
            return 0;
        } else if (cJSON_IsNumber(v)) {
            sx_format_number(v->valuedouble, num, sizeof(num));
            rc = mk(c, e, out, cJSON_CreateString(num));
        } else if (cJSON_IsBool(v) || cJSON_IsNull(v)) {
            rc = mk(c, e, out, cJSON_CreateString(cJSON_IsTrue(v) ? "true" : cJSON_IsFalse(v)
                                                                            ? "false" : "null"));
        } else {
            size_t n;
            char *s = sx_print(v, &n);
            if (!s)
                rc = eerr(c, e, "out of memory");
            else if (n > SX_STRING_MAX)
                rc = eerr(c, e, "string longer than %u bytes", SX_STRING_MAX);
            else
                rc = mk(c, e, out, cJSON_CreateString(s));
            free(s);
        }
        break;
    case F_NUM:
        if (cJSON_IsNumber(v)) {
            *out = a;
            return 0;
        } else if (cJSON_IsBool(v)) {
            rc = mk(c, e, out, cJSON_CreateNumber(cJSON_IsTrue(v) ? 1 : 0));
        } else if (cJSON_IsString(v)) {
            bool integral;
            size_t n = strlen(v->valuestring);
            double d = strtod(v->valuestring, NULL);
            if (n == 0 || scan_number(v->valuestring, n, true, &integral) != n || !isfinite(d))
                rc = eerr(c, e, "num() cannot read a number from \"%.40s\"", v->valuestring);
            else
                rc = mk(c, e, out, cJSON_CreateNumber(d));
        } else {
            rc = eerr(c, e, "num() needs a number, a string or a boolean, got %s",
                      sx_type_name(v));
        }
        break;
    default:
        BROOK_ASSERT(e->fn == F_FLOOR);
        if (cJSON_IsNumber(v))
            rc = mk(c, e, out, cJSON_CreateNumber(floor(v->valuedouble)));
        else
            rc = eerr(c, e, "floor() needs a number, got %s", sx_type_name(v));
        break;
    }
    vfree(&a);
    return rc;
}

static int ev(const sx_expr *e, val *out, ectx *c)
{
    out->v = NULL;
    out->owned = false;
    val a = {0}, b = {0};
    int rc;
    switch (e->kind) {
    case N_NUM: return mk(c, e, out, cJSON_CreateNumber(e->num));
    case N_STR: return mk(c, e, out, cJSON_CreateString(e->str));
    case N_BOOL: return mk(c, e, out, cJSON_CreateBool(e->b));
    case N_NULL: return mk(c, e, out, cJSON_CreateNull());
    case N_PATH: {
        const cJSON *f = lookup(e, c->rec);
        if (!f)
            return mk(c, e, out, cJSON_CreateNull());
        out->v = (cJSON *)f; /* borrowed: never modified, never freed */
        return 0;
    }
    case N_NOT:
        if (ev(e->kids[0], &a, c) < 0)
            return -1;
        rc = mk(c, e, out, cJSON_CreateBool(!sx_truthy(a.v)));
        vfree(&a);
        return rc;
    case N_NEG:
        if (ev(e->kids[0], &a, c) < 0)
            return -1;
        if (cJSON_IsNumber(a.v))
            rc = mk(c, e, out, cJSON_CreateNumber(-a.v->valuedouble));
        else
            rc = eerr(c, e, "unary '-' needs a number, got %s", sx_type_name(a.v));
        vfree(&a);
        return rc;
    case N_AND:
    case N_OR: {
        if (ev(e->kids[0], &a, c) < 0)
            return -1;
        bool t = sx_truthy(a.v);
        vfree(&a);
        if (t == (e->kind == N_OR)) /* decided by the left side */
            return mk(c, e, out, cJSON_CreateBool(t));
        if (ev(e->kids[1], &b, c) < 0)
            return -1;
        t = sx_truthy(b.v);
        vfree(&b);
        return mk(c, e, out, cJSON_CreateBool(t));
    }
    case N_BIN:
        if (ev(e->kids[0], &a, c) < 0)
            return -1;
        if (ev(e->kids[1], &b, c) < 0) {
            vfree(&a);
            return -1;
        }
        rc = binary(e, a.v, b.v, out, c);
        vfree(&a);
        vfree(&b);
        return rc;
    case N_CALL:
        return call(e, out, c);
    }
    BROOK_ASSERT(!"unknown node kind");
    return -1;
}

cJSON *sx_eval(const sx_expr *e, const cJSON *rec, char *err, size_t errlen)
{
    BROOK_ASSERT(e != NULL);
    ectx c = {.rec = rec, .err = err, .errlen = errlen};
    val v;
    if (err && errlen)
        err[0] = '\0';
    if (ev(e, &v, &c) < 0)
        return NULL;
    if (v.owned)
        return v.v;
    cJSON *d = cJSON_Duplicate(v.v, true);
    if (!d)
        eerr(&c, e, "out of memory");
    return d;
}

int sx_test(const sx_expr *e, const cJSON *rec, bool *out, char *err, size_t errlen)
{
    BROOK_ASSERT(e != NULL);
    ectx c = {.rec = rec, .err = err, .errlen = errlen};
    val v;
    if (err && errlen)
        err[0] = '\0';
    if (ev(e, &v, &c) < 0)
        return -1;
    *out = sx_truthy(v.v);
    vfree(&v);
    return 0;
}

cJSON *sx_json_parse(const char *text, size_t n, char *err, size_t errlen)
{
    /* A NUL-terminated copy: cJSON then never reads past the input, and a NUL byte inside
     * it shows up as trailing garbage instead of silently ending the text. */
    char *buf = malloc(n + 1);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (n)
        memcpy(buf, text, n);
    buf[n] = '\0';
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithOpts(buf, &end, 0);
    size_t at = end && end >= buf && end <= buf + n ? (size_t)(end - buf) : n;
    if (v) {
        while (at < n && (buf[at] == ' ' || buf[at] == '\t' || buf[at] == '\r' ||
                          buf[at] == '\n'))
            at++;
        if (at < n) {
            cJSON_Delete(v);
            v = NULL;
        }
    }
    if (!v)
        snprintf(err, errlen, "malformed JSON at byte %zu", at);
    free(buf);
    return v;
}
