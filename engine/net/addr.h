/* addr.h: listener addresses of the configuration ("host:port", IPv4, IPv6 or [IPv6]).
 * Thread-safe, no allocation. */
#ifndef RW_NET_ADDR_H
#define RW_NET_ADDR_H

#include <sys/socket.h>

/* Parses <s> into <ss> (<len> set to the address size). Returns 0, or RW_E_SYNTAX for a
 * missing or bad port (0..65535) or a host that is not a numeric IPv4/IPv6 address. */
int net_addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len);

#endif
