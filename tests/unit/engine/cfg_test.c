/* cfg_test.c: the configuration parser — embedded default, every error shape, reload. */
#include <criterion/criterion.h>
#include <string.h>

#include "engine/base/err.h"
#include "engine/cfg/cfg.h"

static struct cfg c;
static char err[512];

Test(cfg, embedded_default_parses_to_the_documented_values)
{
    cr_assert_eq(cfg_parse(cfg_embedded, "(embedded)", &c, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(c.jt808_tcp, "127.0.0.1:6808");
    cr_assert_str_eq(c.jt808_udp, "127.0.0.1:6808");
    cr_assert_str_eq(c.jt809_tcp, "127.0.0.1:6809");
    cr_assert_str_eq(c.data_dir, "./roadwatch-data");
    cr_assert_str_eq(c.live_path, "", "\"\" is the empty string");
    cr_assert_eq(c.retention_days, 183);
    cr_assert_eq(c.commit_interval_ms, 5);
    cr_assert_eq(c.registration, CFG_REG_OPEN);
    cr_assert_eq(c.idle_timeout_s, 180);
}

Test(cfg, empty_text_gives_the_same_defaults)
{
    struct cfg d;
    cr_assert_eq(cfg_parse("", "x", &d, err, sizeof err), 0, "%s", err);
    cr_assert_eq(cfg_parse(cfg_embedded, "(embedded)", &c, err, sizeof err), 0);
    cr_assert_eq(memcmp(&c, &d, sizeof c), 0, "engine.conf states exactly the defaults");
}

static void bad(const char *text, const char *want)
{
    int rc = cfg_parse(text, "t.conf", &c, err, sizeof err);
    cr_assert_lt(rc, 0, "accepted: %s", text);
    cr_assert_not_null(strstr(err, want), "error '%s' lacks '%s'", err, want);
}

Test(cfg, errors_name_file_line_and_keyword)
{
    bad("global\n  workers 65\n", "t.conf:2: workers: out of range");
    bad("global\n  workers two\n", "t.conf:2: workers: expected an integer");
    bad("\n\njt808\n  registration loose\n", "t.conf:4: registration: unknown value");
    bad("jt808\n  colour red\n", "t.conf:2: colour: unknown keyword");
    bad("  workers 2\n", "t.conf:1: workers: keyword outside a section");
    bad("bogus\n", "t.conf:1: bogus: unknown section");
    bad("global\n workers 1\n workers 2\n", "t.conf:3: workers: given twice");
    bad("store\n retention_days 30\n", "retention_days: below the 183 days");
    bad("store\n retention_force maybe\n", "expected yes or no");
    bad("jt808\n tcp \"\"\n udp \"\"\njt809\n tcp \"\"\n", "no listener");
}

Test(cfg, comments_quotes_and_forced_retention)
{
    const char *t = "# top\nstore # section comment\n  retention_days 30 # short\n"
                    "  retention_force yes\nglobal\n  instance \"bench\"\n";
    cr_assert_eq(cfg_parse(t, "t", &c, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.retention_days, 30);
    cr_assert_str_eq(c.instance, "bench");
}

Test(cfg, reload_adopts_only_reloadable_keys)
{
    struct cfg next;
    cr_assert_eq(cfg_parse("", "a", &c, err, sizeof err), 0);
    cr_assert_eq(cfg_parse("jt808\n idle_timeout_s 30\n registration strict\n"
                           "global\n workers 3\n", "b", &next, err, sizeof err), 0);
    char note[256];
    int n = cfg_reload(&c, &next, note, sizeof note);
    cr_assert_eq(n, 2);
    cr_assert_eq(c.idle_timeout_s, 30);
    cr_assert_eq(c.registration, CFG_REG_STRICT);
    cr_assert_eq(c.workers, 0, "workers needs a restart");
    cr_assert_not_null(strstr(note, "workers needs a restart"));
}
