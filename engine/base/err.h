/* err.h: roadwatch error codes (STYLE §4).
 *
 * Every fallible function returns an int that is 0 (or a positive count/length where its
 * header says so) or a negative code. System failures come back as -errno; project codes
 * sit in a reserved range below RW_E_BASE so the two never collide (as LMDB's MDB_* codes
 * sit below BerkeleyDB's). err_str() names both kinds. Thread-safe: no global state. */
#ifndef RW_ERR_H
#define RW_ERR_H

#define RW_E_BASE (-30000)

enum rw_err {
    RW_E_TRUNCATED = RW_E_BASE - 1,  /* input ends before a field it announces */
    RW_E_CHECK = RW_E_BASE - 2,      /* check code / CRC mismatch */
    RW_E_ESCAPE = RW_E_BASE - 3,     /* escape byte followed by an invalid byte */
    RW_E_TOOLONG = RW_E_BASE - 4,    /* frame or field longer than its hard limit */
    RW_E_LENGTH = RW_E_BASE - 5,     /* a length field disagrees with the bytes present */
    RW_E_FIELD = RW_E_BASE - 6,      /* a field holds a value outside its domain */
    RW_E_BCD = RW_E_BASE - 7,        /* a BCD nibble above 9, or an impossible date */
    RW_E_UNSUPPORTED = RW_E_BASE - 8,/* a message or sub-type this codec does not handle */
    RW_E_NOSPACE = RW_E_BASE - 9,    /* the output buffer is too small */
    RW_E_LIMIT = RW_E_BASE - 10,     /* a configured limit (slots, packages, bytes) is hit */
    RW_E_DUPLICATE = RW_E_BASE - 11, /* the same item was delivered twice */
    RW_E_EMPTY = RW_E_BASE - 12,     /* an empty frame (two adjacent flags) */
    RW_E_ENCRYPTED = RW_E_BASE - 13, /* the body is encrypted and no key is available */
    RW_E_TRAILING = RW_E_BASE - 14,  /* bytes left over after the last field */
    RW_E_SYNTAX = RW_E_BASE - 15,    /* text input (JSON, hex, config) is malformed */
    RW_E_STATE = RW_E_BASE - 16,     /* the call is not valid in the object's state */
    RW_E_LAST = RW_E_BASE - 17,
};

/* Returns a static, human-readable description of <code> (0, -errno or an RW_E_* code).
 * Never NULL; the pointer stays valid for the life of the process. */
const char *err_str(int code);

/* Returns a short stable identifier for <code> ("truncated", "check", "ENOMEM", ...) for
 * machine-readable output such as the decoder's JSON. Never NULL; static storage. */
const char *err_name(int code);

#endif
