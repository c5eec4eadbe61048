/*
 * creds.h - the SCRAM credentials of a node's users: per user and mechanism the salt, the
 * iteration count, StoredKey and ServerKey (never a password), kept in memory and in
 * <data dir>/scram-credentials.
 * Owns: the entries and their user names (malloc'd); the file, replaced atomically and
 * fsynced by sec_creds_save before a change is answered.
 * Never: stores a password or a salted password; loads a file it cannot parse completely
 * (a damaged file stops the broker rather than dropping users silently).
 */
#ifndef BROOK_SEC_CREDS_H
#define BROOK_SEC_CREDS_H

#include <stdbool.h>
#include <stddef.h>

#include "sec/scram.h"

#define SEC_CREDS_FILE "scram-credentials"

typedef struct sec_cred_entry {
    char *user;
    scram_mech mech;
    scram_cred cred;
} sec_cred_entry;

typedef struct sec_creds {
    sec_cred_entry *v;
    int n, cap;
    char *path; /* the file; NULL: memory only (tests) */
} sec_creds;

/* Loads dir/scram-credentials (a missing file is an empty set). Returns 0, or -1 with err. */
int sec_creds_load(sec_creds *s, const char *dir, char *err, size_t errlen);
void sec_creds_free(sec_creds *s);
const scram_cred *sec_creds_find(const sec_creds *s, const char *user, scram_mech m);
/* Adds or replaces. Returns 0 or -ENOMEM. */
int sec_creds_put(sec_creds *s, const char *user, scram_mech m, const scram_cred *c);
/* Removes; returns 0, or -1 when there was none. */
int sec_creds_remove(sec_creds *s, const char *user, scram_mech m);
/* Writes the file (atomic, fsynced). Returns 0 or -errno. */
int sec_creds_save(const sec_creds *s);
/* The file's text of every entry of s, or (user not NULL) of that user's only, without the
 * header line (a cluster keeps one user's lines per znode). Returns malloc'd text (*len its
 * length) or NULL when out of memory. */
char *sec_creds_format(const sec_creds *s, const char *user, size_t *len);
/* Adds the entries of text (lines as in the file; '#' lines skipped; modified in place).
 * Returns 0, or -1 at the first line that is not a credential (entries before it kept). */
int sec_creds_parse(sec_creds *s, char *text);
/* PLAIN: whether password matches the user's credential (SCRAM-SHA-512 first, then 256). */
bool sec_creds_check_password(const sec_creds *s, const char *user, const char *password,
                              size_t password_len);

#endif
