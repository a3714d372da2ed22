/* cfg.c: table-driven parser of the engine configuration (see cfg.h). */
#include "engine/cfg/cfg.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/err.h"
#include "engine/base/log.h"

enum cfg_type { CT_INT, CT_STR, CT_ENUM, CT_BOOL };

struct cfg_key {
    const char *section;
    const char *name;
    enum cfg_type type;
    size_t off;
    int64_t min, max;         /* CT_INT bounds */
    const char *def;          /* default as text */
    const char *const *names; /* CT_ENUM value names, index = value; NULL-terminated */
    int reload;               /* adopted on SIGHUP */
};

static const char *const reg_names[] = {"strict", "open", NULL};
static const char *const clock_names[] = {"system", "data", NULL};
static const char *const level_names[] = {"debug", "info", "notice", "warn", "err", NULL};

#define OFF(f) offsetof(struct cfg, f)
#define I(sec, name, f, lo, hi, def, rl) {sec, name, CT_INT, OFF(f), lo, hi, def, NULL, rl}
#define S(sec, name, f, def, rl) {sec, name, CT_STR, OFF(f), 0, 0, def, NULL, rl}
#define E(sec, name, f, names, def, rl) {sec, name, CT_ENUM, OFF(f), 0, 0, def, names, rl}
#define B(sec, name, f, def, rl) {sec, name, CT_BOOL, OFF(f), 0, 1, def, NULL, rl}

static const struct cfg_key cfg_keys[] = {
    S("global", "instance", instance, "default", 0),
    S("global", "data_dir", data_dir, "./roadwatch-data", 0),
    I("global", "workers", workers, 0, 64, "0", 0),
    E("global", "clock", clock, clock_names, "system", 0),
    E("global", "log_level", log_level, level_names, "notice", 1),
    S("jt808", "tcp", jt808_tcp, "127.0.0.1:6808", 0),
    S("jt808", "udp", jt808_udp, "127.0.0.1:6808", 0),
    E("jt808", "registration", registration, reg_names, "open", 1),
    I("jt808", "max_connections", max_connections, 1, 1000000, "16000", 0),
    I("jt808", "idle_timeout_s", idle_timeout_s, 5, 86400, "180", 1),
    I("jt808", "first_frame_timeout_s", first_frame_timeout_s, 1, 3600, "10", 1),
    I("jt808", "auth_timeout_s", auth_timeout_s, 1, 3600, "60", 1),
    I("jt808", "frame_timeout_s", frame_timeout_s, 1, 3600, "30", 1),
    I("jt808", "bad_frames_max", bad_frames_max, 0, 1000000, "16", 1),
    I("jt808", "recv_buffers", recv_buffers, 64, 32768, "4096", 0),
    I("jt808", "recv_buffer_size", recv_buffer_size, 512, 65536, "4096", 0),
    I("jt808", "reasm_slots", reasm_slots, 1, 65536, "64", 0),
    I("jt808", "reasm_max_packages", reasm_max_packages, 1, 4096, "64", 0),
    I("jt808", "reasm_timeout_s", reasm_timeout_s, 1, 3600, "60", 1),
    S("jt809", "tcp", jt809_tcp, "127.0.0.1:6809", 0),
    I("jt809", "edition", jt809_edition, 0, 2019, "0", 0),
    I("jt809", "link_timeout_s", jt809_link_timeout_s, 10, 3600, "180", 1),
    I("store", "retention_days", retention_days, 1, 36600, "183", 0),
    B("store", "retention_force", retention_force, "no", 0),
    I("store", "compact_after_days", compact_after_days, 0, 183, "1", 0),
    I("store", "hold_mb", hold_mb, 1, 1048576, "512", 0),
    I("store", "commit_interval_ms", commit_interval_ms, 1, 1000, "5", 0),
    I("store", "batch_records", batch_records, 16, 65536, "1024", 0),
    I("store", "batches_per_worker", batches_per_worker, 2, 1024, "64", 0),
    S("live", "path", live_path, "", 0),
    I("live", "max_vehicles", max_vehicles, 16, 100000000, "1000000", 0),
    I("live", "online_window_s", online_window_s, 10, 86400, "600", 1),
};

#define CFG_NKEYS (sizeof cfg_keys / sizeof cfg_keys[0])

static void cfg_errf(char *err, size_t cap, const char *name, int line, const char *key,
                     const char *why)
{
    if (err && cap)
        snprintf(err, cap, "%s:%d: %s: %s", name, line, key, why);
}

static const struct cfg_key *cfg_find(const char *section, const char *key)
{
    for (size_t i = 0; i < CFG_NKEYS; i++)
        if (strcmp(cfg_keys[i].section, section) == 0 && strcmp(cfg_keys[i].name, key) == 0)
            return &cfg_keys[i];
    return NULL;
}

static int cfg_is_section(const char *w)
{
    for (size_t i = 0; i < CFG_NKEYS; i++)
        if (strcmp(cfg_keys[i].section, w) == 0)
            return 1;
    return 0;
}

/* Stores <val> into the field of <k>; returns NULL or a reason. */
static const char *cfg_set(struct cfg *c, const struct cfg_key *k, const char *val)
{
    char *field = (char *)c + k->off;
    if (k->type == CT_STR) {
        size_t n = strlen(val), cap = k->off == OFF(instance) ? 64 : CFG_STR_MAX;
        if (n >= 2 && val[0] == '"' && val[n - 1] == '"') { /* "" is the empty string */
            val++;
            n -= 2;
        }
        if (n >= cap)
            return "value too long";
        memcpy(field, val, n);
        field[n] = 0;
        return NULL;
    }
    int64_t v;
    if (k->type == CT_INT) {
        char *end;
        errno = 0;
        long long x = strtoll(val, &end, 10);
        if (errno || end == val || *end)
            return "expected an integer";
        if (x < k->min || x > k->max)
            return "out of range";
        v = x;
    } else if (k->type == CT_BOOL) {
        if (strcmp(val, "yes") == 0 || strcmp(val, "on") == 0 || strcmp(val, "1") == 0)
            v = 1;
        else if (strcmp(val, "no") == 0 || strcmp(val, "off") == 0 || strcmp(val, "0") == 0)
            v = 0;
        else
            return "expected yes or no";
    } else {
        v = -1;
        for (int i = 0; k->names[i]; i++)
            if (strcmp(k->names[i], val) == 0)
                v = i;
        if (v < 0)
            return "unknown value";
    }
    memcpy(field, &v, sizeof v);
    return NULL;
}

/* Splits <line> into keyword and value (the rest, trimmed); returns the word count. */
static int cfg_split(char *line, char **kw, char **val)
{
    char *h = strchr(line, '#');
    if (h)
        *h = 0;
    char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    char *e = p + strlen(p);
    while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        *--e = 0;
    if (!*p)
        return 0;
    *kw = p;
    while (*p && *p != ' ' && *p != '\t')
        p++;
    if (!*p) {
        *val = p;
        return 1;
    }
    *p++ = 0;
    while (*p == ' ' || *p == '\t')
        p++;
    *val = p;
    return 2;
}

static int cfg_line(struct cfg *c, uint8_t *seen, char *line, int lineno, const char *name,
                    const char **section, char *err, size_t errcap)
{
    char *kw, *val;
    int n = cfg_split(line, &kw, &val);
    if (n == 0)
        return 0;
    if (n == 1) {
        if (!cfg_is_section(kw)) {
            cfg_errf(err, errcap, name, lineno, kw, "unknown section (or a keyword without value)");
            return RW_E_SYNTAX;
        }
        for (size_t i = 0; i < CFG_NKEYS; i++)
            if (strcmp(cfg_keys[i].section, kw) == 0)
                *section = cfg_keys[i].section;
        return 0;
    }
    if (!*section) {
        cfg_errf(err, errcap, name, lineno, kw, "keyword outside a section");
        return RW_E_SYNTAX;
    }
    const struct cfg_key *k = cfg_find(*section, kw);
    if (!k) {
        cfg_errf(err, errcap, name, lineno, kw, "unknown keyword in this section");
        return RW_E_SYNTAX;
    }
    size_t idx = (size_t)(k - cfg_keys);
    if (seen[idx]) {
        cfg_errf(err, errcap, name, lineno, kw, "given twice");
        return RW_E_SYNTAX;
    }
    const char *why = cfg_set(c, k, val);
    if (why) {
        cfg_errf(err, errcap, name, lineno, kw, why);
        return RW_E_FIELD;
    }
    seen[idx] = 1;
    return 0;
}

/* Cross-key rules, checked after the defaults are in. */
static int cfg_check(const struct cfg *c, const char *name, char *err, size_t errcap)
{
    if (c->retention_days < 183 && !c->retention_force) {
        cfg_errf(err, errcap, name, 0, "retention_days",
                 "below the 183 days of GB/T 35658 §7.3; set retention_force yes to allow");
        return RW_E_FIELD;
    }
    if (c->jt809_edition != 0 && c->jt809_edition != 2011 && c->jt809_edition != 2019) {
        cfg_errf(err, errcap, name, 0, "edition", "expected 0 (auto), 2011 or 2019");
        return RW_E_FIELD;
    }
    if (!c->jt808_tcp[0] && !c->jt808_udp[0] && !c->jt809_tcp[0]) {
        cfg_errf(err, errcap, name, 0, "tcp", "no listener configured");
        return RW_E_FIELD;
    }
    return 0;
}

int cfg_parse(const char *text, const char *name, struct cfg *out, char *err, size_t errcap)
{
    memset(out, 0, sizeof *out);
    uint8_t seen[CFG_NKEYS];
    memset(seen, 0, sizeof seen);
    const char *section = NULL;
    int lineno = 0;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char line[1024];
        lineno++;
        if (len >= sizeof line) {
            cfg_errf(err, errcap, name, lineno, "-", "line too long");
            return RW_E_SYNTAX;
        }
        memcpy(line, p, len);
        line[len] = 0;
        int rc = cfg_line(out, seen, line, lineno, name, &section, err, errcap);
        if (rc)
            return rc;
        p += len + (nl ? 1 : 0);
    }
    for (size_t i = 0; i < CFG_NKEYS; i++)
        if (!seen[i] && cfg_set(out, &cfg_keys[i], cfg_keys[i].def) != NULL)
            return RW_E_FIELD; /* a bad default is a programming error caught by tests */
    return cfg_check(out, name, err, errcap);
}

int cfg_load(const char *path, struct cfg *out, char *err, size_t errcap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        if (err)
            snprintf(err, errcap, "%s: %s", path, strerror(e));
        return -e;
    }
    char *text = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&text, &cap, '\0', f);
    fclose(f);
    if (n < 0) {
        free(text);
        text = strdup("");
    }
    int rc = cfg_parse(text ? text : "", path, out, err, errcap);
    free(text);
    return rc;
}

int cfg_reload(struct cfg *cur, const struct cfg *next, char *note, size_t notecap)
{
    int changed = 0;
    size_t used = 0;
    if (note && notecap)
        note[0] = 0;
    for (size_t i = 0; i < CFG_NKEYS; i++) {
        const struct cfg_key *k = &cfg_keys[i];
        size_t sz = k->type == CT_STR ? (k->off == OFF(instance) ? 64 : CFG_STR_MAX)
                                      : sizeof(int64_t);
        char *a = (char *)cur + k->off;
        const char *b = (const char *)next + k->off;
        if (memcmp(a, b, sz) == 0)
            continue;
        if (k->reload) {
            memcpy(a, b, sz);
            changed++;
        } else if (note && used < notecap) {
            int w = snprintf(note + used, notecap - used, "%s%s needs a restart",
                             used ? "; " : "", k->name);
            used += w > 0 ? (size_t)w : 0;
        }
    }
    return changed;
}

void cfg_print(const struct cfg *c, FILE *f)
{
    for (size_t i = 0; i < CFG_NKEYS; i++) {
        const struct cfg_key *k = &cfg_keys[i];
        const char *field = (const char *)c + k->off;
        int64_t v;
        if (k->type == CT_STR) {
            fprintf(f, "%s %s %s\n", k->section, k->name, field);
            continue;
        }
        memcpy(&v, field, sizeof v);
        if (k->type == CT_ENUM)
            fprintf(f, "%s %s %s\n", k->section, k->name, k->names[v]);
        else if (k->type == CT_BOOL)
            fprintf(f, "%s %s %s\n", k->section, k->name, v ? "yes" : "no");
        else
            fprintf(f, "%s %s %lld\n", k->section, k->name, (long long)v);
    }
}
