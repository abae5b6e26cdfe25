package rptr

import (
	"net/netip"

	"github.com/miekg/dns"

	"github.com/rptr-dns/rptr/reverse"
)

// zone is one zone rptr is authoritative for: a reverse zone, or the
// forward zone of synthesized names.
type zone struct {
	origin    string       // canonical name, e.g. "2.0.192.in-addr.arpa."
	prefix    netip.Prefix // reverse zones: the addresses under it, e.g. 192.0.2.0/24
	classless bool         // reverse zones: an RFC 2317 zone such as 0/25.2.0.192.in-addr.arpa.
	forward   []*synthLine // forward zones: the synthesize lines whose names it holds
}

// reverse returns z as a reverse zone.
func (z *zone) reverse() reverse.Zone {
	return reverse.Zone{Origin: z.origin, Prefix: z.prefix, Classless: z.classless}
}

// apex holds the values of the SOA and NS records rptr synthesizes at the
// apex of each of its zones. No zone data exists to take them from, so they
// come from the Corefile or from these defaults.
type apex struct {
	ns      []string // NS targets; empty means ns.dns.<zone>
	mname   string   // SOA primary server; empty means the first NS
	rname   string   // SOA mailbox; empty means hostmaster.<zone>
	serial  uint32
	refresh uint32
	retry   uint32
	expire  uint32
	minimum uint32 // also the cap on the TTL of negative answers (RFC 2308)
	ttl     uint32 // TTL of the SOA and NS records themselves
}

// Defaults of the SOA timers, as RIPE-203 recommends for zones that change
// often, with a short negative-caching time so that a record added to Redis
// is not hidden for long behind a cached NXDOMAIN.
const (
	defaultRefresh = 7200
	defaultRetry   = 3600
	defaultExpire  = 1209600
	defaultMinimum = 300
)

func (a *apex) nsNames(origin string) []string {
	if len(a.ns) > 0 {
		return a.ns
	}
	return []string{"ns.dns." + origin}
}

// soa returns the zone's SOA record with owner name owner.
func (a *apex) soa(origin, owner string) *dns.SOA {
	mname := a.mname
	if mname == "" {
		mname = a.nsNames(origin)[0]
	}
	rname := a.rname
	if rname == "" {
		rname = "hostmaster." + origin
	}
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: owner, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: a.ttl},
		Ns:      mname,
		Mbox:    rname,
		Serial:  a.serial,
		Refresh: a.refresh,
		Retry:   a.retry,
		Expire:  a.expire,
		Minttl:  a.minimum,
	}
}

// negativeSOA returns the SOA for the authority section of NXDOMAIN and
// NODATA answers: owned by the apex, with its TTL capped by MINIMUM
// (RFC 2308 section 3).
func (a *apex) negativeSOA(origin string) *dns.SOA {
	s := a.soa(origin, origin)
	s.Hdr.Ttl = min(s.Hdr.Ttl, s.Minttl)
	return s
}

// nsSet returns the zone's NS records with owner name owner.
func (a *apex) nsSet(origin, owner string) []dns.RR {
	names := a.nsNames(origin)
	rrs := make([]dns.RR, len(names))
	for i, n := range names {
		rrs[i] = &dns.NS{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: a.ttl}, Ns: n}
	}
	return rrs
}
