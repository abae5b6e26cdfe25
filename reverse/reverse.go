// Package reverse converts between IP addresses and their reverse-lookup
// names under in-addr.arpa. (RFC 1035) and ip6.arpa. (RFC 3596).
//
// Parsing works on the bytes of the name without allocating, because it runs
// on every query the plugin sees.
package reverse

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// Suffixes of the two reverse trees, in canonical (lower-case, absolute) form.
const (
	V4Suffix = "in-addr.arpa."
	V6Suffix = "ip6.arpa."
)

// Errors returned by Parse.
var (
	// ErrNotReverse means the name is not under in-addr.arpa. or ip6.arpa.
	ErrNotReverse = errors.New("not a name under in-addr.arpa or ip6.arpa")
	// ErrTooManyLabels means the name has more labels than an address has parts.
	ErrTooManyLabels = errors.New("more labels than an address has")
	// ErrBadLabel means a label is not a decimal octet (in-addr.arpa.) or a
	// single hex digit (ip6.arpa.).
	ErrBadLabel = errors.New("label is not part of an address")
)

// Parse reads an absolute reverse name, in any letter case, and returns the
// address prefix it stands for: "10.2.0.192.in-addr.arpa." is 192.0.2.10/32,
// "2.0.192.in-addr.arpa." is 192.0.2.0/24, "in-addr.arpa." is 0.0.0.0/0.
// IPv4 labels are decimal octets without leading zeros; IPv6 labels are single
// hex digits. A prefix whose Bits equals its address's BitLen is a full address.
func Parse(name string) (netip.Prefix, error) {
	switch {
	case hasSuffixFold(name, V4Suffix):
		return parse4(name[:len(name)-len(V4Suffix)])
	case hasSuffixFold(name, V6Suffix):
		return parse6(name[:len(name)-len(V6Suffix)])
	}
	return netip.Prefix{}, ErrNotReverse
}

// hasSuffixFold reports whether name is suffix, or ends in "."+suffix,
// ignoring ASCII case.
func hasSuffixFold(name, suffix string) bool {
	if len(name) < len(suffix) || !strings.EqualFold(name[len(name)-len(suffix):], suffix) {
		return false
	}
	return len(name) == len(suffix) || name[len(name)-len(suffix)-1] == '.'
}

// parse4 parses the labels left of "in-addr.arpa.", given with their
// trailing dot ("10.2.0.192." or "").
func parse4(labels string) (netip.Prefix, error) {
	var a [4]byte
	n := 0
	// Walk from the right: the label nearest the suffix is the first octet.
	end := len(labels) - 1 // index of the dot ending the current label
	for end > 0 {
		start := strings.LastIndexByte(labels[:end], '.') + 1
		if n == 4 {
			return netip.Prefix{}, ErrTooManyLabels
		}
		v, ok := octet(labels[start:end])
		if !ok {
			return netip.Prefix{}, ErrBadLabel
		}
		a[n] = v
		n++
		end = start - 1
	}
	if end == 0 { // a leading empty label: ".2.0.192.in-addr.arpa."
		return netip.Prefix{}, ErrBadLabel
	}
	return netip.PrefixFrom(netip.AddrFrom4(a), 8*n), nil
}

// octet parses a decimal number 0-255 written without leading zeros.
func octet(s string) (byte, bool) {
	if len(s) == 0 || len(s) > 3 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	if v > 255 {
		return 0, false
	}
	return byte(v), true
}

// parse6 parses the nibble labels left of "ip6.arpa.", given with their
// trailing dot ("1.0.0.2." or "").
func parse6(labels string) (netip.Prefix, error) {
	if len(labels)%2 != 0 {
		return netip.Prefix{}, ErrBadLabel
	}
	n := len(labels) / 2
	if n > 32 {
		return netip.Prefix{}, ErrTooManyLabels
	}
	var a [16]byte
	for i := 0; i < n; i++ {
		// Nibble i counted from the most significant end sits at the right.
		pos := len(labels) - 2*(i+1)
		if labels[pos+1] != '.' {
			return netip.Prefix{}, ErrBadLabel
		}
		v, ok := nibble(labels[pos])
		if !ok {
			return netip.Prefix{}, ErrBadLabel
		}
		if i%2 == 0 {
			a[i/2] = v << 4
		} else {
			a[i/2] |= v
		}
	}
	return netip.PrefixFrom(netip.AddrFrom16(a), 4*n), nil
}

func nibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

const hexDigits = "0123456789abcdef"

// Name returns the reverse name of a prefix whose length is on a label
// boundary (a multiple of 8 for IPv4, of 4 for IPv6); other lengths are
// rounded down to the boundary. A full address gives the name of its PTR
// record. IPv4 addresses mapped into IPv6 are named under ip6.arpa.
func Name(p netip.Prefix) string {
	addr := p.Addr()
	var b strings.Builder
	if addr.Is4() {
		a := addr.As4()
		n := p.Bits() / 8
		b.Grow(4*n + len(V4Suffix))
		for i := n - 1; i >= 0; i-- {
			b.WriteString(strconv.Itoa(int(a[i])))
			b.WriteByte('.')
		}
		b.WriteString(V4Suffix)
		return b.String()
	}
	a := addr.As16()
	n := p.Bits() / 4
	b.Grow(2*n + len(V6Suffix))
	for i := n - 1; i >= 0; i-- {
		v := a[i/2]
		if i%2 == 0 {
			v >>= 4
		}
		b.WriteByte(hexDigits[v&0xf])
		b.WriteByte('.')
	}
	b.WriteString(V6Suffix)
	return b.String()
}

// AddrName returns the name of the PTR record of addr.
func AddrName(addr netip.Addr) string {
	return Name(netip.PrefixFrom(addr, addr.BitLen()))
}
