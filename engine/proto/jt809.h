/* jt809.h: JT/T 809 (2011 and 2019 editions) framing, decryption, decoding and encoding.
 *
 * Fact sheet: shared/protocols/jt809.md. Section numbers below (§) refer to it. Design
 * notes, the variant each encoder sends and the limits: engine/proto/README-jt809.md.
 *
 * Layers, each usable alone:
 *
 *   TCP bytes ──> struct jt809_framer ──> unescaped frame content (header+body+CRC;
 *                 (per connection; 0x5B..0x5D in     MSG_LENGTH and CRC already checked)
 *                  arbitrary chunks)
 *   content ──> jt809_frame_parse(peer) ──> struct jt809_msg (header, decrypted body view,
 *                                           vehicle envelope, decoded sub-body)
 *   struct jt809_msg ──> jt809_encode(peer) ──> escaped wire frame with both flags
 *
 *   Unescaped frame content (what the framer returns; flags not included):
 *
 *   0        4      8      10             14        17      18          22 (2011) / 30 (2019)
 *   +--------+------+------+--------------+---------+-------+-----------+[TIME u64]+----+-----+
 *   |MSG_LEN |MSG_SN|MSG_ID|MSG_GNSSCENTER|VERSION  |ENCRYPT|ENCRYPT_KEY|2019 only |body| CRC |
 *   |u32     |u32   |u16   |ID u32        |3 bytes  |u8     |u32        |          |    | u16 |
 *   +--------+------+------+--------------+---------+-------+-----------+----------+----+-----+
 *   MSG_LENGTH counts the whole unescaped frame including both flags (= content + 2).
 *
 * Editions. The edition is a property of the peer (struct jt809_peer): JT809_ED_2011,
 * JT809_ED_2019, or JT809_ED_AUTO, which guesses per frame with the §3 heuristic (see
 * jt809_hdr_parse()). Every decoder that meets a layout the fact sheet lists as disputed
 * accepts all listed forms and records the one it saw in a `layout` field, so that a
 * re-encode is byte-identical; the encoders' default forms are listed at each struct.
 *
 * Memory and lifetimes. Decoding never allocates and never copies: every struct rw_bytes
 * in a decoded message points into the unescaped frame it was parsed from and is valid
 * exactly as long as that buffer (for frames from a framer: until the next
 * jt809_framer_feed() on it). jt809_frame_parse() DECRYPTS THE BODY IN PLACE, so the
 * buffer passed to it is modified. Fixed-width text fields are kept at their full width
 * (padding included) as GBK bytes; use rw_trim() and text_gbk_to_utf8() to show them.
 *
 * Threading. No global state; all tables are const. A framer and a message each belong to
 * one thread at a time. A struct jt809_peer is read-only after setup and may be shared.
 *
 * Errors follow STYLE §4: negative RW_E_* codes from engine/base/err.h. Input is never
 * asserted on; every length is checked before use (struct rd, wire.h).
 */
#ifndef RW_JT809_H
#define RW_JT809_H

#include <stddef.h>
#include <stdint.h>

#include "engine/base/wire.h"
#include "engine/proto/jt808.h"

#define JT809_HEAD_FLAG 0x5B
#define JT809_TAIL_FLAG 0x5D
#define JT809_ESC_5A 0x5A /* 5A 01 = 0x5B, 5A 02 = 0x5A */
#define JT809_ESC_5E 0x5E /* 5E 01 = 0x5D, 5E 02 = 0x5E */

#define JT809_HDR_LEN_2011 22u
#define JT809_HDR_LEN_2019 30u
/* Largest accepted MSG_LENGTH: the whole unescaped frame including both flags. 64 KiB
 * because 809 bodies may carry photos (0x1502); larger frames are dropped as too long. */
#define JT809_RAW_MAX 65536u
/* Largest unescaped content between the flags (header + body + CRC). */
#define JT809_CONTENT_MAX (JT809_RAW_MAX - 2u)
/* Smallest content: a 2011 header and the CRC. */
#define JT809_CONTENT_MIN (JT809_HDR_LEN_2011 + 2u)
/* Largest frame on the wire: every content byte escaped, plus two flags. */
#define JT809_WIRE_MAX (2u * JT809_CONTENT_MAX + 2u)
/* Positions per 0x1203 / 0x9203 (GNSS_CNT 1..5, §8.1). */
#define JT809_HIS_MAX 5u

#define JT809_TIME_INVALID INT64_MIN

/* Business types (§5). */
enum jt809_msg_id {
    JT809_MSG_1001_UP_CONNECT_REQ = 0x1001,
    JT809_MSG_1002_UP_CONNECT_RSP = 0x1002,
    JT809_MSG_1003_UP_DISCONNECT_REQ = 0x1003,
    JT809_MSG_1004_UP_DISCONNECT_RSP = 0x1004,
    JT809_MSG_1005_UP_LINKTEST_REQ = 0x1005,
    JT809_MSG_1006_UP_LINKTEST_RSP = 0x1006,
    JT809_MSG_1007_UP_DISCONNECT_INFORM = 0x1007,
    JT809_MSG_1008_UP_CLOSELINK_INFORM = 0x1008,
    JT809_MSG_9001_DOWN_CONNECT_REQ = 0x9001,
    JT809_MSG_9002_DOWN_CONNECT_RSP = 0x9002,
    JT809_MSG_9003_DOWN_DISCONNECT_REQ = 0x9003,
    JT809_MSG_9004_DOWN_DISCONNECT_RSP = 0x9004,
    JT809_MSG_9005_DOWN_LINKTEST_REQ = 0x9005,
    JT809_MSG_9006_DOWN_LINKTEST_RSP = 0x9006,
    JT809_MSG_9007_DOWN_DISCONNECT_INFORM = 0x9007,
    JT809_MSG_9008_DOWN_CLOSELINK_INFORM = 0x9008,
    JT809_MSG_9101_DOWN_TOTAL_RECV_BACK_MSG = 0x9101,
    JT809_MSG_1200_UP_EXG_MSG = 0x1200,
    JT809_MSG_9200_DOWN_EXG_MSG = 0x9200,
    JT809_MSG_1300_UP_PLATFORM_MSG = 0x1300,
    JT809_MSG_9300_DOWN_PLATFORM_MSG = 0x9300,
    JT809_MSG_1400_UP_WARN_MSG = 0x1400,
    JT809_MSG_9400_DOWN_WARN_MSG = 0x9400,
    JT809_MSG_1500_UP_CTRL_MSG = 0x1500,
    JT809_MSG_9500_DOWN_CTRL_MSG = 0x9500,
    JT809_MSG_1600_UP_BASE_MSG = 0x1600,
    JT809_MSG_9600_DOWN_BASE_MSG = 0x9600,
};

/* Sub-business types (DATA_TYPE, §8). */
enum jt809_data_type {
    JT809_SUB_1201_REGISTER = 0x1201,
    JT809_SUB_1202_REAL_LOCATION = 0x1202,
    JT809_SUB_1203_HISTORY_LOCATION = 0x1203,
    JT809_SUB_1205_RETURN_STARTUP_ACK = 0x1205,
    JT809_SUB_1206_RETURN_END_ACK = 0x1206,
    JT809_SUB_1207_APPLY_FOR_MONITOR_STARTUP = 0x1207,
    JT809_SUB_1208_APPLY_FOR_MONITOR_END = 0x1208,
    JT809_SUB_1209_APPLY_HISGNSSDATA_REQ = 0x1209,
    JT809_SUB_120A_REPORT_DRIVER_INFO_ACK = 0x120A,
    JT809_SUB_120B_TAKE_EWAYBILL_ACK = 0x120B,
    JT809_SUB_9201_REGISTER_ACK = 0x9201,
    JT809_SUB_9202_CAR_LOCATION = 0x9202,
    JT809_SUB_9203_HISTORY_ARCOSSAREA = 0x9203,
    JT809_SUB_9204_CAR_INFO = 0x9204,
    JT809_SUB_9205_RETURN_STARTUP = 0x9205,
    JT809_SUB_9206_RETURN_END = 0x9206,
    JT809_SUB_9207_APPLY_FOR_MONITOR_STARTUP_ACK = 0x9207,
    JT809_SUB_9208_APPLY_FOR_MONITOR_END_ACK = 0x9208,
    JT809_SUB_9209_APPLY_HISGNSSDATA_ACK = 0x9209,
    JT809_SUB_920A_REPORT_DRIVER_INFO = 0x920A,
    JT809_SUB_920B_TAKE_EWAYBILL_REQ = 0x920B,
    JT809_SUB_1301_POST_QUERY_ACK = 0x1301,
    JT809_SUB_1302_INFO_ACK = 0x1302,
    JT809_SUB_9301_POST_QUERY_REQ = 0x9301,
    JT809_SUB_9302_INFO_REQ = 0x9302,
    JT809_SUB_1401_URGE_TODO_ACK = 0x1401,
    JT809_SUB_1402_ADPT_INFO = 0x1402,
    JT809_SUB_1403_ADPT_TODO_INFO = 0x1403, /* 2019: UP_WARN_MSG_INFORM_TIPS */
    JT809_SUB_1411_URGE_TODO_ACK_INFO = 0x1411,
    JT809_SUB_1412_ADPT_TODO_INFO = 0x1412,
    JT809_SUB_1413_URGE_TODO_REQ = 0x1413,
    JT809_SUB_9401_URGE_TODO_REQ = 0x9401,
    JT809_SUB_9402_INFORM_TIPS = 0x9402,
    JT809_SUB_9403_EXG_INFORM = 0x9403,
    JT809_SUB_1601_VEHICLE_ADDED_ACK = 0x1601,
    JT809_SUB_9601_VEHICLE_ADDED = 0x9601,
};

enum jt809_edition {
    JT809_ED_AUTO = 0,
    JT809_ED_2011 = 2011,
    JT809_ED_2019 = 2019,
};

/* Per-peer configuration: read-only after setup, shareable between threads. */
struct jt809_peer {
    uint16_t edition;  /* JT809_ED_2011, JT809_ED_2019 or JT809_ED_AUTO */
    uint8_t has_keys;  /* 0: encrypted bodies are refused with RW_E_ENCRYPTED */
    uint32_t m1;       /* §4 constants, agreed out of band; m1 == 0 is used as 1 */
    uint32_t ia1;
    uint32_t ic1;
};

/* ---------------------------------------------------------------------------------------
 * Escaping, CRC, encryption (§2, §4)
 */

/* CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR) of <n> bytes;
 * check("123456789") = 0x29B1. Table-driven. */
uint16_t jt809_crc16(const uint8_t *p, size_t n);

/* Escapes <n> content bytes into <out> (5B->5A 01, 5A->5A 02, 5D->5E 01, 5E->5E 02),
 * without flags. Returns the escaped length or RW_E_NOSPACE (<out> needs up to 2n). */
int jt809_escape(const uint8_t *in, size_t n, uint8_t *out, size_t cap);

/* Unescapes <n> wire bytes (no flags) into <out>. When <strict>, a 5A/5E not followed by
 * 01/02 (or at the end) is RW_E_ESCAPE and a raw 5B/5D is RW_E_FIELD; otherwise they
 * stand for themselves, as some real senders do not escape (frames F3 and F7 of the fact
 * sheet). Returns the length, RW_E_ESCAPE, RW_E_FIELD or RW_E_NOSPACE. */
int jt809_unescape(const uint8_t *in, size_t n, uint8_t *out, size_t cap, int strict);

/* XORs <n> bytes of <buf> in place with the §4 keystream of <peer>'s M1/IA1/IC1 and the
 * packet key <key> (0 is used as 1). Encryption and decryption are the same operation. */
void jt809_crypt(const struct jt809_peer *peer, uint32_t key, uint8_t *buf, size_t n);

/* ---------------------------------------------------------------------------------------
 * Stream framer (§2): one per connection, a fixed JT809_CONTENT_MAX buffer, no allocation.
 */

struct jt809_framer_stats {
    uint64_t frames;        /* good frames returned */
    uint64_t garbage_bytes; /* bytes skipped outside any frame */
    uint64_t bad_escape;
    uint64_t bad_crc;
    uint64_t bad_length;    /* MSG_LENGTH disagrees with the bytes between the flags */
    uint64_t too_long;      /* content above JT809_CONTENT_MAX */
    uint64_t too_short;     /* shorter than header + CRC, or cut by a new 0x5B */
    uint64_t empty;         /* 5B 5D */
    uint64_t lone_escape;   /* 5A/5E not followed by 01/02, taken literally (lenient) */
    uint64_t raw_flag;      /* raw 5B inside a frame short of its MSG_LENGTH, kept as data
                             * (lenient) */
};

struct jt809_framer {
    uint8_t strict;   /* 1: a lone 5A/5E is RW_E_ESCAPE; 0 (default): taken literally */
    uint32_t len;     /* unescaped bytes collected for the frame in progress */
    uint8_t in_frame; /* a head flag was seen */
    uint8_t esc;      /* 0, or the escape byte (5A/5E) that was just seen */
    uint8_t drop;     /* discard until the next flag (the frame already failed) */
    int drop_err;     /* error to report for the dropped frame */
    struct jt809_framer_stats st;
    uint8_t buf[JT809_CONTENT_MAX];
};

/* Resets <f> to "outside any frame", clears its statistics and selects lenient mode
 * (f->strict = 0). Lenient is the default because deployed senders do not always escape
 * (F3 carries a bare 0x5A; F7 a bare 0x5A and a bare 0x5B): a 5A/5E not followed by 01/02
 * stands for itself, and a 5B inside a frame that is still shorter than its MSG_LENGTH is
 * data. MSG_LENGTH and the CRC still guard every frame. Set f->strict = 1 after init to
 * make a lone 5A/5E an RW_E_ESCAPE and every inner 5B the start of a new frame. */
void jt809_framer_init(struct jt809_framer *f);

/* Feeds wire bytes. Consumes bytes of <in> (<n> at most) until a frame completes or an
 * error ends one, and returns how many it consumed; call again with the rest. <*status>:
 *   1  a frame is ready: jt809_framer_frame() gives its unescaped content (header + body +
 *      CRC), MSG_LENGTH and CRC verified. Valid (and writable) until the next feed.
 *   0  all of <in> was consumed and no frame is complete yet.
 *  <0  a malformed frame was dropped: RW_E_ESCAPE (strict mode), RW_E_CHECK (CRC), RW_E_LENGTH
 *      (MSG_LENGTH), RW_E_TOOLONG, RW_E_TRUNCATED (shorter than a header, or cut short by
 *      a new head flag, which then opens the next frame). The framer has resynchronised.
 * Bytes outside frames are skipped and counted; 5B 5D is skipped and counted. */
size_t jt809_framer_feed(struct jt809_framer *f, const uint8_t *in, size_t n, int *status);

/* The last completed frame's unescaped content; writable so that jt809_frame_parse() can
 * decrypt in place. Valid until the next feed. */
static inline uint8_t *jt809_framer_frame(struct jt809_framer *f, size_t *len)
{
    *len = f->len;
    return f->buf;
}

/* ---------------------------------------------------------------------------------------
 * Header (§3)
 */

struct jt809_hdr {
    uint32_t msg_length;     /* whole unescaped frame incl. flags */
    uint32_t msg_sn;
    uint16_t msg_id;
    uint32_t gnss_center_id; /* MSG_GNSSCENTERID, the access code */
    uint8_t version[3];      /* raw, e.g. 01 02 0F = 1.2.15; not used to detect the edition */
    uint8_t encrypt_flag;    /* 0 plain, 1 encrypted */
    uint32_t encrypt_key;
    uint64_t time;           /* 2019 only: UTC seconds */
    uint16_t edition;        /* JT809_ED_2011 or JT809_ED_2019 */
    uint8_t hdr_len;         /* 22 or 30 */
};

/* Parses the header of unescaped content <raw> (<n> bytes: header + body + CRC; neither
 * MSG_LENGTH nor CRC is verified here) with <edition> (JT809_ED_AUTO: 2019 when there is
 * room for a 30-byte header and bytes 22..29 hold a UTC second count in 2000..2100,
 * unless the message has a fixed-size body that only the 2011 layout fits, or vice versa).
 * Returns the header length or RW_E_TRUNCATED. */
int jt809_hdr_parse(const uint8_t *raw, size_t n, uint16_t edition, struct jt809_hdr *h);

/* ---------------------------------------------------------------------------------------
 * Bodies (§6-§8). Fixed-width fields are raw views at full width.
 */

/* 0x1001 UP_CONNECT_REQ (2011 46 bytes; 2019 50 with the access code). */
struct jt809_connect_req {
    uint32_t user_id;
    struct rw_bytes password;       /* 8 */
    uint32_t gnss_center_id;        /* 2019 only */
    struct rw_bytes down_link_ip;   /* 32 */
    uint16_t down_link_port;
};

/* 0x1002 UP_CONNECT_RSP. */
struct jt809_connect_rsp {
    uint8_t result;
    uint32_t verify_code;
};

/* 0x1003 UP_DISCONNECT_REQ. */
struct jt809_disconnect_req {
    uint32_t user_id;
    struct rw_bytes password;       /* 8 */
};

/* 0x9101 DOWN_TOTAL_RECV_BACK_MSG. */
struct jt809_total_recv {
    uint32_t dynamic_info_total;
    uint64_t start_time;
    uint64_t end_time;
};

/* Vehicle envelope of 0x1200/0x9200/0x1500/0x9500/0x1600/0x9600 (both editions) and
 * 0x1400/0x9400 (2011); the bare DATA_TYPE/DATA_LENGTH/DATA form of 0x1300/0x9300 and
 * 2019 0x1400/0x9400 (§7.1). */
enum jt809_env_layout {
    JT809_ENV_STD = 0,     /* as the edition prescribes (default for encoding) */
    JT809_ENV_BARE = 1,    /* 2019 0x9201 received without VEHICLE_NO/COLOR (T2, field) */
    JT809_ENV_T2_ACK = 2,  /* 2019 0x1205/0x1206 in T2's order: no DATA_LENGTH before the
                            * source fields, a trailing zero uint32 after them */
};

struct jt809_env {
    uint8_t has_vehicle;
    uint8_t layout;             /* enum jt809_env_layout */
    struct rw_bytes vehicle_no; /* 21, GBK */
    uint8_t vehicle_color;      /* §7.4; 91-94 and 0x91-0x94 are both just bytes */
    uint16_t data_type;
    uint32_t data_length;
    struct rw_bytes data;       /* the sub-business body */
};

/* 2011 GNSS_DATA, 36 bytes (§7.2). The raw date/time fields re-encode byte-exact. */
struct jt809_gnss11 {
    uint8_t encrypt;
    uint8_t day, month;
    uint16_t year;
    uint8_t hour, minute, second;  /* local time, GMT+8 */
    uint32_t lon;                  /* degrees x 1e6, longitude first on the wire */
    uint32_t lat;
    uint16_t vec1;                 /* GNSS speed km/h */
    uint16_t vec2;                 /* tachograph speed km/h */
    uint32_t vec3;                 /* mileage km */
    uint16_t direction;
    uint16_t altitude;
    uint32_t state;                /* JT/T 808 status bits */
    uint32_t alarm;                /* JT/T 808 alarm bits */
    int64_t time;                  /* UTC seconds, or JT809_TIME_INVALID (impossible date) */
};

/* 2019 location (§7.3): 50 + GNSS_DATA_LENGTH bytes. */
struct jt809_gnss19 {
    uint8_t encrypt;
    struct rw_bytes gnss_data;     /* the raw JT/T 808 0x0200 body */
    struct jt808_loc loc;          /* gnss_data decoded with jt808_loc_decode() */
    struct rw_bytes platform_id[3];/* 11 bytes each, compared as bytes */
    uint32_t alarm[3];
};

/* A position in either edition; <edition> selects the member in use. Encoding: 2011 from
 * the raw v11 fields (not from time); 2019 via jt808_loc_encode(&v19.loc). */
struct jt809_loc {
    uint16_t edition;
    struct jt809_gnss11 v11;
    struct jt809_gnss19 v19;
};

/* 0x1201 UP_EXG_MSG_REGISTER: layout is the DATA length 49, 61 (2011, model[20]) or 110
 * (2019). Encoder: the recorded layout; 0 means 49 for 2011 and 110 for 2019. */
struct jt809_register {
    uint8_t layout;
    struct rw_bytes platform_id;    /* 11 */
    struct rw_bytes producer_id;    /* 11 */
    struct rw_bytes model;          /* 8, 20 or 30 */
    struct rw_bytes imei;           /* 15, 2019 only */
    struct rw_bytes terminal_id;    /* 7 or 30 */
    struct rw_bytes sim;            /* 12 or 13 */
};

/* 0x1203 / 0x9203: GNSS_CNT positions (1..5). */
struct jt809_history {
    uint8_t cnt;
    struct jt809_loc loc[JT809_HIS_MAX];
};

/* Answers built of optional SOURCE_DATA_TYPE/SOURCE_MSG_SN and an optional RESULT:
 * 2019 0x1205/0x1206/0x9201/0x9207/0x9208/0x9209/0x1411/0x1412/0x1302 and 2011 0x1302
 * (INFO_ID), 0x9207..0x9209 (RESULT only). Which fields exist follows the edition and the
 * DATA length; <has_src>/<has_result>/<has_info_id> say what was present. For 0x1205/0x1206
 * <trailing_zero> records a zero uint32 after SN inside DATA (T5 variant); the encoder
 * sends the T5 form (DATA_LENGTH 6) unless the envelope layout says T2. */
struct jt809_ack {
    uint8_t has_src;
    uint8_t has_result;
    uint8_t has_info_id;
    uint8_t trailing_zero;
    uint16_t source_data_type;
    uint32_t source_msg_sn;
    uint32_t info_id;               /* 2011 0x1302 */
    uint8_t result;
};

/* 0x1207 / 0x1209 START_TIME, END_TIME. */
struct jt809_period {
    uint64_t start_time;
    uint64_t end_time;
};

/* 0x120A driver information: 2011 276 bytes; 2019 (has_src) 290 with VALID_DATE. */
struct jt809_driver {
    uint8_t has_src;
    uint16_t source_data_type;
    uint32_t source_msg_sn;
    struct rw_bytes driver_name;    /* 16 */
    struct rw_bytes driver_id;      /* 20 */
    struct rw_bytes licence;        /* 40 */
    struct rw_bytes org_name;       /* 200 */
    uint64_t valid_date;
};

/* Free text: 0x120B (EWAYBILL_LENGTH + info, has_len), 0x9204 (CAR_INFO, the rest) and
 * 0x1601 (CAR_INFO; 2019 prefixed by SOURCE_DATA_TYPE/SN, has_src). */
struct jt809_text {
    uint8_t has_src;
    uint8_t has_len;
    uint16_t source_data_type;
    uint32_t source_msg_sn;
    struct rw_bytes text;           /* GBK */
};

/* 0x9301 / 0x1301 / 0x9302 query-post and platform text (§8.3). */
enum jt809_post_layout {
    JT809_POST_PLAIN = 1,   /* 2011 text: INFO_ID, INFO_LENGTH, INFO_CONTENT */
    JT809_POST_OBJ12 = 2,   /* 2011 deployed: OBJECT_TYPE, OBJECT_ID[12], INFO_ID, ... */
    JT809_POST_2019 = 3,    /* 9301: OBJECT_ID[20] + ANSWER_TIME; 1301: responder fields */
};
struct jt809_post {
    uint8_t layout;                 /* encoder default (0): OBJ12 for 2011, 2019 for 2019 */
    uint8_t object_type;
    struct rw_bytes object_id;      /* 12 or 20 */
    uint8_t answer_time;            /* 2019 0x9301 */
    struct rw_bytes responder;      /* 2019 0x1301: 16 */
    struct rw_bytes responder_tel;  /* 2019 0x1301: 20 */
    uint16_t source_data_type;      /* 2019 0x1301 */
    uint32_t source_msg_sn;         /* 2019 0x1301 */
    uint32_t info_id;               /* all but 2019 0x1301 */
    struct rw_bytes info_content;   /* GBK; INFO_LENGTH is its length */
};

/* Alarm sub-bodies (§8.4). One struct for every sub-type; the comment on each layout says
 * which fields it carries. Time_t values are kept raw; jt809_time_s() makes seconds. */
enum jt809_warn_layout {
    JT809_WARN_2011 = 1,      /* 1402: SRC,TYPE,TIME,INFO_ID,LEN,CONTENT; 9402/9403: SRC,
                               * TYPE,TIME,LEN,CONTENT; 1401: SUPERVISION_ID,RESULT;
                               * 1403: INFO_ID,RESULT */
    JT809_WARN_2019 = 2,      /* 1402/1403/9402/9403: SOURCE_PLATFORM_ID,TYPE,WARN_TIME,
                               * START_TIME,END_TIME,VEHICLE,COLOR,DEST_PLATFORM_ID,
                               * DRV_LINE_ID,LEN,CONTENT (fixed 78) */
    JT809_WARN_2019_2T = 3,   /* as above with only WARN_TIME and END_TIME, in ms (fixed 70;
                               * the 2025 deviation of §8.4) */
    JT809_WARN_1401_11 = 4,   /* 1401: SUPERVISION_ID,SOURCE_DATA_TYPE,SOURCE_MSG_SN,RESULT */
    JT809_WARN_9401_E30 = 5,  /* 9401: SRC,TYPE,TIME,SUPERVISION_ID,ENDTIME,LEVEL,SUPERVISOR,
                               * TEL,EMAIL[30] (90 bytes; T1) */
    JT809_WARN_9401_E32 = 6,  /* same with EMAIL[32] (92 bytes; T2/T5) */
    JT809_WARN_9401_T4 = 7,   /* 9401 and 1413: SOURCE_PLATFORM_ID,WARN_TIME,SOURCE_DATA_TYPE,
                               * SOURCE_MSG_SN,ENDTIME,LEVEL,SUPERVISOR,TEL,EMAIL[32] (102) */
    JT809_WARN_ACK = 8,       /* 1411/1412: SOURCE_DATA_TYPE,SOURCE_MSG_SN,RESULT */
};
struct jt809_warn {
    uint8_t layout;                 /* enum jt809_warn_layout; 0 = edition default */
    uint8_t warn_src;
    uint16_t warn_type;
    uint64_t warn_time;
    uint64_t start_time;
    uint64_t end_time;
    struct rw_bytes source_platform_id; /* 11 */
    struct rw_bytes vehicle_no;         /* 21 */
    uint8_t vehicle_color;
    struct rw_bytes dest_platform_id;   /* 11 */
    uint32_t drv_line_id;
    uint32_t info_id;
    struct rw_bytes info_content;       /* INFO_CONTENT / WARN_CONTENT, GBK */
    uint32_t supervision_id;
    uint64_t supervision_endtime;
    uint8_t supervision_level;
    struct rw_bytes supervisor;         /* 16 */
    struct rw_bytes supervision_tel;    /* 20 */
    struct rw_bytes supervision_email;  /* 30 or 32 */
    uint16_t source_data_type;
    uint32_t source_msg_sn;
    uint8_t result;
};

/* Seconds of a Time_t that may be in milliseconds (values above 10^11 are, §8.4). */
static inline uint64_t jt809_time_s(uint64_t t)
{
    return t > 100000000000ull ? t / 1000u : t;
}

struct jt809_msg {
    struct jt809_hdr h;
    struct rw_bytes body;   /* the decrypted body */
    struct jt809_env env;   /* business messages (0x1200..0x9600) only */
    uint8_t sub_known;      /* 1 when u holds the decoded sub-body / link body */
    union {
        struct jt809_connect_req connect_req;       /* 0x1001 */
        struct jt809_connect_rsp connect_rsp;       /* 0x1002 */
        struct jt809_disconnect_req disconnect_req; /* 0x1003 */
        uint8_t code;         /* 0x1007, 0x1008, 0x9002, 0x9007, 0x9008; 0x9205, 0x9206 */
        uint32_t verify_code; /* 0x9001, 0x9003 */
        struct jt809_total_recv total_recv;         /* 0x9101 */
        struct jt809_register reg;                  /* 0x1201 */
        struct jt809_loc loc;                       /* 0x1202, 0x9202 */
        struct jt809_history his;                   /* 0x1203, 0x9203 */
        struct jt809_ack ack;       /* 0x1205 0x1206 0x9201 0x9207-0x9209 0x1302 */
        struct jt809_period period;                 /* 0x1207, 0x1209 */
        struct jt809_driver driver;                 /* 0x120A */
        struct jt809_text text;                     /* 0x120B, 0x9204, 0x1601 */
        struct jt809_post post;                     /* 0x9301, 0x1301, 0x9302 */
        struct jt809_warn warn;                     /* 0x14xx, 0x94xx */
    } u;
};

/* Returns 1 when <msg_id> is a business message with a DATA_TYPE envelope. */
int jt809_is_business(uint16_t msg_id);
/* Returns 1 when <msg_id> in <edition> carries VEHICLE_NO/VEHICLE_COLOR (§7.1). */
int jt809_has_vehicle(uint16_t msg_id, uint16_t edition);

/* Parses unescaped content <raw> (<n> bytes, header + body + CRC) from <peer>: checks
 * MSG_LENGTH (== n + 2) and the CRC, parses the header, DECRYPTS THE BODY IN PLACE when
 * ENCRYPT_FLAG is 1, then decodes it with jt809_body_decode(). <m> is zeroed first; its
 * views point into <raw>, valid as long as <raw>.
 * Returns 0 or: RW_E_TRUNCATED, RW_E_LENGTH (MSG_LENGTH), RW_E_CHECK (CRC), RW_E_FIELD
 * (ENCRYPT_FLAG not 0/1), RW_E_ENCRYPTED (flag 1, <peer> has no keys; body left as is),
 * any jt809_body_decode() error. On error m->h is filled when the header was readable. */
int jt809_frame_parse(uint8_t *raw, size_t n, const struct jt809_peer *peer,
                      struct jt809_msg *m);

/* As jt809_frame_parse() for the frame <f> has just returned (status 1): MSG_LENGTH and
 * the CRC were verified while framing and are not computed again. Decrypts in place in
 * <f>'s buffer; <m>'s views are valid until the next jt809_framer_feed(). */
int jt809_framer_parse(struct jt809_framer *f, const struct jt809_peer *peer,
                       struct jt809_msg *m);

/* Decodes m->body (plain) per m->h.msg_id and m->h.edition into m->env and m->u.
 * Returns 0 (m->sub_known set), RW_E_UNSUPPORTED for an unknown MSG_ID or DATA_TYPE (the
 * envelope and raw DATA are kept in m->env, m->sub_known is 0), or RW_E_TRUNCATED,
 * RW_E_LENGTH (a length field lies), RW_E_TRAILING, RW_E_FIELD (e.g. GNSS_CNT 0 or > 5),
 * RW_E_BCD (808 time), RW_E_TOOLONG. */
int jt809_body_decode(struct jt809_msg *m);

/* Decodes one position of <edition> from <r> (36 bytes for 2011, 50 + n for 2019) into
 * <loc>. Returns 0 or a negative code (r->err is also set on truncation). */
int jt809_loc_decode(struct rd *r, uint16_t edition, struct jt809_loc *loc);
/* Encodes <loc> (per loc->edition) into <w>; errors are left in w->err. */
void jt809_loc_encode(struct wr *w, const struct jt809_loc *loc);

/* 2011 GNSS date/time (GMT+8) to UTC seconds; JT809_TIME_INVALID for an impossible date. */
int64_t jt809_gnss11_time(const struct jt809_gnss11 *g);
/* Sets the raw date/time fields of <g> (GMT+8) from UTC seconds <utc>. */
void jt809_gnss11_set_time(struct jt809_gnss11 *g, int64_t utc);

/* ---------------------------------------------------------------------------------------
 * Encoding. Sender order (§2): body -> encrypt -> MSG_LENGTH -> CRC -> escape -> flags.
 */

/* Encodes the plain body of <m> (per h.msg_id, h.edition, env and u; an unknown MSG_ID or
 * DATA_TYPE from m->body / m->env.data). Returns the length, RW_E_NOSPACE, RW_E_TOOLONG (a
 * text wider than its field), RW_E_FIELD (GNSS_CNT out of 1..5, bad edition), or a
 * jt808_loc_encode() error. */
int jt809_body_encode(const struct jt809_msg *m, uint8_t *out, size_t cap);

/* Builds a wire frame from header <h> and the plain body <body> (<len> bytes): the body
 * is encrypted with <peer> when h->encrypt_flag is 1 (RW_E_ENCRYPTED if <peer> is NULL or
 * has no keys), MSG_LENGTH and hdr_len come from h->edition, then CRC, escaping, flags.
 * Returns the wire length, RW_E_NOSPACE or RW_E_TOOLONG (above JT809_RAW_MAX).
 * JT809_WIRE_MAX always suffices. <body> must not overlap <out>. */
int jt809_frame_build(const struct jt809_hdr *h, const uint8_t *body, size_t len,
                      const struct jt809_peer *peer, uint8_t *out, size_t cap);

/* Encodes the whole frame of <m> (jt809_body_encode + jt809_frame_build, without a
 * second buffer: the body is built in <out> and escaped in place). Returns the wire
 * length or a negative code as above. */
int jt809_encode(const struct jt809_msg *m, const struct jt809_peer *peer, uint8_t *out,
                 size_t cap);

/* ---------------------------------------------------------------------------------------
 * Names (static strings for output; "unknown" when not listed, never NULL)
 */
const char *jt809_msg_name(uint16_t msg_id);
const char *jt809_data_type_name(uint16_t data_type);
const char *jt809_warn_type_name(uint16_t warn_type);
/* Meaning of result/reason code <code> in message or sub-type <type> (0x1002, 0x1007,
 * 0x1008, 0x9002, 0x9007, 0x9008, 0x9201, 0x9205..0x9209, 0x1401, 0x1403, 0x1411, 0x1412). */
const char *jt809_result_name(uint16_t type, uint16_t edition, uint8_t code);
/* Plate colour name (§7.4), accepting 91-94 decimal and 0x91-0x94. */
const char *jt809_color_name(uint8_t color);

#endif
