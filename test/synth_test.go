package test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
	"github.com/redis/go-redis/v9"

	"github.com/rptr-dns/rptr/internal/corednstest"
	"github.com/rptr-dns/rptr/reverse"
)

// synthCorefile serves synthesized names for IPv4 and IPv6 networks in
// both directions; hosts.example.com. holds the forward records of the
// stored PTRs, so that a full FCrDNS check runs through this one server.
const synthCorefile = `.:{dns} {
    rptr 192.0.2.0/24 10.0.0.0/22 2001:db8::/48 2001:db8:1::/48 0/25.100.51.198.in-addr.arpa. {
        redis %s
        prefix %s
        ttl 3600
        synthesize ip-{ip}.dyn.example.com. 192.0.2.0/24 10.0.0.0/22 2001:db8::/48
        synthesize h{hex}.hex.example.com. 192.0.2.128/25 ttl 60
        synthesize ip-{ip}.knot.example.com. 2001:db8:1::/48 ttl 120 style knot
        synthesize host-{ip}.cl.example.com. 198.51.100.0-198.51.100.127
    }
    file %s hosts.example.com.
}
`

// startSynthServer starts the binary with synthCorefile and the forward
// records of hosts; it returns the server, a Redis client and the prefix.
func startSynthServer(t *testing.T, hosts map[netip.Addr]string) (*corednstest.Server, *redis.Client, string) {
	t.Helper()
	var zone strings.Builder
	zone.WriteString("$ORIGIN hosts.example.com.\n@ 3600 IN SOA ns.example.com. hostmaster.example.com. 1 7200 3600 1209600 60\n@ 3600 IN NS ns.example.com.\n")
	for addr, name := range hosts {
		typ := "A"
		if addr.Is6() {
			typ = "AAAA"
		}
		fmt.Fprintf(&zone, "%s 3600 IN %s %s\n", name, typ, addr)
	}
	db := filepath.Join(t.TempDir(), "hosts.db")
	if err := os.WriteFile(db, []byte(zone.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	prefix := prefixFor(t)
	s := corednstest.Start(t, coredns, fmt.Sprintf(synthCorefile, rdb.URL(0), prefix, db))
	c := rdb.Client(0)
	t.Cleanup(func() { c.Close() })
	return s, c, prefix
}

// randomAddr returns a random address of p.
func randomAddr(r *rand.Rand, p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := range b {
		hostBits := max(0, min(8, (i+1)*8-p.Bits()))
		mask := byte(1<<hostBits - 1)
		b[i] = b[i]&^mask | byte(r.UintN(256))&mask
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// TestFCrDNS runs the check a mail server makes, PTR -> name -> A/AAAA ->
// the same address, for thousands of random addresses, stored and
// synthesized, over IPv4 and IPv6.
func TestFCrDNS(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	networks := []netip.Prefix{
		netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("10.0.0.0/22"),
		netip.MustParsePrefix("2001:db8::/48"), netip.MustParsePrefix("2001:db8:1::/48"),
		netip.MustParsePrefix("198.51.100.0/25"),
	}
	addrs := map[netip.Addr]bool{}
	for len(addrs) < 3000 {
		addrs[randomAddr(r, networks[r.IntN(len(networks))])] = true
	}
	// One address in ten gets a stored record, named in the file zone.
	stored := map[netip.Addr]string{}
	i := 0
	for a := range addrs {
		if i%10 == 0 {
			stored[a] = fmt.Sprintf("host%d.hosts.example.com.", i)
		}
		i++
	}
	s, c, prefix := startSynthServer(t, stored)
	ctx := context.Background()
	pipe := c.Pipeline()
	for a, name := range stored {
		pipe.Set(ctx, prefix+"ptr:"+a.String(), name, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}

	failures := 0
	for a := range addrs {
		qname := reverse.AddrName(a)
		if a.Is4() && a.As4()[0] == 198 {
			// Addresses of the RFC 2317 block are asked through the
			// classless zone, as the parent's CNAME sends resolvers there.
			qname = fmt.Sprintf("%d.0/25.100.51.198.in-addr.arpa.", a.As4()[3])
		}
		ptr := query(t, s, "udp", qname, dns.TypePTR)
		if ptr.Rcode != dns.RcodeSuccess || len(ptr.Answer) != 1 || !ptr.Authoritative {
			t.Errorf("%s: PTR: %v", a, ptr)
			failures++
			continue
		}
		name := ptr.Answer[0].(*dns.PTR).Ptr
		if want, ok := stored[a]; ok && name != want {
			t.Errorf("%s: PTR %s, want the stored %s", a, name, want)
		}
		qtype := dns.TypeA
		if a.Is6() {
			qtype = dns.TypeAAAA
		}
		fwd := query(t, s, "udp", name, qtype)
		var got []netip.Addr
		for _, rr := range fwd.Answer {
			switch rr := rr.(type) {
			case *dns.A:
				ip, _ := netip.AddrFromSlice(rr.A.To4())
				got = append(got, ip)
			case *dns.AAAA:
				ip, _ := netip.AddrFromSlice(rr.AAAA)
				got = append(got, ip)
			}
		}
		if len(got) != 1 || got[0] != a {
			t.Errorf("%s: PTR %s, whose %s is %v", a, name, dns.TypeToString[qtype], got)
			failures++
		}
		if failures > 20 {
			t.Fatal("too many failures")
		}
	}
}

func TestSynthesisAnswers(t *testing.T) {
	s, c, prefix := startSynthServer(t, nil)
	ctx := context.Background()
	for _, cmd := range [][]any{
		{"SET", prefix + "ptr:192.0.2.10", "mail.example.com"},
		{"HSET", prefix + "ptr:192.0.2.11", "ptr", "off.example.com", "disabled", "1"},
		{"SET", prefix + "ptr:192.0.2.12", "not a name"},
		{"SET", prefix + "ptr:198.51.100.20", "cl20.example.com"},
	} {
		if err := c.Do(ctx, cmd...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	soa := func(zone string) dns.RR {
		return test.SOA(fmt.Sprintf("%s 300 IN SOA ns.dns.%s hostmaster.%s 1 7200 3600 1209600 300", zone, zone, zone))
	}
	const (
		dyn = "dyn.example.com."
		cl  = "0/25.100.51.198.in-addr.arpa."
	)
	v6name := func(a string) string { return reverse.AddrName(netip.MustParseAddr(a)) }
	cases := []test.Case{
		// Stored records win; no record, a disabled or an invalid one give the synthesized name.
		{Qname: "10.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []dns.RR{test.PTR("10.2.0.192.in-addr.arpa. 3600 IN PTR mail.example.com.")}},
		{Qname: "9.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []dns.RR{test.PTR("9.2.0.192.in-addr.arpa. 3600 IN PTR ip-192-0-2-9.dyn.example.com.")}},
		{Qname: "11.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []dns.RR{test.PTR("11.2.0.192.in-addr.arpa. 3600 IN PTR ip-192-0-2-11.dyn.example.com.")}},
		{Qname: "12.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []dns.RR{test.PTR("12.2.0.192.in-addr.arpa. 3600 IN PTR ip-192-0-2-12.dyn.example.com.")}},
		// The most specific network wins, with its line's TTL.
		{Qname: "200.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []dns.RR{test.PTR("200.2.0.192.in-addr.arpa. 60 IN PTR hc00002c8.hex.example.com.")}},
		{Qname: "1.0.0.10.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []dns.RR{test.PTR("1.0.0.10.in-addr.arpa. 3600 IN PTR ip-10-0-0-1.dyn.example.com.")}},
		{Qname: v6name("2001:db8::1"), Qtype: dns.TypePTR, Answer: []dns.RR{test.PTR(v6name("2001:db8::1") + " 3600 IN PTR ip-2001-db8--1.dyn.example.com.")}},
		{Qname: v6name("2001:db8:1::"), Qtype: dns.TypePTR, Answer: []dns.RR{test.PTR(v6name("2001:db8:1::") + " 120 IN PTR ip-2001-db8-1--0.knot.example.com.")}},
		// Other types at a synthesizable address: NODATA.
		{Qname: "9.2.0.192.in-addr.arpa.", Qtype: dns.TypeA, Ns: []dns.RR{soa("2.0.192.in-addr.arpa.")}},
		// Forward: the address, whether or not a stored PTR exists.
		{Qname: "ip-192-0-2-9.dyn.example.com.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("ip-192-0-2-9.dyn.example.com. 3600 IN A 192.0.2.9")}},
		{Qname: "ip-192-0-2-10.dyn.example.com.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("ip-192-0-2-10.dyn.example.com. 3600 IN A 192.0.2.10")}},
		{Qname: "IP-192-0-2-9.DYN.EXAMPLE.COM.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("IP-192-0-2-9.DYN.EXAMPLE.COM. 3600 IN A 192.0.2.9")}},
		{Qname: "hc00002c8.hex.example.com.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("hc00002c8.hex.example.com. 60 IN A 192.0.2.200")}},
		{Qname: "HC00002C8.hex.example.com.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("HC00002C8.hex.example.com. 60 IN A 192.0.2.200")}},
		{Qname: "ip-2001-db8--1.dyn.example.com.", Qtype: dns.TypeAAAA, Answer: []dns.RR{test.AAAA("ip-2001-db8--1.dyn.example.com. 3600 IN AAAA 2001:db8::1")}},
		{Qname: "ip-2001-db8-1--0.knot.example.com.", Qtype: dns.TypeAAAA, Answer: []dns.RR{test.AAAA("ip-2001-db8-1--0.knot.example.com. 120 IN AAAA 2001:db8:1::")}},
		{Qname: "ip-192-0-2-9.dyn.example.com.", Qtype: dns.TypeANY, Answer: []dns.RR{test.A("ip-192-0-2-9.dyn.example.com. 3600 IN A 192.0.2.9")}},
		// The other family and other types at a synthesized name: NODATA.
		{Qname: "ip-192-0-2-9.dyn.example.com.", Qtype: dns.TypeAAAA, Ns: []dns.RR{soa(dyn)}},
		{Qname: "ip-192-0-2-9.dyn.example.com.", Qtype: dns.TypeMX, Ns: []dns.RR{soa(dyn)}},
		{Qname: "ip-2001-db8--1.dyn.example.com.", Qtype: dns.TypeA, Ns: []dns.RR{soa(dyn)}},
		// Not the canonical name, or outside the networks: NXDOMAIN.
		{Qname: "ip-192-000-2-9.dyn.example.com.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa(dyn)}},
		{Qname: "ip-192-0-3-9.dyn.example.com.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa(dyn)}},
		{Qname: "ip-192-0-2-200.dyn.example.com.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa(dyn)}},
		{Qname: "ip-2001-db8-0-0-0-0-0-1.dyn.example.com.", Qtype: dns.TypeAAAA, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa(dyn)}},
		{Qname: "ip-2001-db8-1-0-0-0-0-0.knot.example.com.", Qtype: dns.TypeAAAA, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa("knot.example.com.")}},
		{Qname: "www.dyn.example.com.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa(dyn)}},
		{Qname: "x.ip-192-0-2-9.dyn.example.com.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa(dyn)}},
		// The forward zone's apex.
		{Qname: dyn, Qtype: dns.TypeSOA, Answer: []dns.RR{test.SOA(dyn + " 3600 IN SOA ns.dns." + dyn + " hostmaster." + dyn + " 1 7200 3600 1209600 300")}},
		{Qname: dyn, Qtype: dns.TypeNS, Answer: []dns.RR{test.NS(dyn + " 3600 IN NS ns.dns." + dyn)}},
		{Qname: dyn, Qtype: dns.TypeA, Ns: []dns.RR{soa(dyn)}},
		// RFC 2317: the classless zone answers for its block, stored and synthesized.
		{Qname: "20." + cl, Qtype: dns.TypePTR, Answer: []dns.RR{test.PTR("20." + cl + " 3600 IN PTR cl20.example.com.")}},
		{Qname: "21." + cl, Qtype: dns.TypePTR, Answer: []dns.RR{test.PTR("21." + cl + " 3600 IN PTR host-198-51-100-21.cl.example.com.")}},
		{Qname: "host-198-51-100-21.cl.example.com.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("host-198-51-100-21.cl.example.com. 3600 IN A 198.51.100.21")}},
		{Qname: "200." + cl, Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa(cl)}},
		{Qname: "1.20." + cl, Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa(cl)}},
		{Qname: cl, Qtype: dns.TypeSOA, Answer: []dns.RR{test.SOA(cl + " 3600 IN SOA ns.dns." + cl + " hostmaster." + cl + " 1 7200 3600 1209600 300")}},
		{Qname: "host-198-51-100-200.cl.example.com.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{soa("cl.example.com.")}},
	}
	for _, net := range []string{"udp", "tcp"} {
		for _, tc := range cases {
			t.Run(net+"/"+tc.Qname+"/"+dns.TypeToString[tc.Qtype], func(t *testing.T) {
				r := query(t, s, net, tc.Qname, tc.Qtype)
				r.Extra = nil
				if err := test.SortAndCheck(r, tc); err != nil {
					t.Error(err)
				}
				if !r.Authoritative {
					t.Error("answer is not authoritative")
				}
			})
		}
	}
}
