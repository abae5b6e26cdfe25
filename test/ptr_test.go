package test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
	"github.com/redis/go-redis/v9"

	"github.com/rptr-dns/rptr/internal/corednstest"
)

// The zones the server of startPTRServer serves and what falls through.
const ptrCorefile = `.:{dns} {
    rptr 192.0.2.0/24 10.1.0.0/16 10.0.0.0/22 2001:db8::/48 {
        redis %s
        prefix %s
        ttl 3600
        fallthrough 2.0.192.in-addr.arpa.
    }
    file %s 2.0.192.in-addr.arpa.
    file %s example.org.
}
`

const reverseFileZone = `$ORIGIN 2.0.192.in-addr.arpa.
@   3600 IN SOA ns.file.example. hostmaster.file.example. 1 7200 3600 1209600 60
@   3600 IN NS  ns.file.example.
99  3600 IN PTR from-file.example.org.
`

const forwardFileZone = `$ORIGIN example.org.
@   3600 IN SOA ns.file.example. hostmaster.file.example. 1 7200 3600 1209600 60
@   3600 IN NS  ns.file.example.
www 3600 IN A   192.0.2.99
`

// startPTRServer starts the custom binary with ptrCorefile and returns it
// with a client for the test's records and the test's key prefix.
func startPTRServer(t *testing.T) (*corednstest.Server, *redis.Client, string) {
	t.Helper()
	dir := t.TempDir()
	rev, fwd := filepath.Join(dir, "reverse.db"), filepath.Join(dir, "forward.db")
	if err := os.WriteFile(rev, []byte(reverseFileZone), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fwd, []byte(forwardFileZone), 0o644); err != nil {
		t.Fatal(err)
	}
	prefix := prefixFor(t)
	s := corednstest.Start(t, coredns, fmt.Sprintf(ptrCorefile, rdb.URL(0), prefix, rev, fwd))
	c := rdb.Client(0)
	t.Cleanup(func() { c.Close() })
	return s, c, prefix
}

// rptrSOA is the negative-answer SOA of an rptr zone with default settings.
func rptrSOA(zone string) dns.RR {
	return test.SOA(fmt.Sprintf("%s 300 IN SOA ns.dns.%s hostmaster.%s 1 7200 3600 1209600 300", zone, zone, zone))
}

const (
	zone192  = "2.0.192.in-addr.arpa."
	zone10   = "0.0.10.in-addr.arpa."
	zone10_1 = "1.10.in-addr.arpa."
	zone6    = "0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."
	name6    = "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."
)

func TestPTRAnswers(t *testing.T) {
	s, c, prefix := startPTRServer(t)
	ctx := context.Background()
	for _, cmd := range [][]any{
		{"SET", prefix + "ptr:192.0.2.10", "mail.example.com"},
		{"SET", prefix + "ptr:10.0.0.1", "gw.example.com."},
		{"HSET", prefix + "ptr:2001:db8::25", "ptr", "v6.example.com", "ttl", "300", "disabled", "0"},
		{"HSET", prefix + "ptr:10.0.0.2", "ptr", "off.example.com", "disabled", "TRUE"},
		{"HSET", prefix + "ptr:10.0.0.3", "ptr", "zero.example.com", "ttl", "0"},
		{"SET", prefix + "ptr:10.0.0.4", "lease.example.com", "EX", "100"},
		{"HSET", prefix + "ptr:10.0.0.5", "ptr", "short.example.com", "ttl", "30"},
		{"EXPIRE", prefix + "ptr:10.0.0.5", "1000"},
		{"SET", prefix + "ptr:10.1.2.3", "bücher.example"},
	} {
		if err := c.Do(ctx, cmd...).Err(); err != nil {
			t.Fatal(err)
		}
	}

	cases := []test.Case{
		// Stored records, both forms, both families.
		{Qname: "10.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []dns.RR{
			test.PTR("10.2.0.192.in-addr.arpa. 3600 IN PTR mail.example.com.")}},
		{Qname: "1.0.0.10.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []dns.RR{
			test.PTR("1.0.0.10.in-addr.arpa. 3600 IN PTR gw.example.com.")}},
		{Qname: name6, Qtype: dns.TypePTR, Answer: []dns.RR{
			test.PTR(name6 + " 300 IN PTR v6.example.com.")}},
		{Qname: "3.0.0.10.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []dns.RR{
			test.PTR("3.0.0.10.in-addr.arpa. 0 IN PTR zero.example.com.")}},
		// The record's own TTL is below the key's lifetime: it stays.
		{Qname: "5.0.0.10.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []dns.RR{
			test.PTR("5.0.0.10.in-addr.arpa. 30 IN PTR short.example.com.")}},
		// A Unicode name is served as its A-label.
		{Qname: "3.2.1.10.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []dns.RR{
			test.PTR("3.2.1.10.in-addr.arpa. 3600 IN PTR xn--bcher-kva.example.")}},
		// Case-insensitive, answered with the name as asked.
		{Qname: "10.2.0.192.IN-ADDR.ARPA.", Qtype: dns.TypePTR, Answer: []dns.RR{
			test.PTR("10.2.0.192.IN-ADDR.ARPA. 3600 IN PTR mail.example.com.")}},
		// ANY at a name with a PTR gives the PTR.
		{Qname: "10.2.0.192.in-addr.arpa.", Qtype: dns.TypeANY, Answer: []dns.RR{
			test.PTR("10.2.0.192.in-addr.arpa. 3600 IN PTR mail.example.com.")}},
		// Other types at a name with a PTR: NODATA.
		{Qname: "10.2.0.192.in-addr.arpa.", Qtype: dns.TypeA, Ns: []dns.RR{rptrSOA(zone192)}},
		{Qname: "1.0.0.10.in-addr.arpa.", Qtype: dns.TypeTXT, Ns: []dns.RR{rptrSOA(zone10)}},
		// Disabled and missing records where no fallthrough applies: NXDOMAIN.
		{Qname: "2.0.0.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{rptrSOA(zone10)}},
		{Qname: "9.0.0.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{rptrSOA(zone10)}},
		{Qname: "9.0.0.10.in-addr.arpa.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{rptrSOA(zone10)}},
		{Qname: "6.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", Qtype: dns.TypePTR,
			Rcode: dns.RcodeNameError, Ns: []dns.RR{rptrSOA(zone6)}},
		// Empty non-terminals: NODATA.
		{Qname: "2.1.10.in-addr.arpa.", Qtype: dns.TypePTR, Ns: []dns.RR{rptrSOA(zone10_1)}},
		{Qname: "0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", Qtype: dns.TypePTR, Ns: []dns.RR{rptrSOA(zone6)}},
		// Names that cannot be addresses: NXDOMAIN.
		{Qname: "256.2.1.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{rptrSOA(zone10_1)}},
		{Qname: "010.2.1.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{rptrSOA(zone10_1)}},
		{Qname: "x.2.1.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{rptrSOA(zone10_1)}},
		{Qname: "1.3.2.1.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{rptrSOA(zone10_1)}},
		{Qname: "ab.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{rptrSOA(zone6)}},
		{Qname: "0." + name6, Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{rptrSOA(zone6)}},
		// The apex: synthesized SOA and NS, NODATA for other types.
		{Qname: zone10, Qtype: dns.TypeSOA, Answer: []dns.RR{
			test.SOA(zone10 + " 3600 IN SOA ns.dns." + zone10 + " hostmaster." + zone10 + " 1 7200 3600 1209600 300")}},
		{Qname: zone10, Qtype: dns.TypeNS, Answer: []dns.RR{test.NS(zone10 + " 3600 IN NS ns.dns." + zone10)}},
		{Qname: zone10, Qtype: dns.TypePTR, Ns: []dns.RR{rptrSOA(zone10)}},
		// Missing record with fallthrough: the file plugin answers.
		{Qname: "99.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []dns.RR{
			test.PTR("99.2.0.192.in-addr.arpa. 3600 IN PTR from-file.example.org.")},
			Ns: []dns.RR{test.NS("2.0.192.in-addr.arpa. 3600 IN NS ns.file.example.")}},
		{Qname: "98.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{
			test.SOA("2.0.192.in-addr.arpa. 3600 IN SOA ns.file.example. hostmaster.file.example. 1 7200 3600 1209600 60")}},
		// Names outside rptr's zones go to the next plugin untouched.
		{Qname: "www.example.org.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("www.example.org. 3600 IN A 192.0.2.99")},
			Ns: []dns.RR{test.NS("example.org. 3600 IN NS ns.file.example.")}},
	}
	for _, net := range []string{"udp", "tcp"} {
		for _, tc := range cases {
			t.Run(net+"/"+tc.Qname+"/"+dns.TypeToString[tc.Qtype], func(t *testing.T) {
				r := query(t, s, net, tc.Qname, tc.Qtype)
				if r.IsEdns0() == nil {
					t.Error("no OPT record in the reply to an EDNS0 query")
				}
				r.Extra = nil // the OPT record is not part of the cases
				if err := test.SortAndCheck(r, tc); err != nil {
					t.Error(err)
				}
				fromRPTR := !strings.HasSuffix(tc.Qname, "example.org.") && !strings.HasPrefix(tc.Qname, "9")
				if fromRPTR && !r.Authoritative {
					t.Error("answer is not authoritative")
				}
			})
		}
	}

	// A key with an expiry caps the TTL at its remaining lifetime.
	r := query(t, s, "udp", "4.0.0.10.in-addr.arpa.", dns.TypePTR)
	if len(r.Answer) != 1 || r.Answer[0].Header().Ttl > 100 || r.Answer[0].Header().Ttl < 90 {
		t.Errorf("expiring record: got %v, want one PTR with a TTL of at most 100", r.Answer)
	}
}
