package rptr

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/pkg/fall"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/rptr-dns/rptr/ptrstore"
)

// fakeStore is a Store held in maps. It counts its lookups so that tests can
// prove the handler does not ask the backend about names that cannot hold a
// record.
type fakeStore struct {
	records map[netip.Addr]ptrstore.Record
	errs    map[netip.Addr]error // returned instead of a record

	lookups int        // how many lookups were made
	last    netip.Addr // the address of the last one
}

func (s *fakeStore) Lookup(ctx context.Context, addr netip.Addr) (ptrstore.Record, error) {
	s.lookups++
	s.last = addr
	if err, ok := s.errs[addr]; ok {
		return ptrstore.Record{}, err
	}
	if rec, ok := s.records[addr]; ok {
		return rec, nil
	}
	return ptrstore.Record{}, ptrstore.ErrNotFound
}

// Names of the test zones and of the records in them.
const (
	zone4  = "2.0.192.in-addr.arpa."
	zone16 = "0.10.in-addr.arpa."
	zone6  = "8.b.d.0.1.0.0.2.ip6.arpa."

	name6 = "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0." + zone6 // 2001:db8::25

	testSerial = 2026010100
)

// errRedis stands for any failure to ask Redis.
var errRedis = errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")

func newFakeStore() *fakeStore {
	a := netip.MustParseAddr
	return &fakeStore{
		records: map[netip.Addr]ptrstore.Record{
			a("192.0.2.10"):   {Name: "host.example.org."},
			a("192.0.2.11"):   {Name: "ttl.example.org.", TTL: 60, HasTTL: true},
			a("192.0.2.12"):   {Name: "zero.example.org.", TTL: 0, HasTTL: true},
			a("192.0.2.13"):   {Name: "disabled.example.org.", Disabled: true},
			a("10.0.5.1"):     {Name: "ten.example.org."},
			a("2001:db8::25"): {Name: "v6.example.org."},
		},
		errs: map[netip.Addr]error{
			a("192.0.2.14"): &ptrstore.InvalidError{Key: "rptr:192.0.2.14", Reason: "host name is empty"},
			a("192.0.2.15"): errRedis,
			a("192.0.2.16"): fmt.Errorf("lookup: %w", ptrstore.ErrNotFound),
			a("192.0.2.17"): fmt.Errorf("lookup: %w", &ptrstore.InvalidError{Key: "rptr:192.0.2.17", Reason: "bad ttl"}),
		},
	}
}

// newTestRPTR returns a handler for the three test zones that reads from
// store and hands what it does not serve to a next handler answering
// REFUSED, so that a REFUSED rcode proves the query fell through.
func newTestRPTR(store Store) *RPTR {
	p := newRPTR()
	p.apex.serial = testSerial // the default is the start time
	for _, z := range []struct{ origin, prefix string }{
		{zone4, "192.0.2.0/24"},
		{zone16, "10.0.0.0/16"},
		{zone6, "2001:db8::/32"},
	} {
		p.zones = append(p.zones, zone{origin: z.origin, prefix: netip.MustParsePrefix(z.prefix)})
		p.origins = append(p.origins, z.origin)
	}
	p.store = store
	p.Next = test.NextHandler(dns.RcodeRefused, nil)
	return p
}

// negSOA is the SOA of zone origin as it appears in the authority section
// of negative answers: owned by the apex, TTL capped at MINIMUM.
func negSOA(origin string) dns.RR {
	return test.SOA(fmt.Sprintf("%s 300 IN SOA ns.dns.%[1]s hostmaster.%[1]s %d 7200 3600 1209600 300", origin, testSerial))
}

// checkResponse checks resp against tc with test.SortAndCheck, then the AA
// bit, and then every field of every record, which SortAndCheck does not
// (it compares only the MNAME of an SOA, for one).
func checkResponse(resp *dns.Msg, tc test.Case) error {
	if resp == nil {
		return errors.New("no response written")
	}
	if err := test.SortAndCheck(resp, tc); err != nil {
		return err
	}
	if resp.Authoritative != tc.Authoritative {
		return fmt.Errorf("AA is %t, want %t", resp.Authoritative, tc.Authoritative)
	}
	if len(resp.Question) != 1 || resp.Question[0].Name != tc.Qname {
		return fmt.Errorf("question is %v, want %s", resp.Question, tc.Qname)
	}
	sections := []struct {
		name      string
		got, want []dns.RR
	}{
		{"answer", resp.Answer, tc.Answer},
		{"authority", resp.Ns, tc.Ns},
		{"additional", resp.Extra, tc.Extra},
	}
	for _, s := range sections {
		want := slices.Clone(s.want)
		slices.SortFunc(want, func(a, b dns.RR) int { return strings.Compare(a.String(), b.String()) })
		for i := range want {
			if s.got[i].String() != want[i].String() {
				return fmt.Errorf("%s RR %d is %q, want %q", s.name, i, s.got[i], want[i])
			}
		}
	}
	return nil
}

func TestServeDNS(t *testing.T) {
	ptr4 := test.PTR("10.2.0.192.in-addr.arpa. 3600 IN PTR host.example.org.")
	tests := []test.Case{
		// Stored records.
		{Qname: "10.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Authoritative: true, Answer: []dns.RR{ptr4}},
		{Qname: "11.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Authoritative: true,
			Answer: []dns.RR{test.PTR("11.2.0.192.in-addr.arpa. 60 IN PTR ttl.example.org.")}},
		{Qname: "12.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Authoritative: true,
			Answer: []dns.RR{test.PTR("12.2.0.192.in-addr.arpa. 0 IN PTR zero.example.org.")}},
		{Qname: "1.5.0.10.in-addr.arpa.", Qtype: dns.TypePTR, Authoritative: true,
			Answer: []dns.RR{test.PTR("1.5.0.10.in-addr.arpa. 3600 IN PTR ten.example.org.")}},
		{Qname: name6, Qtype: dns.TypePTR, Authoritative: true,
			Answer: []dns.RR{test.PTR(name6 + " 3600 IN PTR v6.example.org.")}},
		{Qname: "10.2.0.192.in-addr.arpa.", Qtype: dns.TypeANY, Authoritative: true, Answer: []dns.RR{ptr4}},

		// The answer carries the name as asked.
		{Qname: "10.2.0.192.IN-ADDR.ARPA.", Qtype: dns.TypePTR, Authoritative: true,
			Answer: []dns.RR{test.PTR("10.2.0.192.IN-ADDR.ARPA. 3600 IN PTR host.example.org.")}},
		{Qname: strings.ToUpper(name6), Qtype: dns.TypePTR, Authoritative: true,
			Answer: []dns.RR{test.PTR(strings.ToUpper(name6) + " 3600 IN PTR v6.example.org.")}},

		// No record, a disabled one, an invalid one: the name does not exist.
		{Qname: "20.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone4)}},
		{Qname: "13.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone4)}},
		{Qname: "14.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone4)}},
		{Qname: "16.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone4)}},
		{Qname: "17.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone4)}},
		{Qname: "2.5.0.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone16)}},
		{Qname: "6" + name6[1:], Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone6)}},
		{Qname: "20.2.0.192.IN-ADDR.ARPA.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone4)}},

		// Other types at a name with a PTR are NODATA; at a name without
		// one, or whose record is disabled, NXDOMAIN.
		{Qname: "10.2.0.192.in-addr.arpa.", Qtype: dns.TypeA, Authoritative: true, Ns: []dns.RR{negSOA(zone4)}},
		{Qname: "10.2.0.192.in-addr.arpa.", Qtype: dns.TypeTXT, Authoritative: true, Ns: []dns.RR{negSOA(zone4)}},
		{Qname: "10.2.0.192.in-addr.arpa.", Qtype: dns.TypeMX, Authoritative: true, Ns: []dns.RR{negSOA(zone4)}},
		{Qname: name6, Qtype: dns.TypeAAAA, Authoritative: true, Ns: []dns.RR{negSOA(zone6)}},
		{Qname: "20.2.0.192.in-addr.arpa.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone4)}},
		{Qname: "20.2.0.192.in-addr.arpa.", Qtype: dns.TypeTXT, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone4)}},
		{Qname: "20.2.0.192.in-addr.arpa.", Qtype: dns.TypeMX, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone4)}},
		{Qname: "20.2.0.192.in-addr.arpa.", Qtype: dns.TypeANY, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone4)}},
		{Qname: "13.2.0.192.in-addr.arpa.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone4)}},

		// Names above a full address inside a zone are empty non-terminals.
		{Qname: "5.0.10.in-addr.arpa.", Qtype: dns.TypePTR, Authoritative: true, Ns: []dns.RR{negSOA(zone16)}},
		{Qname: "5.0.10.in-addr.arpa.", Qtype: dns.TypeA, Authoritative: true, Ns: []dns.RR{negSOA(zone16)}},
		{Qname: "0.8.b.d.0.1.0.0.2.ip6.arpa.", Qtype: dns.TypePTR, Authoritative: true, Ns: []dns.RR{negSOA(zone6)}},
		{Qname: name6[2:], Qtype: dns.TypePTR, Authoritative: true, Ns: []dns.RR{negSOA(zone6)}},

		// Names that cannot be addresses do not exist.
		{Qname: "256.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone4)}},
		{Qname: "010.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone4)}},
		{Qname: "x.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone4)}},
		{Qname: "1.10.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone4)}},
		{Qname: "www.5.0.10.in-addr.arpa.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone16)}},
		{Qname: "10.8.b.d.0.1.0.0.2.ip6.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone6)}},
		{Qname: "g.8.b.d.0.1.0.0.2.ip6.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone6)}},
		{Qname: "0." + name6, Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone6)}},

		// The apex.
		{Qname: zone4, Qtype: dns.TypeSOA, Authoritative: true, Answer: []dns.RR{
			test.SOA(fmt.Sprintf("%s 3600 IN SOA ns.dns.%[1]s hostmaster.%[1]s %d 7200 3600 1209600 300", zone4, testSerial))}},
		{Qname: "2.0.192.IN-ADDR.ARPA.", Qtype: dns.TypeSOA, Authoritative: true, Answer: []dns.RR{
			test.SOA(fmt.Sprintf("2.0.192.IN-ADDR.ARPA. 3600 IN SOA ns.dns.%s hostmaster.%[1]s %d 7200 3600 1209600 300", zone4, testSerial))}},
		{Qname: zone6, Qtype: dns.TypeSOA, Authoritative: true, Answer: []dns.RR{
			test.SOA(fmt.Sprintf("%s 3600 IN SOA ns.dns.%[1]s hostmaster.%[1]s %d 7200 3600 1209600 300", zone6, testSerial))}},
		{Qname: zone4, Qtype: dns.TypeNS, Authoritative: true, Answer: []dns.RR{test.NS(zone4 + " 3600 IN NS ns.dns." + zone4)}},
		{Qname: "0.10.IN-addr.arpa.", Qtype: dns.TypeNS, Authoritative: true, Answer: []dns.RR{test.NS("0.10.IN-addr.arpa. 3600 IN NS ns.dns." + zone16)}},
		{Qname: zone4, Qtype: dns.TypeA, Authoritative: true, Ns: []dns.RR{negSOA(zone4)}},
		{Qname: zone4, Qtype: dns.TypePTR, Authoritative: true, Ns: []dns.RR{negSOA(zone4)}},
		{Qname: zone16, Qtype: dns.TypeA, Authoritative: true, Ns: []dns.RR{negSOA(zone16)}},
	}
	for _, tc := range tests {
		t.Run(dns.TypeToString[tc.Qtype]+" "+tc.Qname, func(t *testing.T) {
			p := newTestRPTR(newFakeStore())
			serveCase(t, p, tc)
		})
	}
}

// TestServeDNSAnswerTTL checks the TTL of a stored record's answer: the
// plugin's default, the record's own, both capped by the key's remaining
// lifetime.
func TestServeDNSAnswerTTL(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name     string
		rec      ptrstore.Record
		min, max uint32
	}{
		{"default", ptrstore.Record{}, 3600, 3600},
		{"own", ptrstore.Record{TTL: 60, HasTTL: true}, 60, 60},
		{"own zero", ptrstore.Record{TTL: 0, HasTTL: true}, 0, 0},
		{"own above default", ptrstore.Record{TTL: 86400, HasTTL: true}, 86400, 86400},
		{"default capped by expiry", ptrstore.Record{ExpiresAt: now.Add(100 * time.Second)}, 99, 100},
		{"own capped by expiry", ptrstore.Record{TTL: 1000, HasTTL: true, ExpiresAt: now.Add(100 * time.Second)}, 99, 100},
		{"own below expiry", ptrstore.Record{TTL: 30, HasTTL: true, ExpiresAt: now.Add(100 * time.Second)}, 30, 30},
		{"default below expiry", ptrstore.Record{ExpiresAt: now.Add(2 * time.Hour)}, 3600, 3600},
		{"expired", ptrstore.Record{ExpiresAt: now.Add(-5 * time.Second)}, 0, 0},
	}
	const qname = "10.2.0.192.in-addr.arpa."
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.rec.Name = "host.example.org."
			store := &fakeStore{records: map[netip.Addr]ptrstore.Record{netip.MustParseAddr("192.0.2.10"): tc.rec}}
			p := newTestRPTR(store)
			rec := dnstest.NewRecorder(&test.ResponseWriter{})
			m := new(dns.Msg)
			m.SetQuestion(qname, dns.TypePTR)
			if _, err := p.ServeDNS(context.Background(), rec, m); err != nil {
				t.Fatalf("ServeDNS error: %v", err)
			}
			if rec.Msg == nil || rec.Msg.Rcode != dns.RcodeSuccess || len(rec.Msg.Answer) != 1 {
				t.Fatalf("got %v, want one PTR", rec.Msg)
			}
			ptr, ok := rec.Msg.Answer[0].(*dns.PTR)
			if !ok || ptr.Ptr != "host.example.org." || ptr.Hdr.Name != qname {
				t.Fatalf("answer is %v, want %s PTR host.example.org.", rec.Msg.Answer[0], qname)
			}
			if ttl := ptr.Hdr.Ttl; ttl < tc.min || ttl > tc.max {
				t.Errorf("TTL is %d, want %d to %d", ttl, tc.min, tc.max)
			}
		})
	}
}

// serveFallthrough serves qname/qtype with fallthrough f, and returns the
// rcode, the message written and the error.
func serveFallthrough(t *testing.T, f fall.F, qname string, qtype uint16) (int, *dns.Msg, error) {
	t.Helper()
	p := newTestRPTR(newFakeStore())
	p.Fall = f
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	m := new(dns.Msg)
	m.SetQuestion(qname, qtype)
	rcode, err := p.ServeDNS(context.Background(), rec, m)
	return rcode, rec.Msg, err
}

func fallFrom(args ...string) fall.F {
	var f fall.F
	f.SetZonesFromArgs(args)
	return f
}

// TestServeDNSFallthrough checks that exactly the names that do not exist
// go to the next plugin when fallthrough covers them.
func TestServeDNSFallthrough(t *testing.T) {
	tests := []struct {
		name  string
		fall  fall.F
		qname string
		qtype uint16
		next  bool // the query went to the next handler
		rcode int  // otherwise: the rcode of the reply
	}{
		{"no record", fall.Root, "20.2.0.192.in-addr.arpa.", dns.TypePTR, true, 0},
		{"no record, other type", fall.Root, "20.2.0.192.in-addr.arpa.", dns.TypeA, true, 0},
		{"disabled", fall.Root, "13.2.0.192.in-addr.arpa.", dns.TypePTR, true, 0},
		{"invalid", fall.Root, "14.2.0.192.in-addr.arpa.", dns.TypePTR, true, 0},
		{"not an address", fall.Root, "256.2.0.192.in-addr.arpa.", dns.TypePTR, true, 0},
		{"leading zero", fall.Root, "010.2.0.192.in-addr.arpa.", dns.TypePTR, true, 0},
		{"too many labels", fall.Root, "1.10.2.0.192.in-addr.arpa.", dns.TypePTR, true, 0},
		{"ip6 label of two chars", fall.Root, "10.8.b.d.0.1.0.0.2.ip6.arpa.", dns.TypePTR, true, 0},
		{"empty args mean root", fallFrom(), "20.2.0.192.in-addr.arpa.", dns.TypePTR, true, 0},
		{"this zone", fallFrom(zone4), "20.2.0.192.in-addr.arpa.", dns.TypePTR, true, 0},
		{"this zone as CIDR", fallFrom("192.0.2.0/24"), "20.2.0.192.in-addr.arpa.", dns.TypePTR, true, 0},
		{"this zone upper case", fallFrom("2.0.192.IN-ADDR.ARPA."), "20.2.0.192.in-addr.arpa.", dns.TypePTR, true, 0},
		{"name asked in upper case", fallFrom(zone4), "20.2.0.192.IN-ADDR.ARPA.", dns.TypePTR, true, 0},
		{"a parent zone", fallFrom("in-addr.arpa."), "2.5.0.10.in-addr.arpa.", dns.TypePTR, true, 0},
		{"one of several zones", fallFrom(zone16, zone6), "6" + name6[1:], dns.TypePTR, true, 0},

		// Fallthrough limited to other names does not apply.
		{"another zone", fallFrom(zone16), "20.2.0.192.in-addr.arpa.", dns.TypePTR, false, dns.RcodeNameError},
		{"another zone, bad name", fallFrom(zone16), "256.2.0.192.in-addr.arpa.", dns.TypePTR, false, dns.RcodeNameError},
		{"a subzone", fallFrom("5.0.10.in-addr.arpa."), "2.6.0.10.in-addr.arpa.", dns.TypePTR, false, dns.RcodeNameError},
		{"zero", fall.Zero, "20.2.0.192.in-addr.arpa.", dns.TypePTR, false, dns.RcodeNameError},

		// Only a name error falls through.
		{"stored", fall.Root, "10.2.0.192.in-addr.arpa.", dns.TypePTR, false, dns.RcodeSuccess},
		{"other type at stored", fall.Root, "10.2.0.192.in-addr.arpa.", dns.TypeA, false, dns.RcodeSuccess},
		{"partial name", fall.Root, "5.0.10.in-addr.arpa.", dns.TypePTR, false, dns.RcodeSuccess},
		{"apex SOA", fall.Root, zone4, dns.TypeSOA, false, dns.RcodeSuccess},
		{"apex A", fall.Root, zone4, dns.TypeA, false, dns.RcodeSuccess},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rcode, msg, err := serveFallthrough(t, tc.fall, tc.qname, tc.qtype)
			if err != nil {
				t.Fatalf("ServeDNS error: %v", err)
			}
			if tc.next {
				if rcode != dns.RcodeRefused || msg != nil {
					t.Errorf("got rcode %s and reply %v, want the next handler's REFUSED and no reply", dns.RcodeToString[rcode], msg)
				}
				return
			}
			if rcode != dns.RcodeSuccess {
				t.Fatalf("ServeDNS rcode = %s, want NOERROR with a reply", dns.RcodeToString[rcode])
			}
			if msg == nil {
				t.Fatal("no reply written")
			}
			if msg.Rcode != tc.rcode {
				t.Errorf("reply rcode = %s, want %s", dns.RcodeToString[msg.Rcode], dns.RcodeToString[tc.rcode])
			}
			if tc.rcode == dns.RcodeNameError && (len(msg.Ns) != 1 || msg.Ns[0].Header().Rrtype != dns.TypeSOA) {
				t.Errorf("authority = %v, want the SOA", msg.Ns)
			}
		})
	}
}

// TestServeDNSNotOurs checks that queries rptr is not authoritative for go
// to the next plugin untouched, without a lookup.
func TestServeDNSNotOurs(t *testing.T) {
	tests := []struct {
		qname  string
		qtype  uint16
		qclass uint16
	}{
		{"example.org.", dns.TypeA, dns.ClassINET},
		{"3.2.0.198.in-addr.arpa.", dns.TypePTR, dns.ClassINET},
		{"0.192.in-addr.arpa.", dns.TypePTR, dns.ClassINET},       // above a zone
		{"in-addr.arpa.", dns.TypeSOA, dns.ClassINET},             // above every zone
		{"10.2.0.192.in-addr.arpax.", dns.TypePTR, dns.ClassINET}, // not a reverse name
		{"1.0.1.10.in-addr.arpa.", dns.TypePTR, dns.ClassINET},    // 10.1.0.1, outside 10.0.0.0/16
		{"5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.9.b.d.0.1.0.0.2.ip6.arpa.", dns.TypePTR, dns.ClassINET},
		{"10.2.0.192.in-addr.arpa.", dns.TypePTR, dns.ClassCHAOS},
		{"10.2.0.192.in-addr.arpa.", dns.TypeTXT, dns.ClassCHAOS},
		{zone4, dns.TypeSOA, dns.ClassCHAOS},
		{"20.2.0.192.in-addr.arpa.", dns.TypePTR, dns.ClassHESIOD},
	}
	for _, tc := range tests {
		t.Run(dns.ClassToString[tc.qclass]+" "+dns.TypeToString[tc.qtype]+" "+tc.qname, func(t *testing.T) {
			store := newFakeStore()
			p := newTestRPTR(store)
			p.Fall = fall.Zero
			rec := dnstest.NewRecorder(&test.ResponseWriter{})
			m := new(dns.Msg)
			m.SetQuestion(tc.qname, tc.qtype)
			m.Question[0].Qclass = tc.qclass
			rcode, err := p.ServeDNS(context.Background(), rec, m)
			if err != nil {
				t.Fatalf("ServeDNS error: %v", err)
			}
			if rcode != dns.RcodeRefused || rec.Msg != nil {
				t.Errorf("got rcode %s and reply %v, want the next handler's REFUSED and no reply", dns.RcodeToString[rcode], rec.Msg)
			}
			if store.lookups != 0 {
				t.Errorf("store looked up %v, want no lookup", store.last)
			}
		})
	}
}

// TestServeDNSStoreError checks that a failing backend gives SERVFAIL with an
// error and writes nothing, with or without fallthrough: it must never look
// like a name that does not exist.
func TestServeDNSStoreError(t *testing.T) {
	a := netip.MustParseAddr("192.0.2.10")
	tests := []struct {
		name  string
		err   error
		qtype uint16
		fall  fall.F
	}{
		{"generic", errRedis, dns.TypePTR, fall.F{}},
		{"generic, other type", errRedis, dns.TypeA, fall.F{}},
		{"generic, ANY", errRedis, dns.TypeANY, fall.F{}},
		{"generic, fallthrough", errRedis, dns.TypePTR, fall.Root},
		{"wrapped", fmt.Errorf("redis: %w", errRedis), dns.TypePTR, fall.F{}},
		{"deadline", context.DeadlineExceeded, dns.TypePTR, fall.Root},
		{"canceled", context.Canceled, dns.TypePTR, fall.F{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := &fakeStore{
				records: map[netip.Addr]ptrstore.Record{a: {Name: "host.example.org."}},
				errs:    map[netip.Addr]error{a: tc.err},
			}
			p := newTestRPTR(store)
			p.Fall = tc.fall
			rec := dnstest.NewRecorder(&test.ResponseWriter{})
			m := new(dns.Msg)
			m.SetQuestion("10.2.0.192.in-addr.arpa.", tc.qtype)
			rcode, err := p.ServeDNS(context.Background(), rec, m)
			if rcode != dns.RcodeServerFailure {
				t.Errorf("rcode = %s, want SERVFAIL", dns.RcodeToString[rcode])
			}
			if err == nil {
				t.Error("error is nil, want the store's error")
			} else if !errors.Is(err, tc.err) {
				t.Errorf("error %v does not wrap the store's error %v", err, tc.err)
			}
			if rec.Msg != nil {
				t.Errorf("reply written: %v, want none (the server writes SERVFAIL)", rec.Msg)
			}
		})
	}
}

// TestServeDNSLookups checks when the store is asked: only for full
// addresses inside a zone, once.
func TestServeDNSLookups(t *testing.T) {
	tests := []struct {
		qname  string
		qtype  uint16
		lookup string // the address looked up; "" for none
	}{
		{"10.2.0.192.in-addr.arpa.", dns.TypePTR, "192.0.2.10"},
		{"10.2.0.192.IN-ADDR.ARPA.", dns.TypePTR, "192.0.2.10"},
		{"10.2.0.192.in-addr.arpa.", dns.TypeA, "192.0.2.10"},
		{"20.2.0.192.in-addr.arpa.", dns.TypePTR, "192.0.2.20"},
		{"0.0.0.10.in-addr.arpa.", dns.TypePTR, "10.0.0.0"},
		{name6, dns.TypePTR, "2001:db8::25"},
		{strings.ToUpper(name6), dns.TypePTR, "2001:db8::25"},
		{"5.0.10.in-addr.arpa.", dns.TypePTR, ""},
		{"5.0.10.in-addr.arpa.", dns.TypeA, ""},
		{name6[2:], dns.TypePTR, ""},
		{zone4, dns.TypeSOA, ""},
		{zone4, dns.TypeNS, ""},
		{zone4, dns.TypePTR, ""},
		{"256.2.0.192.in-addr.arpa.", dns.TypePTR, ""},
		{"1.10.2.0.192.in-addr.arpa.", dns.TypePTR, ""},
		{"example.org.", dns.TypeA, ""},
		{"3.2.0.198.in-addr.arpa.", dns.TypePTR, ""},
	}
	for _, tc := range tests {
		t.Run(dns.TypeToString[tc.qtype]+" "+tc.qname, func(t *testing.T) {
			store := newFakeStore()
			p := newTestRPTR(store)
			rec := dnstest.NewRecorder(&test.ResponseWriter{})
			m := new(dns.Msg)
			m.SetQuestion(tc.qname, tc.qtype)
			if _, err := p.ServeDNS(context.Background(), rec, m); err != nil {
				t.Fatalf("ServeDNS error: %v", err)
			}
			switch {
			case tc.lookup == "" && store.lookups != 0:
				t.Errorf("store looked up %v, want no lookup", store.last)
			case tc.lookup != "" && (store.lookups != 1 || store.last != netip.MustParseAddr(tc.lookup)):
				t.Errorf("store made %d lookups, the last of %v; want one of %s", store.lookups, store.last, tc.lookup)
			}
		})
	}
}

// counterValue reads a counter. (prometheus/testutil would need a module
// this one does not require.)
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestServeDNSMetrics checks the counters a query moves. The server label is
// empty outside a running server.
func TestServeDNSMetrics(t *testing.T) {
	counters := map[string]prometheus.Counter{
		"invalid":     invalidRecords.WithLabelValues(""),
		"stored":      requestCount.WithLabelValues("", zone4, resultStored),
		"nxdomain":    requestCount.WithLabelValues("", zone4, resultNXDomain),
		"nodata":      requestCount.WithLabelValues("", zone4, resultNoData),
		"apex":        requestCount.WithLabelValues("", zone4, resultApex),
		"fallthrough": requestCount.WithLabelValues("", zone4, resultFallthrough),
		"error":       requestCount.WithLabelValues("", zone4, resultError),
	}
	tests := []struct {
		name  string
		qname string
		qtype uint16
		fall  fall.F
		moved []string // the counters that go up by one; the others stay
	}{
		{"stored", "10.2.0.192.in-addr.arpa.", dns.TypePTR, fall.F{}, []string{"stored"}},
		{"no record", "20.2.0.192.in-addr.arpa.", dns.TypePTR, fall.F{}, []string{"nxdomain"}},
		{"invalid", "14.2.0.192.in-addr.arpa.", dns.TypePTR, fall.F{}, []string{"invalid", "nxdomain"}},
		{"wrapped invalid", "17.2.0.192.in-addr.arpa.", dns.TypePTR, fall.F{}, []string{"invalid", "nxdomain"}},
		{"invalid, fallthrough", "14.2.0.192.in-addr.arpa.", dns.TypePTR, fall.Root, []string{"invalid", "fallthrough"}},
		{"store error", "15.2.0.192.in-addr.arpa.", dns.TypePTR, fall.F{}, []string{"error"}},
		{"nodata", "10.2.0.192.in-addr.arpa.", dns.TypeA, fall.F{}, []string{"nodata"}},
		{"apex", zone4, dns.TypeSOA, fall.F{}, []string{"apex"}},
		{"not ours", "example.org.", dns.TypeA, fall.F{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := map[string]float64{}
			for name, c := range counters {
				before[name] = counterValue(t, c)
			}
			p := newTestRPTR(newFakeStore())
			p.Fall = tc.fall
			m := new(dns.Msg)
			m.SetQuestion(tc.qname, tc.qtype)
			p.ServeDNS(context.Background(), dnstest.NewRecorder(&test.ResponseWriter{}), m)
			for name, c := range counters {
				want := before[name]
				if slices.Contains(tc.moved, name) {
					want++
				}
				if got := counterValue(t, c); got != want {
					t.Errorf("counter %s = %v, want %v", name, got, want)
				}
			}
		})
	}
}

func BenchmarkServeDNSHit(b *testing.B) {
	p := newTestRPTR(newFakeStore())
	ctx := context.Background()
	w := &test.ResponseWriter{}
	m := new(dns.Msg)
	m.SetQuestion("10.2.0.192.in-addr.arpa.", dns.TypePTR)
	b.ReportAllocs()
	for b.Loop() {
		if rcode, err := p.ServeDNS(ctx, w, m); rcode != dns.RcodeSuccess || err != nil {
			b.Fatalf("ServeDNS = %d, %v", rcode, err)
		}
	}
}

// serveCase sends tc's query to p and checks the reply against tc. The rcode
// ServeDNS returns is NOERROR whenever it wrote a reply; the reply carries
// the real one.
func serveCase(t *testing.T, p *RPTR, tc test.Case) {
	t.Helper()
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	rcode, err := p.ServeDNS(context.Background(), rec, tc.Msg())
	if err != nil {
		t.Fatalf("ServeDNS error: %v", err)
	}
	if rcode != dns.RcodeSuccess {
		t.Errorf("ServeDNS rcode = %s, want NOERROR (the reply carries the real one)", dns.RcodeToString[rcode])
	}
	if err := checkResponse(rec.Msg, tc); err != nil {
		t.Error(err)
	}
}
