package main

import (
	"encoding/json"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// fakeDNS is a DNS server on loopback that answers from a table: the
// records of each query name (of the type asked, and CNAMEs, whatever
// their owner, so that a reply can carry a chain), NXDOMAIN for names not
// in the table.
type fakeDNS struct {
	addr string

	answers  map[string][]dns.RR
	rcode    map[string]int  // names answered with this rcode
	drop     map[string]bool // names never answered
	truncate map[string]bool // names answered over UDP with TC and nothing else
	dropAll  bool            // answer nothing
}

// newFakeDNS starts a fakeDNS with the answers of zone, lines of a query
// name and an RR, after config has set it up.
func newFakeDNS(t *testing.T, zone []string, config func(f *fakeDNS)) *fakeDNS {
	t.Helper()
	f := &fakeDNS{answers: map[string][]dns.RR{}, rcode: map[string]int{}, drop: map[string]bool{}, truncate: map[string]bool{}}
	for _, line := range zone {
		// "QNAME RR": the RR is in the answer to QNAME.
		qname, text, _ := strings.Cut(line, " ")
		rr, err := dns.NewRR(text)
		if err != nil {
			t.Fatal(err)
		}
		f.answers[dns.CanonicalName(qname)] = append(f.answers[dns.CanonicalName(qname)], rr)
	}
	if config != nil {
		config(f)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	f.addr = pc.LocalAddr().String()
	udp := &dns.Server{PacketConn: pc, Handler: f}
	tcp := &dns.Server{Listener: l, Handler: f}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	t.Cleanup(func() { udp.Shutdown(); tcp.Shutdown() })
	return f
}

func (f *fakeDNS) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	q := r.Question[0]
	name := dns.CanonicalName(q.Name)
	if f.dropAll || f.drop[name] {
		return
	}
	m := new(dns.Msg)
	m.SetReply(r)
	rrs, ok := f.answers[name]
	switch {
	case f.rcode[name] != 0:
		m.Rcode = f.rcode[name]
	case f.truncate[name] && w.LocalAddr().Network() == "udp":
		m.Truncated = true
	case !ok:
		m.Rcode = dns.RcodeNameError
	default:
		for _, rr := range rrs {
			if t := rr.Header().Rrtype; t == q.Qtype || t == dns.TypeCNAME {
				m.Answer = append(m.Answer, rr)
			}
		}
	}
	w.WriteMsg(m)
}

// fakeZone is the table of TestCheck: every way an address passes or fails.
var fakeZone = []string{
	// Passes.
	"10.2.0.192.in-addr.arpa. 10.2.0.192.in-addr.arpa. 60 IN PTR mail.example.com.",
	"mail.example.com. mail.example.com. 60 IN A 192.0.2.10",
	"mail.example.com. mail.example.com. 60 IN AAAA 2001:db8::10",
	"0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 60 IN PTR mail.example.com.",
	"5.2.0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 5.2.0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 60 IN PTR mx6.example.com.",
	"mx6.example.com. mx6.example.com. 60 IN AAAA 2001:db8::1:0:0:0:2025",
	"mx6.example.com. mx6.example.com. 60 IN AAAA 2001:db8::2025",
	// Two names, the first does not resolve back, the second does.
	"11.2.0.192.in-addr.arpa. 11.2.0.192.in-addr.arpa. 60 IN PTR other.example.com.",
	"11.2.0.192.in-addr.arpa. 11.2.0.192.in-addr.arpa. 60 IN PTR host11.example.com.",
	"other.example.com. other.example.com. 60 IN A 192.0.2.99",
	"host11.example.com. host11.example.com. 60 IN A 192.0.2.11",
	// RFC 2317: the parent's CNAME alone, then the classless zone's PTR.
	"20.2.0.192.in-addr.arpa. 20.2.0.192.in-addr.arpa. 60 IN CNAME 20.0/25.2.0.192.in-addr.arpa.",
	"20.0/25.2.0.192.in-addr.arpa. 20.0/25.2.0.192.in-addr.arpa. 60 IN PTR alias.example.com.",
	// A resolver's answer: the chain and the address in one reply.
	"alias.example.com. alias.example.com. 60 IN CNAME host20.example.net.",
	"alias.example.com. host20.example.net. 60 IN A 192.0.2.20",
	// Truncated over UDP: asked again over TCP.
	"21.2.0.192.in-addr.arpa. 21.2.0.192.in-addr.arpa. 60 IN PTR big.example.com.",
	"big.example.com. big.example.com. 60 IN A 192.0.2.21",

	// Fails.
	"30.2.0.192.in-addr.arpa. 30.2.0.192.in-addr.arpa. 60 IN PTR nowhere.example.com.",
	"31.2.0.192.in-addr.arpa. 31.2.0.192.in-addr.arpa. 60 IN PTR elsewhere.example.com.",
	"elsewhere.example.com. elsewhere.example.com. 60 IN A 192.0.2.99",
	"32.2.0.192.in-addr.arpa. 32.2.0.192.in-addr.arpa. 60 IN TXT \"no PTR here\"",
	"33.2.0.192.in-addr.arpa. 33.2.0.192.in-addr.arpa. 60 IN PTR v6only.example.com.",
	"v6only.example.com. v6only.example.com. 60 IN AAAA 2001:db8::33",
	"35.2.0.192.in-addr.arpa. 35.2.0.192.in-addr.arpa. 60 IN PTR slow.example.com.",
	"36.2.0.192.in-addr.arpa. 36.2.0.192.in-addr.arpa. 60 IN PTR broken.example.com.",
	"37.2.0.192.in-addr.arpa. 37.2.0.192.in-addr.arpa. 60 IN PTR a.example.com.",
	"37.2.0.192.in-addr.arpa. 37.2.0.192.in-addr.arpa. 60 IN PTR b.example.com.",
	"a.example.com. a.example.com. 60 IN A 192.0.2.1",
}

func startFakeZone(t *testing.T) *fakeDNS {
	return newFakeDNS(t, fakeZone, func(f *fakeDNS) {
		f.truncate["21.2.0.192.in-addr.arpa."] = true
		f.rcode["34.2.0.192.in-addr.arpa."] = dns.RcodeServerFailure
		f.drop["slow.example.com."] = true
		f.rcode["broken.example.com."] = dns.RcodeRefused
	})
}

func TestCheck(t *testing.T) {
	e := newEnv(t)
	f := startFakeZone(t)
	cases := []struct {
		addr, result string
	}{
		{"192.0.2.10", "pass\tmail.example.com."},
		{"2001:db8::10", "pass\tmail.example.com."},
		{"2001:0db8::2025", "pass\tmx6.example.com."},
		{"192.0.2.11", "pass\thost11.example.com."},
		{"192.0.2.20", "pass\talias.example.com."},
		{"192.0.2.21", "pass\tbig.example.com."},
		{"192.0.2.30", "fail\tnowhere.example.com. has no A (NXDOMAIN)"},
		{"192.0.2.31", "fail\telsewhere.example.com. resolves to [192.0.2.99], not 192.0.2.31"},
		{"192.0.2.32", "fail\tno PTR (NODATA)"},
		{"192.0.2.33", "fail\tv6only.example.com. has no A (NODATA)"},
		{"192.0.2.34", "fail\tPTR query answered SERVFAIL"},
		{"192.0.2.35", "fail\tslow.example.com.: A query: no reply (timed out)"},
		{"192.0.2.36", "fail\tbroken.example.com.: A query answered REFUSED"},
		{"192.0.2.37", "fail\ta.example.com. resolves to [192.0.2.1], not 192.0.2.37; b.example.com. has no A (NXDOMAIN)"},
		{"192.0.2.38", "fail\tno PTR (NXDOMAIN)"},
		{"2001:db8::38", "fail\tno PTR (NXDOMAIN)"},
	}
	for _, tc := range cases {
		t.Run(tc.addr, func(t *testing.T) {
			out, errOut, code := e.ctl("", "check", tc.addr, "--server", f.addr, "--query-timeout", "100ms")
			want := netip.MustParseAddr(tc.addr).Unmap().String() + "\t" + tc.result + "\n"
			wantCode := exitOK
			if strings.HasPrefix(tc.result, "fail") {
				wantCode = exitProblems
			}
			if out != want || code != wantCode {
				t.Errorf("got exit %d, %q; want exit %d, %q\nstderr: %s", code, out, wantCode, want, errOut)
			}
			if !strings.Contains(errOut, "checked 1 address at "+f.addr) {
				t.Errorf("no summary on stderr: %q", errOut)
			}
		})
	}

	// All at once, concurrently: the same lines, in input order.
	args := []string{"check", "--server", f.addr, "--query-timeout", "100ms", "--concurrency", "4"}
	var want strings.Builder
	for _, tc := range cases {
		args = append(args, tc.addr)
		want.WriteString(netip.MustParseAddr(tc.addr).Unmap().String() + "\t" + tc.result + "\n")
	}
	out, errOut, code := e.ctl("", args...)
	if out != want.String() || code != exitProblems {
		t.Errorf("all at once: exit %d\n%s\nwant\n%s", code, out, want.String())
	}
	if !strings.Contains(errOut, "6 pass, 10 fail") {
		t.Errorf("summary: %q", errOut)
	}

	// --json: one object per address, in the same order.
	out, _, code = e.ctl("", append(args, "--json")...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != exitProblems || len(lines) != len(cases) {
		t.Fatalf("--json: exit %d, %d lines:\n%s", code, len(lines), out)
	}
	for i, l := range lines {
		var r checkResult
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("--json line %q: %v", l, err)
		}
		pass := strings.HasPrefix(cases[i].result, "pass")
		if r.Addr != netip.MustParseAddr(cases[i].addr).Unmap() || r.Pass != pass || (pass && r.Name == "") || (!pass && r.Reason == "") {
			t.Errorf("--json line %q for %s", l, cases[i].addr)
		}
	}
	var r checkResult
	json.Unmarshal([]byte(lines[3]), &r) // 192.0.2.11: two names, the second confirms
	if !slices.Equal(r.PTR, []string{"other.example.com.", "host11.example.com."}) || len(r.Forward) != 2 ||
		r.Forward[0].Error == "" || !slices.Equal(r.Forward[0].Addrs, []netip.Addr{netip.MustParseAddr("192.0.2.99")}) || r.Forward[1].Error != "" {
		t.Errorf("--json of 192.0.2.11: %s", lines[3])
	}
}

func TestCheckUsage(t *testing.T) {
	e := newEnv(t)
	f := newFakeDNS(t, nil, nil)
	for _, args := range [][]string{
		{},
		{"not-an-ip"},
		{"192.0.2.1", "--sample", "5"},
		{"--cidr", "10.0.0.0/8"},
		{"--cidr", "2001:db8::/64"},
		{"--cidr", "10.0.0.1/8", "--sample", "5"},
		{"--cidr", "192.0.2.0/24", "--sample", "257"},
		{"--cidr", "192.0.2.0/24", "--sample", "-1"},
		{"--cidr", "10.0.0.0/8", "--sample", "2000000"},
		{"192.0.2.1", "--concurrency", "0"},
		{"192.0.2.1", "--query-timeout", "0s"},
		{"192.0.2.1", "--tries", "0"},
	} {
		out, errOut, code := e.ctl("", append([]string{"check", "--server", f.addr}, args...)...)
		if code != exitUsage || out != "" || errOut == "" {
			t.Errorf("check %v: exit %d, %q, %q", args, code, out, errOut)
		}
	}
}

// TestCheckUnreachable: a server that does not answer at all ends the run
// with exit 3 after the first address's tries, whatever the number of
// addresses.
func TestCheckUnreachable(t *testing.T) {
	e := newEnv(t)
	f := newFakeDNS(t, nil, func(f *fakeDNS) { f.dropAll = true })
	closed := closedUDPPort(t)
	for _, c := range []struct{ server, reason string }{
		{f.addr, "no reply (timed out)"},
		{closed, "no reply (connection refused)"},
	} {
		start := time.Now()
		out, errOut, code := e.ctl("", "check", "--server", c.server, "--query-timeout", "200ms", "--cidr", "192.0.2.0/24")
		if code != exitFailure || out != "" || !strings.Contains(errOut, c.reason) || !strings.Contains(errOut, "nothing checked") {
			t.Errorf("%s: exit %d, %q, %q", c.server, code, out, errOut)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: took %v", c.server, d)
		}
	}
}

// TestCheckServerGone: a server that stops answering mid-run ends it with
// exit 3 after silentRun addresses in a row got no reply.
func TestCheckServerGone(t *testing.T) {
	e := newEnv(t)
	var zone []string
	for i := range 256 {
		rev := netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})
		zone = append(zone, reverseName(rev)+" "+reverseName(rev)+" 60 IN PTR dyn.example.com.")
	}
	// The first address is answered, then nothing.
	f := newFakeDNS(t, zone, func(f *fakeDNS) {
		f.drop["dyn.example.com."] = true
		for i := 1; i < 256; i++ {
			f.drop[reverseName(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}))] = true
		}
	})
	out, errOut, code := e.ctl("", "check", "--server", f.addr, "--query-timeout", "50ms", "--tries", "1", "--cidr", "192.0.2.0/24")
	if code != exitFailure || !strings.Contains(errOut, "stopped answering") {
		t.Errorf("exit %d, %q", code, errOut)
	}
	if !strings.HasPrefix(out, "192.0.2.0\tfail\tdyn.example.com.: A query: no reply (timed out)\n") || strings.Count(out, "\n") >= 256 {
		t.Errorf("output:\n%s", out)
	}
}

// closedUDPPort returns a loopback address where nothing listens.
func closedUDPPort(t *testing.T) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

func TestCIDRAddrs(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		cidr string
		n    int
		want int
	}{
		{"192.0.2.0/24", 0, 256},
		{"192.0.2.0/24", 10, 10},
		{"192.0.2.0/24", 200, 200},
		{"192.0.2.0/24", 256, 256},
		{"192.0.2.7/32", 1, 1},
		{"10.0.0.0/16", 0, 65536},
		{"10.0.0.0/8", 1000, 1000},
		{"0.0.0.0/0", 100, 100},
		{"2001:db8::/120", 0, 256},
		{"2001:db8::/64", 1000, 1000},
		{"2001:db8::fff0/124", 16, 16},
		{"::/0", 100, 100},
	} {
		p := netip.MustParsePrefix(c.cidr)
		got, err := cidrAddrs(p, c.n, rnd)
		if err != nil || len(got) != c.want {
			t.Errorf("%s sample %d: %d addresses, %v", c.cidr, c.n, len(got), err)
			continue
		}
		for i, a := range got {
			if !p.Contains(a) || (i > 0 && got[i-1].Compare(a) >= 0) {
				t.Errorf("%s sample %d: %v not in order, distinct and inside", c.cidr, c.n, got[max(0, i-1):i+1])
				break
			}
		}
		if c.n == 0 && (got[0] != p.Addr() || got[len(got)-1] != netipLast(p)) {
			t.Errorf("%s: from %s to %s", c.cidr, got[0], got[len(got)-1])
		}
	}
	for _, c := range []struct {
		cidr string
		n    int
	}{{"10.0.0.0/15", 0}, {"2001:db8::/64", 0}, {"192.0.2.0/30", 5}} {
		if _, err := cidrAddrs(netip.MustParsePrefix(c.cidr), c.n, rnd); err == nil {
			t.Errorf("%s sample %d: no error", c.cidr, c.n)
		}
	}
}

// netipLast is the last address of p.
func netipLast(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := range b {
		hostBits := max(0, min(8, (i+1)*8-p.Bits()))
		b[i] |= byte(1<<hostBits - 1)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func TestCheckTargets(t *testing.T) {
	got, err := checkTargets([]string{"192.0.2.9", "::ffff:192.0.2.1", "192.0.2.1", "2001:db8::1"}, []string{"192.0.2.0/30", "2001:db8::/127"}, 0, rand.New(rand.NewPCG(1, 2)))
	want := "[192.0.2.9 192.0.2.1 2001:db8::1 192.0.2.0 192.0.2.2 192.0.2.3 2001:db8::]"
	if err != nil || fmtAddrs(got) != want {
		t.Errorf("got %v, %v; want %s", got, err, want)
	}
}

func fmtAddrs(addrs []netip.Addr) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}
