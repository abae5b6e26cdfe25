// Package ptrstore is rptr's Redis-backed record store: the key schema, the
// decoding of values, and the connection. It knows nothing of DNS servers.
//
// A record lives at the key <prefix>ptr:<ip>, where <ip> is the canonical
// text of the address (dotted decimal for IPv4, RFC 5952 for IPv6), and holds
// either a string (the host name) or a hash with the fields ptr, ttl and
// disabled.
package ptrstore

import (
	"net/netip"
	"strings"
)

// DefaultPrefix is the key prefix used when none is configured.
const DefaultPrefix = "rptr:"

// Key returns the Redis key of addr's PTR record.
func Key(prefix string, addr netip.Addr) string {
	return prefix + "ptr:" + addr.String()
}

// KeyAddr parses a record key back into its address. ok is false when key is
// not a record key under prefix, or when its address text is not canonical
// (such a key can never match a query).
func KeyAddr(prefix, key string) (addr netip.Addr, ok bool) {
	text, found := strings.CutPrefix(key, prefix+"ptr:")
	if !found {
		return netip.Addr{}, false
	}
	addr, err := netip.ParseAddr(text)
	if err != nil || addr.Zone() != "" || addr.String() != text {
		return netip.Addr{}, false
	}
	return addr, true
}
