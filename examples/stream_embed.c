/*
 * examples/stream_embed.c - libbrook-stream embedded in a program: a pipeline built in C,
 * with a C operator between built-in ones, run exactly once.
 *
 *   stream_embed NAME BOOTSTRAP IN_TOPIC OUT_TOPIC [IDLE_MS [KEY=VALUE...]]
 *
 * Reads {"lang": "...", "text": "..."} records from IN_TOPIC, keeps the English ones
 * (a built-in filter), splits each text into words (the C operator split_words, one record
 * per word, keyed by the word), drops the short ones (a built-in filter on the C operator's
 * output) and writes {"word": ..., "pos": ...} records to OUT_TOPIC. A record whose text is
 * not a string goes to the dead-letter topic NAME-dlq with split_words' reason. Stops on
 * SIGINT/SIGTERM, or after IDLE_MS without input (0: never). Each KEY=VALUE is one more
 * setting, as in a `brook run` file (e.g. client.session.timeout.ms=6000).
 *
 * Build against an installed library:
 *   cc stream_embed.c $(pkg-config --cflags --libs brook-stream libcjson) -o stream_embed
 */
#include <brook_stream.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static brook_stream *g_stream;

static void on_signal(int sig)
{
    (void)sig;
    if (g_stream)
        brook_stream_stop(g_stream);
}

/* Emits {"word": w, "pos": i} keyed by w for each space-separated word of the text. */
static int emit_words(const char *text, int64_t ts, brook_stream_out *out)
{
    int pos = 0;
    for (const char *p = text; *p;) {
        while (*p == ' ')
            p++;
        const char *end = p;
        while (*end && *end != ' ')
            end++;
        if (end == p)
            break;
        cJSON *o = cJSON_CreateObject();
        char *word = strndup(p, (size_t)(end - p));
        char *json = NULL;
        if (o && word && cJSON_AddStringToObject(o, "word", word) &&
            cJSON_AddNumberToObject(o, "pos", pos++))
            json = cJSON_PrintUnformatted(o);
        int rc = json ? brook_stream_emit(out, word, strlen(word), json, strlen(json), ts) : -1;
        cJSON_free(json);
        cJSON_Delete(o);
        free(word);
        if (rc != 0)
            return -1;
        p = end;
    }
    return 0;
}

/* The C operator: deterministic, no blocking, errors as a reason for the dead-letter topic. */
static int split_words(void *ctx, const brook_stream_record *in, brook_stream_out *out,
                       char *err, size_t errlen)
{
    (void)ctx;
    cJSON *rec = cJSON_ParseWithLength(in->value, in->value_len);
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(rec, "text");
    int rc = -1;
    if (!cJSON_IsString(text))
        snprintf(err, errlen, "split_words: text is not a string");
    else if ((rc = emit_words(text->valuestring, in->ts_ms, out)) != 0)
        snprintf(err, errlen, "split_words: out of memory");
    cJSON_Delete(rec);
    return rc;
}

/* Applies the KEY=VALUE arguments (n may be negative: none); 0, or -1 with err set. */
static int set_extra(brook_stream *s, int n, char **kv, char *err, size_t errlen)
{
    for (int i = 0; i < n; i++) {
        char key[256];
        const char *eq = strchr(kv[i], '=');
        size_t klen = eq ? (size_t)(eq - kv[i]) : 0;
        if (klen == 0 || klen >= sizeof key) {
            snprintf(err, errlen, "not KEY=VALUE: %s", kv[i]);
            return -1;
        }
        memcpy(key, kv[i], klen);
        key[klen] = '\0';
        if (brook_stream_set(s, key, eq + 1, err, errlen) != 0)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s NAME BOOTSTRAP IN_TOPIC OUT_TOPIC [IDLE_MS [KEY=VALUE...]]\n",
                argv[0]);
        return 2;
    }
    char err[512];
    brook_stream *s = brook_stream_new(argv[1], err, sizeof err);
    int ok = s && brook_stream_set(s, "source.topic", argv[3], err, sizeof err) == 0 &&
             brook_stream_set(s, "sink.topic", argv[4], err, sizeof err) == 0 &&
             brook_stream_set(s, "commit.interval.ms", "100", err, sizeof err) == 0 &&
             set_extra(s, argc - 6, argv + 6, err, sizeof err) == 0 &&
             brook_stream_op(s, "filter lang == \"en\"", err, sizeof err) == 0 &&
             brook_stream_op_fn(s, "split_words", split_words, NULL, err, sizeof err) == 0 &&
             brook_stream_op(s, "filter len(word) > 3", err, sizeof err) == 0 &&
             brook_stream_check(s, err, sizeof err) == 0;
    if (!ok) {
        fprintf(stderr, "stream_embed: %s\n", err);
        brook_stream_free(s);
        return 2;
    }
    g_stream = s;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    brook_stream_run_opts o = {.bootstrap = argv[2], .progress_ms = 1000,
                               .exit_when_idle_ms = argc > 5 ? atoll(argv[5]) : 0};
    int rc = brook_stream_run(s, &o);
    g_stream = NULL;
    brook_stream_free(s);
    return rc;
}
