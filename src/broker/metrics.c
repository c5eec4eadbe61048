/* metrics.c - see metrics.h. */
#include "broker/metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_LINE_MAX 4096

void metrics_hist_init(metrics_hist *h, const double *bounds, int n)
{
    memset(h, 0, sizeof(*h));
    if (n > METRICS_HIST_BOUNDS_MAX)
        n = METRICS_HIST_BOUNDS_MAX;
    for (int i = 0; i < n; i++)
        h->bounds[i] = bounds[i];
    h->nbounds = n < 0 ? 0 : n;
}

void metrics_hist_init_latency(metrics_hist *h)
{
    static const double b[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                               0.1,    0.25,  0.5,    1,     2.5,  5,     10, 30};
    metrics_hist_init(h, b, (int)(sizeof(b) / sizeof(b[0])));
}

void metrics_hist_observe(metrics_hist *h, double v)
{
    if (isnan(v))
        return;
    int i = 0;
    while (i < h->nbounds && v > h->bounds[i])
        i++;
    h->counts[i]++;
    h->sum += v;
    h->count++;
}

void metrics_printf(wr *w, const char *fmt, ...)
{
    char line[METRICS_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    wr_raw(w, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

char *metrics_label_value(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return out;
    for (; *s; s++) {
        const char *esc = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : NULL;
        size_t n = esc ? 2 : 1;
        if (o + n >= cap)
            break;
        if (esc) {
            out[o++] = esc[0];
            out[o++] = esc[1];
        } else {
            out[o++] = *s;
        }
    }
    out[o] = '\0';
    return out;
}

void metrics_header(wr *w, const char *name, const char *type, const char *help)
{
    metrics_printf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Integers print without an exponent; other values in the shortest form that reads back
 * as the same double (0.0005 rather than 0.00050000000000000001). */
static void format_value(double v, char *out, size_t cap)
{
    if (isnan(v)) {
        snprintf(out, cap, "NaN");
    } else if (isinf(v)) {
        snprintf(out, cap, v > 0 ? "+Inf" : "-Inf");
    } else if (v == floor(v) && fabs(v) < 9.007199254740992e15) {
        snprintf(out, cap, "%.0f", v);
    } else {
        for (int prec = 6; prec <= 17; prec++) {
            snprintf(out, cap, "%.*g", prec, v);
            if (strtod(out, NULL) == v)
                break;
        }
    }
}

void metrics_sample(wr *w, const char *name, const char *labels, double v)
{
    char val[64];
    format_value(v, val, sizeof(val));
    if (labels && *labels)
        metrics_printf(w, "%s{%s} %s\n", name, labels, val);
    else
        metrics_printf(w, "%s %s\n", name, val);
}

void metrics_histogram(wr *w, const char *name, const char *help, const metrics_hist *h)
{
    metrics_header(w, name, "histogram", help);
    uint64_t cum = 0;
    char le[80], val[64];
    for (int i = 0; i < h->nbounds; i++) {
        cum += h->counts[i];
        format_value(h->bounds[i], val, sizeof(val));
        snprintf(le, sizeof(le), "le=\"%s\"", val);
        metrics_printf(w, "%s_bucket{%s} %llu\n", name, le, (unsigned long long)cum);
    }
    cum += h->counts[h->nbounds];
    metrics_printf(w, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
    format_value(h->sum, val, sizeof(val));
    metrics_printf(w, "%s_sum %s\n", name, val);
    metrics_printf(w, "%s_count %llu\n", name, (unsigned long long)h->count);
}
