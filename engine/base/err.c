#include "engine/base/err.h"

#include <errno.h>
#include <string.h>

static const struct {
    const char *name;
    const char *text;
} rw_errs[] = {
    [RW_E_BASE - RW_E_TRUNCATED] = {"truncated", "input ends inside a field"},
    [RW_E_BASE - RW_E_CHECK] = {"check", "check code mismatch"},
    [RW_E_BASE - RW_E_ESCAPE] = {"escape", "invalid escape sequence"},
    [RW_E_BASE - RW_E_TOOLONG] = {"too_long", "longer than the protocol limit"},
    [RW_E_BASE - RW_E_LENGTH] = {"length", "length field disagrees with the data"},
    [RW_E_BASE - RW_E_FIELD] = {"field", "field value out of range"},
    [RW_E_BASE - RW_E_BCD] = {"bcd", "invalid BCD digit or date"},
    [RW_E_BASE - RW_E_UNSUPPORTED] = {"unsupported", "unsupported message type"},
    [RW_E_BASE - RW_E_NOSPACE] = {"no_space", "output buffer too small"},
    [RW_E_BASE - RW_E_LIMIT] = {"limit", "configured limit reached"},
    [RW_E_BASE - RW_E_DUPLICATE] = {"duplicate", "duplicate item"},
    [RW_E_BASE - RW_E_EMPTY] = {"empty", "empty frame"},
    [RW_E_BASE - RW_E_ENCRYPTED] = {"encrypted", "encrypted body and no key"},
    [RW_E_BASE - RW_E_TRAILING] = {"trailing", "unexpected trailing bytes"},
    [RW_E_BASE - RW_E_SYNTAX] = {"syntax", "malformed text input"},
    [RW_E_BASE - RW_E_STATE] = {"state", "call not valid in this state"},
};

static int rw_err_index(int code)
{
    if (code >= RW_E_BASE || code <= RW_E_LAST)
        return -1;
    return RW_E_BASE - code;
}

const char *err_str(int code)
{
    if (code == 0)
        return "success";
    int i = rw_err_index(code);
    if (i >= 0 && rw_errs[i].text)
        return rw_errs[i].text;
    if (code < 0 && code > RW_E_BASE)
        return strerrordesc_np(-code) ? strerrordesc_np(-code) : "unknown system error";
    return "unknown error";
}

const char *err_name(int code)
{
    if (code == 0)
        return "ok";
    int i = rw_err_index(code);
    if (i >= 0 && rw_errs[i].name)
        return rw_errs[i].name;
    if (code < 0 && code > RW_E_BASE)
        return strerrorname_np(-code) ? strerrorname_np(-code) : "errno";
    return "unknown";
}
