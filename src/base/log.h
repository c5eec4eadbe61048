/*
 * log.h - the process logger: one line per event, to stderr, with a UTC timestamp, a level
 * and the subsystem.
 *
 * Owns: the global log level. Never: allocates, or blocks on anything but stderr.
 */
#ifndef BROOK_BASE_LOG_H
#define BROOK_BASE_LOG_H

enum log_level { LOG_LEVEL_DEBUG = 0, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

void log_set_level(enum log_level level);
/* Parses "debug", "info", "warn", "error"; returns 0 or -1 for an unknown name. */
int log_level_parse(const char *name, enum log_level *out);
/* Also writes the node id in every line once it is known. */
void log_set_node(int node_id);
void log_write(enum log_level level, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LOG_DEBUG(sub, ...) log_write(LOG_LEVEL_DEBUG, sub, __VA_ARGS__)
#define LOG_INFO(sub, ...) log_write(LOG_LEVEL_INFO, sub, __VA_ARGS__)
#define LOG_WARN(sub, ...) log_write(LOG_LEVEL_WARN, sub, __VA_ARGS__)
#define LOG_ERROR(sub, ...) log_write(LOG_LEVEL_ERROR, sub, __VA_ARGS__)

#endif
