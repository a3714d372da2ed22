/* jt808.h: JT/T 808 (2011, 2013, 2019) framing, decoding and encoding.
 *
 * Fact sheet: shared/protocols/jt808.md. Section numbers below (§) refer to it.
 *
 * Layers, each usable alone:
 *
 *   TCP/UDP bytes ──> struct jt808_framer ──> unescaped frame (header+body+check, checked)
 *                     (per connection; finds 0x7E..0x7E in arbitrary chunks)
 *   frame ──> jt808_frame_parse() ──> struct jt808_msg (header + body view + decoded body)
 *   struct jt808_msg ──> jt808_encode() ──> escaped wire frame with flags
 *   subpackages ──> struct jt808_reasm (per worker) ──> one contiguous body
 *
 * Memory and lifetimes. Decoding never allocates and never copies bodies: every
 * struct rw_bytes in a decoded message points into the unescaped frame it was parsed from,
 * and is valid exactly as long as that buffer (for frames from a framer: until the next
 * jt808_framer_feed() call on it). Plates and other text stay GBK bytes; convert with
 * text_gbk_to_utf8() only for display.
 *
 * Threading. No global state. A framer, a message and a reassembler each belong to one
 * thread at a time.
 *
 * Errors follow STYLE §4: negative RW_E_* codes from engine/base/err.h. Input is never
 * asserted on; every length is checked before use.
 */
#ifndef RW_JT808_H
#define RW_JT808_H

#include <stddef.h>
#include <stdint.h>

#include "engine/base/wire.h"

#define JT808_FLAG 0x7E
#define JT808_ESC 0x7D
#define JT808_BODY_MAX 1023u
#define JT808_HDR_MAX 21u
/* Largest unescaped content between the flags: header + body + check code. */
#define JT808_RAW_MAX (JT808_HDR_MAX + JT808_BODY_MAX + 1u)
/* Largest frame on the wire: every content byte escaped, plus two flags. */
#define JT808_WIRE_MAX (2u * JT808_RAW_MAX + 2u)

/* Message IDs (§4). */
enum jt808_msg_id {
    JT808_MSG_0001_TERM_RSP = 0x0001,
    JT808_MSG_0002_HEARTBEAT = 0x0002,
    JT808_MSG_0003_LOGOUT = 0x0003,
    JT808_MSG_0005_RESEND_REQ = 0x0005,
    JT808_MSG_0100_REGISTER = 0x0100,
    JT808_MSG_0102_AUTH = 0x0102,
    JT808_MSG_0200_LOCATION = 0x0200,
    JT808_MSG_0201_LOCATION_RSP = 0x0201,
    JT808_MSG_0704_BATCH = 0x0704,
    JT808_MSG_8001_PLAT_RSP = 0x8001,
    JT808_MSG_8003_RESEND_REQ = 0x8003,
    JT808_MSG_8100_REGISTER_RSP = 0x8100,
    JT808_MSG_8103_SET_PARAMS = 0x8103,
    JT808_MSG_8201_LOCATION_QUERY = 0x8201,
    JT808_MSG_8202_TRACK = 0x8202,
    JT808_MSG_8300_TEXT = 0x8300,
};

/* Protocol editions. 2011 and 2013 share the header; they differ in the 0x0100 body. */
enum jt808_edition {
    JT808_ED_UNKNOWN = 0,
    JT808_ED_2011 = 2011,
    JT808_ED_2013 = 2013,
    JT808_ED_2019 = 2019,
};

/* Body property bits (§2.3). */
#define JT808_PROP_LEN_MASK 0x03FFu
#define JT808_PROP_ENC_MASK 0x1C00u
#define JT808_PROP_ENC_SHIFT 10
#define JT808_PROP_SUBPKG 0x2000u
#define JT808_PROP_V2019 0x4000u

/* General response results (§5.1). */
enum jt808_result {
    JT808_RES_OK = 0,
    JT808_RES_FAIL = 1,
    JT808_RES_BAD_MSG = 2,
    JT808_RES_UNSUPPORTED = 3,
    JT808_RES_ALARM_CONFIRM = 4,
};

/* Register response results (§5.4). */
enum jt808_reg_result {
    JT808_REG_OK = 0,
    JT808_REG_VEHICLE_TAKEN = 1,
    JT808_REG_VEHICLE_UNKNOWN = 2,
    JT808_REG_TERMINAL_TAKEN = 3,
    JT808_REG_TERMINAL_UNKNOWN = 4,
};

/* Alarm flag bits (§5.6.1); the bit number is the name's suffix. */
enum jt808_alarm_bit {
    JT808_ALARM_SOS = 1u << 0,
    JT808_ALARM_OVERSPEED = 1u << 1,
    JT808_ALARM_FATIGUE = 1u << 2,
    JT808_ALARM_DANGER = 1u << 3,
    JT808_ALARM_GNSS_FAULT = 1u << 4,
    JT808_ALARM_GNSS_ANT_CUT = 1u << 5,
    JT808_ALARM_GNSS_ANT_SHORT = 1u << 6,
    JT808_ALARM_POWER_LOW = 1u << 7,
    JT808_ALARM_POWER_OFF = 1u << 8,
    JT808_ALARM_LCD_FAULT = 1u << 9,
    JT808_ALARM_TTS_FAULT = 1u << 10,
    JT808_ALARM_CAMERA_FAULT = 1u << 11,
    JT808_ALARM_ICCARD_FAULT = 1u << 12,
    JT808_ALARM_OVERSPEED_WARN = 1u << 13,
    JT808_ALARM_FATIGUE_WARN = 1u << 14,
    JT808_ALARM_VIOLATION = 1u << 15,
    JT808_ALARM_TYRE = 1u << 16,
    JT808_ALARM_BLIND_TURN = 1u << 17,
    JT808_ALARM_DAY_DRIVE = 1u << 18,
    JT808_ALARM_PARKING = 1u << 19,
    JT808_ALARM_AREA = 1u << 20,
    JT808_ALARM_ROUTE = 1u << 21,
    JT808_ALARM_SECTION_TIME = 1u << 22,
    JT808_ALARM_DEVIATION = 1u << 23,
    JT808_ALARM_VSS_FAULT = 1u << 24,
    JT808_ALARM_FUEL = 1u << 25,
    JT808_ALARM_STOLEN = 1u << 26,
    JT808_ALARM_IGNITION = 1u << 27,
    JT808_ALARM_DISPLACE = 1u << 28,
    JT808_ALARM_COLLISION = 1u << 29,
    JT808_ALARM_ROLLOVER = 1u << 30,
    JT808_ALARM_DOOR = 1u << 31,
};
/* Bits the terminal clears itself after the platform's answer ("R" in §5.6.1). */
#define JT808_ALARM_RESET_ON_ACK                                                            \
    (JT808_ALARM_SOS | JT808_ALARM_DANGER | JT808_ALARM_AREA | JT808_ALARM_ROUTE |           \
     JT808_ALARM_SECTION_TIME | JT808_ALARM_IGNITION | JT808_ALARM_DISPLACE | JT808_ALARM_DOOR)

/* Status flag bits (§5.6.2). */
enum jt808_status_bit {
    JT808_ST_ACC = 1u << 0,
    JT808_ST_FIX = 1u << 1,
    JT808_ST_SOUTH = 1u << 2,
    JT808_ST_WEST = 1u << 3,
    JT808_ST_OUT_OF_SERVICE = 1u << 4,
    JT808_ST_COORD_ENCRYPTED = 1u << 5,
    JT808_ST_FCW = 1u << 6,
    JT808_ST_LDW = 1u << 7,
    JT808_ST_LOAD_MASK = 3u << 8,
    JT808_ST_OIL_CUT = 1u << 10,
    JT808_ST_CIRCUIT_CUT = 1u << 11,
    JT808_ST_DOOR_LOCKED = 1u << 12,
    JT808_ST_DOOR1 = 1u << 13,
    JT808_ST_DOOR2 = 1u << 14,
    JT808_ST_DOOR3 = 1u << 15,
    JT808_ST_DOOR4 = 1u << 16,
    JT808_ST_DOOR5 = 1u << 17,
    JT808_ST_GPS = 1u << 18,
    JT808_ST_BEIDOU = 1u << 19,
    JT808_ST_GLONASS = 1u << 20,
    JT808_ST_GALILEO = 1u << 21,
    JT808_ST_MOVING = 1u << 22,
};

/* ---------------------------------------------------------------------------------------
 * Escaping and check code (§1)
 */

/* XOR of <n> bytes. */
uint8_t jt808_xor(const uint8_t *p, size_t n);

/* Escapes <n> content bytes into <out> (0x7E -> 7D 02, 0x7D -> 7D 01), without flags.
 * Returns the escaped length or RW_E_NOSPACE. <out> may need up to 2n bytes. */
int jt808_escape(const uint8_t *in, size_t n, uint8_t *out, size_t cap);

/* Unescapes <n> wire bytes (no flags) into <out>. Returns the length, RW_E_ESCAPE for 7D
 * not followed by 01/02 (or at the end), RW_E_FIELD for a raw 0x7E inside, RW_E_NOSPACE. */
int jt808_unescape(const uint8_t *in, size_t n, uint8_t *out, size_t cap);

/* ---------------------------------------------------------------------------------------
 * Header (§2)
 */

struct jt808_hdr {
    uint16_t msg_id;
    uint16_t props;      /* raw body properties word */
    uint16_t body_len;   /* bits 0-9 of props */
    uint16_t serial;     /* message serial number */
    uint16_t pkg_total;  /* subpackages only, else 0 */
    uint16_t pkg_index;  /* subpackages only (1-based), else 0 */
    uint8_t encrypt;     /* bits 10-12 of props: 0 plain, 1 RSA, others reserved */
    uint8_t subpkg;      /* bit 13 */
    uint8_t proto_ver;   /* 2019 protocol version byte, 0 for 2013 */
    uint8_t hdr_len;     /* 12, 16, 17 or 21 */
    uint16_t edition;    /* JT808_ED_2013 (also 2011) or JT808_ED_2019 */
    uint8_t quirk_2013_hdr; /* bit 14 set but a 12/16-byte header (§2.5) */
    uint8_t phone_len;   /* BCD bytes on the wire: 6 (2013) or 10 (2019) */
    /* Terminal phone as BCD, right-aligned in 10 bytes (a 2013 number has four leading zero
     * bytes), so the same number gives the same key in either edition. */
    uint8_t phone[10];
};

/* Writes the phone number as decimal digits with leading zeros removed (at least one
 * digit) into <out>, NUL-terminated; needs 21 bytes. A nibble above 9 is printed as a hex
 * digit so that a bad number stays visible. Returns the digit count. */
int jt808_phone_str(const struct jt808_hdr *h, char out[21]);

/* Sets <h>->phone from a decimal digit string (at most 20 digits). Returns 0, or
 * RW_E_FIELD for a non-digit or too many digits. */
int jt808_phone_set(struct jt808_hdr *h, const char *digits);

/* ---------------------------------------------------------------------------------------
 * Bodies (§5)
 */

/* 0x0001 terminal general response and 0x8001 platform general response. */
struct jt808_gen_rsp {
    uint16_t ack_serial;
    uint16_t ack_id;
    uint8_t result;
};

/* 0x0100 register. Fixed-width fields are the raw bytes on the wire (padding included) so
 * that a re-encode is byte-identical; use rw_trim() to display them. */
struct jt808_register {
    uint16_t edition; /* JT808_ED_2011 (body <= 37 bytes, §5.3), _2013 or _2019 */
    uint16_t province;
    uint16_t city;
    struct rw_bytes maker;    /* 5 (2011/2013) or 11 (2019) bytes */
    struct rw_bytes model;    /* 8 (2011), 20 (2013) or 30 (2019) bytes */
    struct rw_bytes term_id;  /* 7 (2011/2013) or 30 (2019) bytes */
    uint8_t plate_color;      /* §3; 0 = the plate field carries the VIN */
    struct rw_bytes plate;    /* GBK, rest of the body */
};

/* 0x8100 register response. */
struct jt808_register_rsp {
    uint16_t ack_serial;
    uint8_t result;
    struct rw_bytes auth_code; /* present only when result == 0 */
};

/* 0x0102 authentication. 2013: the whole body is the code. 2019: length-prefixed code,
 * IMEI[15] and software version[20]. */
struct jt808_auth {
    struct rw_bytes code;
    struct rw_bytes imei;     /* 2019 only: 15 raw bytes */
    struct rw_bytes sw_ver;   /* 2019 only: 20 raw bytes */
};

/* Additional-information items of a location (§5.6.3) that the engine uses, decoded. */
enum jt808_extra_bit {
    JT808_X_MILEAGE = 1u << 0,       /* 0x01 */
    JT808_X_FUEL = 1u << 1,          /* 0x02 */
    JT808_X_TACHO_SPEED = 1u << 2,   /* 0x03 */
    JT808_X_EVENT_ID = 1u << 3,      /* 0x04 */
    JT808_X_TYRE = 1u << 4,          /* 0x05 */
    JT808_X_CARGO_TEMP = 1u << 5,    /* 0x06 */
    JT808_X_OVERSPEED = 1u << 6,     /* 0x11 */
    JT808_X_INOUT = 1u << 7,         /* 0x12 */
    JT808_X_ROUTE_TIME = 1u << 8,    /* 0x13 */
    JT808_X_SIGNALS = 1u << 9,       /* 0x25 */
    JT808_X_IO = 1u << 10,           /* 0x2A */
    JT808_X_ANALOG = 1u << 11,       /* 0x2B */
    JT808_X_RSSI = 1u << 12,         /* 0x30 */
    JT808_X_SATS = 1u << 13,         /* 0x31 */
};

#define JT808_TIME_INVALID INT64_MIN

/* 0x0200 location report body (also inside 0x0201, each 0x0704 item, and JT/T 809-2019
 * GNSS_DATA). Basic part as on the wire; extras decoded into fields, and kept as raw bytes
 * in <extras> so that vendor items and item order survive a re-encode. */
struct jt808_loc {
    uint32_t alarm;
    uint32_t status;
    uint32_t lat;          /* degrees x 1e6, magnitude; hemisphere in status bit 2 */
    uint32_t lon;          /* degrees x 1e6, magnitude; hemisphere in status bit 3 */
    uint16_t altitude_m;
    uint16_t speed_dkmh;   /* 1/10 km/h */
    uint16_t direction;
    uint8_t time_bcd[6];   /* YYMMDDhhmmss, GMT+8, as received */
    int64_t time;          /* UTC seconds, or JT808_TIME_INVALID for an impossible date */

    uint32_t present;      /* JT808_X_* bits of the items below that were found */
    uint32_t mileage_hm;   /* 0x01, 1/10 km */
    uint16_t fuel_dl;      /* 0x02, 1/10 L */
    uint16_t tacho_speed_dkmh; /* 0x03 */
    uint16_t event_id;     /* 0x04 */
    int16_t cargo_temp_c;  /* 0x06, two's complement */
    uint8_t overspeed_type;   /* 0x11: 0 none, 1 circle, 2 rect, 3 polygon, 4 section */
    uint32_t overspeed_area;  /* 0x11: only when type != 0 */
    uint8_t inout_type;       /* 0x12 */
    uint32_t inout_area;
    uint8_t inout_dir;        /* 0 in, 1 out */
    uint32_t section_id;      /* 0x13 */
    uint16_t section_time_s;
    uint8_t section_result;   /* 0 too short, 1 too long */
    uint32_t signals;         /* 0x25 */
    uint16_t io_status;       /* 0x2A */
    uint32_t analog;          /* 0x2B (first 4 bytes; AD0 low half, AD1 high half) */
    uint8_t rssi;             /* 0x30 */
    uint8_t sats;             /* 0x31 */
    struct rw_bytes tyre;     /* 0x05, up to 30 bytes */

    uint16_t n_items;         /* items seen, known or not */
    uint16_t n_dup;           /* known items seen more than once (the first one wins) */
    uint16_t n_badlen;        /* known IDs with a length outside the standard: kept raw only */
    /* 0, or RW_E_TRUNCATED when an item's length ran past the end of the body. The basic
     * part and the items before it are still valid: a damaged trailer does not cost the
     * regulator the position. */
    int extras_err;
    /* Raw additional items, exactly as received. When non-empty, the encoder writes these
     * bytes verbatim instead of the fields above; clear it to encode from the fields. */
    struct rw_bytes extras;
};

/* 0x0201 location query response. */
struct jt808_loc_rsp {
    uint16_t ack_serial;
    struct jt808_loc loc;
};

/* 0x0704 batch upload: items are decoded one by one with jt808_batch_next(). */
struct jt808_batch {
    uint16_t count;
    uint8_t type;             /* 0 normal batch, 1 blind-area re-upload */
    struct rw_bytes items;    /* raw item region: count x (WORD length, 0x0200 body) */
};

/* 0x8103 set parameters: parameters are walked with jt808_param_next(). */
struct jt808_params {
    uint8_t count;
    struct rw_bytes list;     /* raw: count x (DWORD id, BYTE len, value) */
};

struct jt808_param {
    uint32_t id;
    struct rw_bytes value;
};

/* 0x8202 temporary location tracking. */
struct jt808_track {
    uint16_t interval_s;      /* 0 = stop; then validity is absent */
    uint32_t validity_s;
};

/* 0x8300 text message. */
struct jt808_text {
    uint8_t flag;
    uint8_t text_type;        /* 2019 only (1 notification, 2 service); 0 in 2013 */
    struct rw_bytes text;     /* GBK */
};

/* 0x8003 (platform) / 0x0005 (terminal, 2019) resend-missing-subpackages request. */
#define JT808_RESEND_MAX 255u
struct jt808_resend {
    uint16_t first_serial;
    uint16_t count;           /* BYTE in 2013, WORD in 2019 */
    struct rw_bytes ids;      /* count x WORD package indexes, raw */
};

struct jt808_msg {
    struct jt808_hdr h;
    struct rw_bytes body;     /* the raw (possibly partial, for subpackages) body */
    union {
        struct jt808_gen_rsp gen_rsp;       /* 0x0001, 0x8001 */
        struct jt808_register reg;          /* 0x0100 */
        struct jt808_register_rsp reg_rsp;  /* 0x8100 */
        struct jt808_auth auth;             /* 0x0102 */
        struct jt808_loc loc;               /* 0x0200 */
        struct jt808_loc_rsp loc_rsp;       /* 0x0201 */
        struct jt808_batch batch;           /* 0x0704 */
        struct jt808_params params;         /* 0x8103 */
        struct jt808_track track;           /* 0x8202 */
        struct jt808_text text;             /* 0x8300 */
        struct jt808_resend resend;         /* 0x8003, 0x0005 */
    } u;
};

/* ---------------------------------------------------------------------------------------
 * Stream framer (§1): one per connection.
 */

/* Framer statistics, plain counters read by the owner thread. */
struct jt808_framer_stats {
    uint64_t frames;        /* good frames returned */
    uint64_t garbage_bytes; /* bytes skipped outside any frame */
    uint64_t bad_escape;
    uint64_t bad_check;
    uint64_t too_long;
    uint64_t too_short;
    uint64_t empty;         /* back-to-back flags */
};

struct jt808_framer {
    uint64_t xor_acc;       /* running XOR of the collected bytes, 8 lanes (folded at the end) */
    uint32_t len;           /* unescaped bytes collected for the frame in progress */
    uint8_t in_frame;       /* an opening flag was seen */
    uint8_t esc;            /* the previous byte was 0x7D */
    uint8_t drop;           /* discard until the next flag (frame already failed) */
    int drop_err;           /* error to report for a dropped frame */
    struct jt808_framer_stats st;
    uint8_t buf[JT808_RAW_MAX];
};

/* Resets <f> to "outside any frame". */
void jt808_framer_init(struct jt808_framer *f);

/* Feeds wire bytes. Consumes bytes of <in> (<n> of them at most) until a frame completes
 * or an error ends one, and returns how many it consumed; call again with the rest.
 * <*status> is set to:
 *   1  a frame is ready: jt808_framer_frame() gives its unescaped content
 *      (header + body + check code, check code already verified). Valid until the next call.
 *   0  all of <in> was consumed and no frame is complete yet.
 *   <0 a malformed frame was dropped (RW_E_ESCAPE, RW_E_CHECK, RW_E_TOOLONG,
 *      RW_E_TRUNCATED for a frame shorter than a header); the framer has resynchronised.
 * Empty frames (7E 7E) are skipped silently and counted. Never allocates. */
size_t jt808_framer_feed(struct jt808_framer *f, const uint8_t *in, size_t n, int *status);

/* The last completed frame's unescaped content (valid until the next feed). */
static inline struct rw_bytes jt808_framer_frame(const struct jt808_framer *f)
{
    struct rw_bytes b = {f->buf, f->len};
    return b;
}

/* ---------------------------------------------------------------------------------------
 * Frame and body decoding
 */

/* Parses the header of the unescaped frame content <raw> (<n> bytes: header + body +
 * check code; the check code is not verified here). Detects the edition from bit 14 with
 * the §2.5 fallback. Returns the header length, or RW_E_TRUNCATED / RW_E_LENGTH when the
 * body length disagrees with the bytes present. */
int jt808_hdr_parse(const uint8_t *raw, size_t n, struct jt808_hdr *h);

/* Parses unescaped frame content (header + body + check code; check code verified) into
 * <m>: header, body view and, for the message IDs of §4, the decoded body. For a
 * subpackage only the header and the raw body are set (reassemble first, then call
 * jt808_body_decode()). Unknown message IDs leave the union zeroed and return 0 with
 * m->body set: the caller decides (answer "not supported"). Returns 0 or a negative code;
 * on error <m>->h is still filled when the header was readable. */
int jt808_frame_parse(const uint8_t *raw, size_t n, struct jt808_msg *m);

/* As jt808_frame_parse() for the frame <f> has just returned (status 1): the check code
 * was verified while framing, so it is not computed again. <m>'s views point into <f>'s
 * buffer, valid until the next jt808_framer_feed(). This is the receive path's call. */
int jt808_framer_parse(const struct jt808_framer *f, struct jt808_msg *m);

/* Decodes <m>->body according to <m>->h.msg_id and edition into <m>->u. Returns 0,
 * RW_E_UNSUPPORTED for an ID outside §4, or a decode error (RW_E_TRUNCATED, RW_E_LENGTH,
 * RW_E_BCD, RW_E_TRAILING, RW_E_FIELD). */
int jt808_body_decode(struct jt808_msg *m);

/* Decodes a 0x0200 body (basic part + extras) from <b> into <loc>. Returns 0, or
 * RW_E_TRUNCATED (fewer than 28 bytes), RW_E_BCD (a time nibble above 9). An impossible
 * date (month 13, all zeros before the first fix) is not an error: <loc>->time is
 * JT808_TIME_INVALID. A damaged item list is not an error either: see extras_err. */
int jt808_loc_decode(struct rw_bytes b, struct jt808_loc *loc);

/* Signed latitude/longitude in degrees x 1e6 (south and west negative). */
static inline int32_t jt808_loc_lat_e6(const struct jt808_loc *l)
{
    return (l->status & JT808_ST_SOUTH) ? -(int32_t)(l->lat & 0x7FFFFFFF)
                                        : (int32_t)(l->lat & 0x7FFFFFFF);
}
static inline int32_t jt808_loc_lon_e6(const struct jt808_loc *l)
{
    return (l->status & JT808_ST_WEST) ? -(int32_t)(l->lon & 0x7FFFFFFF)
                                       : (int32_t)(l->lon & 0x7FFFFFFF);
}

/* Iterates 0x0704 items. Initialise <it> with jt808_batch_iter_init(), then call
 * jt808_batch_next() until it returns 0. Returns 1 with <loc> decoded, 0 at the end, or a
 * negative code for a bad item (the iterator has moved past it when its length word was
 * readable, so the caller may count the error and go on; when the length itself runs past
 * the end, the walk ends). Items beyond <count> are ignored and counted in <extra>. */
struct jt808_batch_iter {
    struct rd r;
    uint16_t left;
    uint16_t index;
};
void jt808_batch_iter_init(struct jt808_batch_iter *it, const struct jt808_batch *b);
int jt808_batch_next(struct jt808_batch_iter *it, struct jt808_loc *loc);

/* Iterates 0x8103 parameters like jt808_batch_next(). */
struct jt808_param_iter {
    struct rd r;
    uint16_t left;
};
void jt808_param_iter_init(struct jt808_param_iter *it, const struct jt808_params *p);
int jt808_param_next(struct jt808_param_iter *it, struct jt808_param *out);

/* Converts a BCD YYMMDDhhmmss (GMT+8, years 2000-2099) to UTC seconds. Returns 0 and sets
 * <*out>, RW_E_BCD for a nibble above 9, RW_E_FIELD for an impossible date. */
int jt808_time_from_bcd(const uint8_t bcd[6], int64_t *out);
/* Converts UTC seconds to BCD YYMMDDhhmmss in GMT+8. Returns 0 or RW_E_FIELD when the
 * year falls outside 2000-2099. */
int jt808_time_to_bcd(int64_t utc, uint8_t bcd[6]);

/* ---------------------------------------------------------------------------------------
 * Encoding
 */

/* Encodes the body of <m> (per h.msg_id and h.edition; for 0x0100 per u.reg.edition) into
 * <out>. Messages without a decoded form (unknown IDs, subpackages, encrypted bodies) are
 * encoded from <m>->body.
 * Returns the body length, RW_E_NOSPACE, RW_E_TOOLONG (a field wider than its width) or
 * RW_E_FIELD. */
int jt808_body_encode(const struct jt808_msg *m, uint8_t *out, size_t cap);

/* Encodes a whole frame: header (props computed: body length, bit 13 from h.subpkg,
 * bit 14 and the version byte for 2019, encryption bits from h.encrypt), body, check code,
 * escaping and both flags. Returns the wire length, RW_E_NOSPACE, or RW_E_TOOLONG when the
 * body exceeds 1023 bytes (split it into subpackages first). JT808_WIRE_MAX always
 * suffices. */
int jt808_encode(const struct jt808_msg *m, uint8_t *out, size_t cap);

/* Encodes a frame around an already encoded body <body> with header <h> (h->body_len is
 * taken from <len>). Used by jt808_encode() and by the subpackage splitter. */
int jt808_frame_build(const struct jt808_hdr *h, const uint8_t *body, size_t len,
                      uint8_t *out, size_t cap);

/* Encodes a 0x0200 body from <loc> (its raw extras when set, else its fields). */
int jt808_loc_encode(const struct jt808_loc *loc, uint8_t *out, size_t cap);

/* Builders for list bodies. Each appends one entry at <buf>+<*used> (capacity <cap>) and
 * advances <*used>: a 0x0704 item (length WORD + 0x0200 body of <loc>), or a 0x8103
 * parameter (DWORD id, BYTE length, <value>). Set batch.items / params.list to the
 * result. Return 0, RW_E_NOSPACE or RW_E_TOOLONG. */
int jt808_batch_add(uint8_t *buf, size_t cap, size_t *used, const struct jt808_loc *loc);
int jt808_param_add(uint8_t *buf, size_t cap, size_t *used, uint32_t id,
                    struct rw_bytes value);

/* Fills <m> for a 0x8001 platform general response to the message with header <req>:
 * same phone and edition, serial <serial>, answering req->serial / req->msg_id. */
void jt808_make_gen_rsp(struct jt808_msg *m, const struct jt808_hdr *req, uint16_t serial,
                        uint8_t result);

/* ---------------------------------------------------------------------------------------
 * Subpackage reassembly (§2.4): one per worker, sized at creation, never allocates after.
 */

struct jt808_reasm;

struct jt808_reasm_stats {
    uint64_t completed;
    uint64_t expired;
    uint64_t evicted;      /* a slot was reclaimed for a new message while all were busy */
    uint64_t rejected;     /* bad index/total, over limits */
    uint64_t duplicates;
};

/* Creates a reassembler with <slots> messages in flight, each at most <max_pkgs>
 * packages (and so at most max_pkgs x 1023 body bytes), kept at most <timeout_ns>.
 * Returns 0 and sets <*out>, or -ENOMEM / RW_E_FIELD for zero sizes. */
int jt808_reasm_create(unsigned slots, unsigned max_pkgs, uint64_t timeout_ns,
                       struct jt808_reasm **out);
void jt808_reasm_destroy(struct jt808_reasm *r);

/* Adds the subpackage <m> (h.subpkg set) received at <now_ns>. Returns
 *   1  the message is complete: <*body> is the whole body, valid until the next call to
 *      any jt808_reasm_* function on <r>; <*first_serial> identifies the message.
 *   0  stored, more packages awaited.
 *  <0 RW_E_FIELD (index 0 or above total, total 0 or changed), RW_E_LIMIT (total above
 *     max_pkgs), RW_E_DUPLICATE (package already held; harmless, counted).
 * When every slot is busy, the oldest is evicted for the new message. */
int jt808_reasm_add(struct jt808_reasm *r, const struct jt808_msg *m, uint64_t now_ns,
                    struct rw_bytes *body, uint16_t *first_serial);

/* Drops messages older than the timeout at <now_ns>; returns how many were dropped. */
unsigned jt808_reasm_expire(struct jt808_reasm *r, uint64_t now_ns);

/* Lists the missing package indexes (1-based) of the message of <phone>/<msg_id>/
 * <first_serial> into <ids> (capacity <cap>). Returns the count, or RW_E_STATE when no
 * such message is held. Used to build 0x8003. */
int jt808_reasm_missing(const struct jt808_reasm *r, const uint8_t phone[10], uint16_t msg_id,
                        uint16_t first_serial, uint16_t *ids, unsigned cap);

const struct jt808_reasm_stats *jt808_reasm_stats(const struct jt808_reasm *r);

/* Splits <body> (<len> bytes, may exceed 1023) of a message with header <h> into
 * subpackages of at most <chunk> body bytes (<= 1023), each a full wire frame, written one
 * after another into <out>. Serials run h->serial, h->serial+1, ... Returns the total wire
 * length, RW_E_NOSPACE or RW_E_FIELD. */
int jt808_split_encode(const struct jt808_hdr *h, const uint8_t *body, size_t len,
                       size_t chunk, uint8_t *out, size_t cap);

/* Names (static strings, never NULL) for output. */
const char *jt808_msg_name(uint16_t msg_id);
const char *jt808_alarm_bit_name(unsigned bit, uint16_t edition);
const char *jt808_status_bit_name(unsigned bit);

#endif
