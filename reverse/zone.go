package reverse

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// ErrOutside means a name in a classless zone names an address outside the
// zone's block.
var ErrOutside = errors.New("address outside the classless zone's block")

// Zone is a reverse zone: its origin and the addresses under it.
type Zone struct {
	// Origin is the zone's name, lower case and absolute.
	Origin string
	// Prefix holds the addresses whose PTR records the zone holds.
	Prefix netip.Prefix
	// Classless is set for an RFC 2317 zone such as
	// "0/25.2.0.192.in-addr.arpa.", whose names are one octet label left of
	// the origin.
	Classless bool
}

// ParseZone parses the origin of a reverse zone: a name Parse accepts, or an
// RFC 2317 classless zone whose first label is FIRST/PREFIXLEN or
// FIRST-PREFIXLEN (PREFIXLEN from 25 to 32, FIRST the block's first octet)
// above the /24 it is carved from.
func ParseZone(origin string) (Zone, error) {
	origin = strings.ToLower(origin)
	if p, err := Parse(origin); err == nil {
		return Zone{Origin: origin, Prefix: p}, nil
	} else if !errors.Is(err, ErrBadLabel) {
		return Zone{}, err
	}
	label, parent, ok := strings.Cut(origin, ".")
	if !ok {
		return Zone{}, ErrBadLabel
	}
	sep := strings.IndexAny(label, "/-")
	if sep < 0 {
		return Zone{}, ErrBadLabel
	}
	first, ok := octet(label[:sep])
	if !ok {
		return Zone{}, ErrBadLabel
	}
	bits, err := strconv.Atoi(label[sep+1:])
	if err != nil || bits < 25 || bits > 32 || label[sep+1] == '0' || label[sep+1] == '+' {
		return Zone{}, errors.New("classless zone's prefix length must be 25 to 32")
	}
	p, err := Parse(parent)
	if err != nil {
		return Zone{}, err
	}
	if !p.Addr().Is4() || p.Bits() != 24 {
		return Zone{}, errors.New("a classless zone sits on a /24 in-addr.arpa. zone")
	}
	a := p.Addr().As4()
	a[3] = first
	block := netip.PrefixFrom(netip.AddrFrom4(a), bits)
	if block.Masked() != block {
		return Zone{}, errors.New("classless zone's first address is not the start of a /" + strconv.Itoa(bits))
	}
	return Zone{Origin: origin, Prefix: block, Classless: true}, nil
}

// Parse returns the prefix named by qname, a name at or below z.Origin given
// in any letter case. In a classless zone the origin stands for the whole
// block and each name one label below it for one address of the block.
func (z Zone) Parse(qname string) (netip.Prefix, error) {
	if !z.Classless {
		return Parse(qname)
	}
	if len(qname) == len(z.Origin) {
		return z.Prefix, nil
	}
	label := qname[:len(qname)-len(z.Origin)-1]
	if strings.IndexByte(label, '.') >= 0 {
		return netip.Prefix{}, ErrTooManyLabels
	}
	v, ok := octet(label)
	if !ok {
		return netip.Prefix{}, ErrBadLabel
	}
	a := z.Prefix.Addr().As4()
	a[3] = v
	addr := netip.AddrFrom4(a)
	if !z.Prefix.Contains(addr) {
		return netip.Prefix{}, ErrOutside
	}
	return netip.PrefixFrom(addr, 32), nil
}
