/* text_test.c: GBK <-> UTF-8 and hex conversions. */
#include <criterion/criterion.h>

#include "engine/base/err.h"
#include "engine/base/text.h"

Test(text, gbk_plate_to_utf8)
{
    static const uint8_t plate[] = {0xD4, 0xC1, 'A', '1', '2', '3', '4', '5'};
    char out[32];
    int n = text_gbk_to_utf8(rw_bytes_of(plate, sizeof plate), out, sizeof out);
    cr_assert_eq(n, (int)strlen("粤A12345"));
    cr_assert_str_eq(out, "粤A12345");
    static const uint8_t liao[] = {0xC1, 0xC9, 'C', 'D', '7', '1', '6', '5', 0, 0, 0};
    text_gbk_to_utf8(rw_bytes_of(liao, sizeof liao), out, sizeof out);
    cr_assert_str_eq(out, "辽CD7165", "text ends at the first NUL");
}

Test(text, invalid_gbk_is_replaced_not_fatal)
{
    static const uint8_t bad[] = {'A', 0xFF, 'B'}; /* 0xFF starts no GBK character */
    char out[32];
    int n = text_gbk_to_utf8(rw_bytes_of(bad, sizeof bad), out, sizeof out);
    cr_assert_gt(n, 0);
    cr_assert_eq(out[0], 'A');
    cr_assert_not_null(strstr(out, "\xEF\xBF\xBD"), "U+FFFD stands for the bad byte");
    char tiny[4];
    cr_assert_eq(text_gbk_to_utf8(rw_bytes_of("\xD4\xC1\xD4\xC1", 4), tiny, sizeof tiny),
                 RW_E_NOSPACE);
    cr_assert_lt(strlen(tiny), sizeof tiny, "still terminated");
}

Test(text, utf8_to_gbk_round_trip)
{
    uint8_t g[32];
    int n = text_utf8_to_gbk("超时停车", strlen("超时停车"), g, sizeof g);
    cr_assert_eq(n, 8);
    static const uint8_t want[] = {0xB3, 0xAC, 0xCA, 0xB1, 0xCD, 0xA3, 0xB3, 0xB5};
    cr_assert_arr_eq(g, want, 8);
    cr_assert_eq(text_utf8_to_gbk("\xF0\x9F\x98\x80", 4, g, sizeof g), RW_E_SYNTAX,
                 "an emoji has no GBK form");
    cr_assert_eq(text_utf8_to_gbk("超时", 6, g, 2), RW_E_NOSPACE);
}

Test(text, hex)
{
    uint8_t b[8];
    cr_assert_eq(text_hex_decode("0x7E 00:02-7d", 13, b, sizeof b), 4);
    cr_assert_eq(b[0], 0x7E);
    cr_assert_eq(b[3], 0x7D);
    cr_assert_eq(text_hex_decode("7E0", 3, b, sizeof b), RW_E_SYNTAX);
    cr_assert_eq(text_hex_decode("7G", 2, b, sizeof b), RW_E_SYNTAX);
    cr_assert_eq(text_hex_decode("7 E", 3, b, sizeof b), RW_E_SYNTAX);
    cr_assert_eq(text_hex_decode("010203", 6, b, 2), RW_E_NOSPACE);
    char h[8];
    cr_assert_eq(text_hex_encode(b, 3, h, sizeof h), 6);
    cr_assert_eq(text_hex_encode(b, 4, h, sizeof h), RW_E_NOSPACE);
}
