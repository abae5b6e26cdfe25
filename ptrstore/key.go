// Package ptrstore is rptr's Redis-backed record store: the key schema, the
// decoding of values, and the connection. It knows nothing of DNS servers.
//
// A record lives at the key <prefix>ptr:<ip>, where <ip> is the canonical
// text of the address (dotted decimal for IPv4, RFC 5952 for IPv6), and holds
// either a string (the host name) or a hash with the fields ptr, ttl and
// disabled.
package ptrstore

import (
	"fmt"
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

// KeyText is what the address text of a record key turned out to be, as
// read by ReadKeyAddr.
type KeyText int

// Readings of a key's address text.
const (
	// Canonical text: the key a query of Addr reads.
	Canonical KeyText = iota
	// NonCanonical text of an address: white space around it, upper-case
	// or zero-padded hex, :: elsewhere, an IPv4-mapped address in hex and
	// the like. No query reads the key; Key(prefix, Addr) is the one meant.
	NonCanonical
	// LeadingZeros: IPv4 octets written with leading zeros ("010.0.0.1"),
	// read as decimal (10.0.0.1), as zero-padded address lists mean them,
	// not as octal the way inet_aton does.
	LeadingZeros
	// Zoned: an IPv6 address with a zone ("fe80::1%eth0"), which no DNS
	// query carries; Addr is the address without it.
	Zoned
	// NotAddress: no address can be read from the text; Addr is invalid.
	NotAddress
)

// ReadKeyAddr reads the address a record key under prefix was meant for,
// whether or not its text is canonical, and says how the text was written.
// Its error, for a key not under prefix's ptr: namespace or with no address
// in it, says why.
func ReadKeyAddr(prefix, key string) (netip.Addr, KeyText, error) {
	text, found := strings.CutPrefix(key, prefix+"ptr:")
	if !found {
		return netip.Addr{}, NotAddress, fmt.Errorf("key %q is not under %q", key, prefix+"ptr:")
	}
	if addr, ok := KeyAddr(prefix, key); ok {
		return addr, Canonical, nil
	}
	s := strings.TrimSpace(text)
	how := NonCanonical
	if i := strings.IndexByte(s, '%'); i >= 0 && strings.Contains(s, ":") {
		s, how = s[:i], Zoned
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		if unpadded, ok := dropLeadingZeros(s); ok {
			addr, err = netip.ParseAddr(unpadded)
			how = LeadingZeros
		}
	}
	switch {
	case err == nil:
		return addr, how, nil
	case text == "":
		return netip.Addr{}, NotAddress, fmt.Errorf("no address after %q", prefix+"ptr:")
	}
	if _, perr := netip.ParsePrefix(s); perr == nil {
		return netip.Addr{}, NotAddress, fmt.Errorf("%q is a network, not an address: each address has a key of its own", s)
	}
	return netip.Addr{}, NotAddress, fmt.Errorf("%q is not an IP address", text)
}

// dropLeadingZeros rewrites a dotted quad, alone or at the end of IPv6
// text, with the leading zeros of its octets dropped. ok is false when s has
// no such quad or no octet had a leading zero.
func dropLeadingZeros(s string) (string, bool) {
	head, quad := "", s
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		head, quad = s[:i+1], s[i+1:]
	}
	octets := strings.Split(quad, ".")
	if len(octets) != 4 {
		return "", false
	}
	padded := false
	for i, o := range octets {
		if o == "" || len(o) > 3 || strings.Trim(o, "0123456789") != "" {
			return "", false
		}
		if len(o) > 1 && o[0] == '0' {
			padded = true
		}
		o = strings.TrimLeft(o, "0")
		if o == "" {
			o = "0"
		}
		octets[i] = o
	}
	return head + strings.Join(octets, "."), padded
}
