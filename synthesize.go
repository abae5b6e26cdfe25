package rptr

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/coredns/caddy"
	"github.com/miekg/dns"

	"github.com/rptr-dns/rptr/synth"
)

// synthLine is one synthesize line of the Corefile: a name template and the
// networks whose addresses get names from it.
type synthLine struct {
	tmpl     synth.Template
	networks []netip.Prefix // as written, ranges turned into prefixes; nil means the reverse zones
	ttl      uint32
	hasTTL   bool
}

// synthRule is one network of one line; the synthesizer picks among them.
type synthRule struct {
	network netip.Prefix
	line    *synthLine
}

// synthesizer chooses the line that names an address: the one with the most
// specific network holding it.
type synthesizer struct {
	rules []synthRule // most specific first
}

// newSynthesizer orders the lines' networks, with defaults for lines that
// name none. Two lines claiming the same network are an error, because
// neither would be more specific.
func newSynthesizer(lines []*synthLine, defaults []netip.Prefix) (*synthesizer, error) {
	s := &synthesizer{}
	owner := map[netip.Prefix]*synthLine{}
	for _, l := range lines {
		nets := l.networks
		if nets == nil {
			nets = defaults
		}
		if len(nets) == 0 {
			return nil, fmt.Errorf("synthesize %s names no networks and rptr has no reverse zones to default to", l.tmpl)
		}
		for _, n := range nets {
			if other, ok := owner[n]; ok && other != l {
				return nil, fmt.Errorf("network %s is in two synthesize lines, %s and %s", n, other.tmpl, l.tmpl)
			}
			owner[n] = l
			s.rules = append(s.rules, synthRule{network: n, line: l})
		}
	}
	slices.SortStableFunc(s.rules, func(a, b synthRule) int { return b.network.Bits() - a.network.Bits() })
	return s, nil
}

// lineFor returns the line that names addr, or nil.
func (s *synthesizer) lineFor(addr netip.Addr) *synthLine {
	if s == nil {
		return nil
	}
	for i := range s.rules {
		if s.rules[i].network.Contains(addr) {
			return s.rules[i].line
		}
	}
	return nil
}

// ttlOr is the line's TTL, or def when it sets none.
func (l *synthLine) ttlOr(def uint32) uint32 {
	if l.hasTTL {
		return l.ttl
	}
	return def
}

// parseSynthesize reads
//
//	synthesize TEMPLATE [NETWORKS...] [ttl SECONDS] [style rfc5952|knot]
//
// where NETWORKS are CIDRs and FIRST-LAST ranges.
func parseSynthesize(c *caddy.Controller) (*synthLine, error) {
	args := c.RemainingArgs()
	if len(args) == 0 {
		return nil, c.ArgErr()
	}
	l := &synthLine{}
	style := synth.RFC5952
	for i := 1; i < len(args); i++ {
		switch args[i] {
		case "ttl", "style":
			if i+1 == len(args) {
				return nil, c.Errf("synthesize: %s needs a value", args[i])
			}
			var err error
			if args[i] == "ttl" {
				l.ttl, err = parseSeconds(c, "synthesize ttl", args[i+1])
				l.hasTTL = true
			} else if style, err = synth.ParseStyle(args[i+1]); err != nil {
				err = c.Errf("synthesize style: %v", err)
			}
			if err != nil {
				return nil, err
			}
			i++
		default:
			nets, err := parseNetwork(args[i])
			if err != nil {
				return nil, c.Errf("synthesize: %v", err)
			}
			l.networks = append(l.networks, nets...)
		}
	}
	tmpl, err := synth.ParseTemplate(args[0], style)
	if err != nil {
		return nil, c.Errf("synthesize template %q: %v", args[0], err)
	}
	if dns.IsSubDomain("arpa.", tmpl.Zone()) {
		return nil, c.Errf("synthesize template %s: its zone %s is under arpa.; synthesized names are forward names", tmpl, tmpl.Zone())
	}
	l.tmpl = tmpl
	return l, nil
}

// parseNetwork parses a CIDR or a FIRST-LAST range into the prefixes that
// cover it exactly.
func parseNetwork(s string) ([]netip.Prefix, error) {
	if first, last, ok := strings.Cut(s, "-"); ok {
		a, err1 := netip.ParseAddr(first)
		b, err2 := netip.ParseAddr(last)
		if err1 != nil || err2 != nil || a.Zone() != "" || b.Zone() != "" {
			return nil, fmt.Errorf("range %q is not FIRST-LAST with two addresses", s)
		}
		if a.Is4() != b.Is4() || b.Less(a) {
			return nil, fmt.Errorf("range %q: LAST must be of the same family as FIRST and not below it", s)
		}
		return rangePrefixes(a, b), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return nil, fmt.Errorf("network %q is neither a CIDR nor a FIRST-LAST range", s)
	}
	if p != p.Masked() {
		return nil, fmt.Errorf("network %s has host bits set; did you mean %s?", s, p.Masked())
	}
	return []netip.Prefix{p}, nil
}

// rangePrefixes returns the fewest prefixes that together hold exactly the
// addresses from first to last.
func rangePrefixes(first, last netip.Addr) []netip.Prefix {
	if first.Is4() != last.Is4() || last.Less(first) {
		return nil
	}
	var out []netip.Prefix
	for {
		// The largest block that starts at first and ends by last.
		var p netip.Prefix
		for bits := 0; bits <= first.BitLen(); bits++ {
			p = netip.PrefixFrom(first, bits)
			if p.Masked().Addr() == first && !last.Less(lastAddr(p)) {
				break
			}
		}
		out = append(out, p)
		end := lastAddr(p)
		if end == last {
			return out
		}
		first = end.Next()
	}
}

// lastAddr returns the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As16()
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	for i := range a {
		for b := 0; b < 8; b++ {
			if i*8+b >= bits {
				a[i] |= 0x80 >> b
			}
		}
	}
	addr := netip.AddrFrom16(a)
	if p.Addr().Is4() {
		return addr.Unmap()
	}
	return addr
}
