package test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/rptr-dns/rptr/internal/corednstest"
)

// ctlCorefile serves stored PTRs of 10.0.0.0/8 and 2001:db8::/32,
// synthesized names for 10.1.0.0/16 and 2001:db8:1::/48, and the forward
// zone example.com. from a file, so that rptrctl check and set --verify
// run the whole FCrDNS path through one server.
const ctlCorefile = `.:{dns} {
    rptr 10.0.0.0/8 2001:db8::/32 {
        redis %s
        prefix %s
        synthesize ip-{ip}.dyn.example.com. 10.1.0.0/16 2001:db8:1::/48
    }
    file %s example.com.
}
`

const ctlForwardZone = `$ORIGIN example.com.
@         3600 IN SOA   ns.example.com. hostmaster.example.com. 1 7200 3600 1209600 60
@         3600 IN NS    ns.example.com.
mail      3600 IN A     10.0.0.1
mail      3600 IN AAAA  2001:db8::1
elsewhere 3600 IN A     10.9.9.9
elsewhere 3600 IN AAAA  2001:db8::99
v6only    3600 IN AAAA  2001:db8::6
alias     3600 IN CNAME host7.example.com.
host7     3600 IN A     10.0.0.7
web       3600 IN A     10.0.0.60
web       3600 IN AAAA  2001:db8::60
`

// rptrctlBinary is the real rptrctl binary, built once for the tests
// that run it.
var rptrctlBinary struct {
	once sync.Once
	path string
	err  error
}

// buildRptrctl returns the rptrctl binary, building it on first use.
func buildRptrctl(t *testing.T) string {
	t.Helper()
	b := &rptrctlBinary
	b.once.Do(func() {
		// Stat rptrctl's sources so that go test's cache knows this
		// test depends on them: the test binary does not import a main
		// package.
		srcs, _ := filepath.Glob("../cmd/rptrctl/*.go")
		for _, f := range srcs {
			os.Stat(f)
		}
		b.path = filepath.Join(buildDir, "rptrctl")
		cmd := exec.Command("go", "build", "-o", b.path, "github.com/rptr-dns/rptr/cmd/rptrctl")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("building rptrctl: %v\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// silentCorefile is a server that answers nothing but the readiness
// probe of corednstest (a name under invalid.): every question rptrctl
// asks is dropped, as by a server that is down behind a firewall.
const silentCorefile = `invalid:{dns} {
    template ANY ANY {
        rcode NXDOMAIN
    }
}
.:{dns} {
    erratic {
        drop 1
    }
}
`

// checkJSON is a line of rptrctl check --json.
type checkJSON struct {
	Addr    string   `json:"addr"`
	Pass    bool     `json:"pass"`
	Name    string   `json:"name"`
	Reason  string   `json:"reason"`
	PTR     []string `json:"ptr"`
	Forward []struct {
		Name  string   `json:"name"`
		Addrs []string `json:"addrs"`
		Error string   `json:"error"`
	} `json:"forward"`
}

// ctlRun is one run of the rptrctl binary.
type ctlRun struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

// rptrctl runs bin with args, with the test's Redis and prefix, and fails
// the test when it does not exit within a minute.
func rptrctl(t *testing.T, bin, prefix string, args ...string) ctlRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--redis", rdb.URL(0), "--prefix", prefix}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	r := ctlRun{stdout: out.String(), stderr: errOut.String(), took: time.Since(start)}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && ctx.Err() == nil:
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("rptrctl %s: %v\nstderr: %s", strings.Join(args, " "), err, r.stderr)
	}
	return r
}

// must fails the test unless the run exited with code.
func (r ctlRun) must(t *testing.T, code int, what string) ctlRun {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", what, r.code, code, r.stdout, r.stderr)
	}
	return r
}

// TestRptrctl runs the real rptrctl binary against the real custom CoreDNS
// binary: check, and set --verify.
func TestRptrctl(t *testing.T) {
	dir := t.TempDir()
	bin := buildRptrctl(t)
	zone := filepath.Join(dir, "example.com.db")
	if err := os.WriteFile(zone, []byte(ctlForwardZone), 0o644); err != nil {
		t.Fatal(err)
	}
	prefix := prefixFor(t)
	s := corednstest.Start(t, coredns, fmt.Sprintf(ctlCorefile, rdb.URL(0), prefix, zone))
	c := rdb.Client(0)
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	for ip, name := range map[string]string{
		"10.0.0.1":      "mail.example.com.",
		"10.0.0.2":      "noaddr.example.com.",
		"10.0.0.3":      "elsewhere.example.com.",
		"10.0.0.6":      "v6only.example.com.",
		"10.0.0.7":      "alias.example.com.",
		"10.1.0.5":      "mail.example.com.", // stored wins over synthesized, and must confirm itself
		"2001:db8::1":   "mail.example.com.",
		"2001:db8::2":   "noaddr.example.com.",
		"2001:db8::3":   "elsewhere.example.com.",
		"2001:db8:1::5": "mail.example.com.",
	} {
		if err := c.Set(ctx, prefix+"ptr:"+ip, name, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	ctl := func(t *testing.T, args ...string) ctlRun {
		t.Helper()
		return rptrctl(t, bin, prefix, args...)
	}

	t.Run("check", func(t *testing.T) {
		cases := []struct{ addr, result string }{
			{"10.0.0.1", "pass\tmail.example.com."},
			{"10.0.0.2", "fail\tnoaddr.example.com. has no A (NXDOMAIN)"},
			{"10.0.0.3", "fail\telsewhere.example.com. resolves to [10.9.9.9], not 10.0.0.3"},
			{"10.0.0.4", "fail\tno PTR (NXDOMAIN)"},
			{"10.0.0.6", "fail\tv6only.example.com. has no A (NODATA)"},
			{"10.0.0.7", "pass\talias.example.com."},
			{"10.1.2.3", "pass\tip-10-1-2-3.dyn.example.com."},
			{"10.1.0.5", "fail\tmail.example.com. resolves to [10.0.0.1], not 10.1.0.5"},
			{"10.1.255.255", "pass\tip-10-1-255-255.dyn.example.com."},
			{"2001:db8::1", "pass\tmail.example.com."},
			{"2001:db8::2", "fail\tnoaddr.example.com. has no AAAA (NXDOMAIN)"},
			{"2001:db8::3", "fail\telsewhere.example.com. resolves to [2001:db8::99], not 2001:db8::3"},
			{"2001:db8::4", "fail\tno PTR (NXDOMAIN)"},
			{"2001:db8:1::25", "pass\tip-2001-db8-1--25.dyn.example.com."},
			{"2001:db8:1::5", "fail\tmail.example.com. resolves to [2001:db8::1], not 2001:db8:1::5"},
		}
		args := []string{"check", "--server", s.Addr}
		var want strings.Builder
		for _, tc := range cases {
			args = append(args, tc.addr)
			fmt.Fprintf(&want, "%s\t%s\n", tc.addr, tc.result)
		}
		r := ctl(t, args...).must(t, 1, "check")
		if r.stdout != want.String() {
			t.Errorf("check:\n%s\nwant:\n%s", r.stdout, want.String())
		}
		if !strings.Contains(r.stderr, "checked 15 addresses at "+s.Addr) || !strings.Contains(r.stderr, "6 pass, 9 fail") {
			t.Errorf("summary: %q", r.stderr)
		}

		// Each address alone: its line and its exit code.
		for _, tc := range cases {
			code := 0
			if strings.HasPrefix(tc.result, "fail") {
				code = 1
			}
			r := ctl(t, "check", "--server", s.Addr, tc.addr).must(t, code, tc.addr)
			if r.stdout != tc.addr+"\t"+tc.result+"\n" {
				t.Errorf("check %s: %q", tc.addr, r.stdout)
			}
		}

		// --json: one object per address, in the same order.
		r = ctl(t, append(args, "--json")...).must(t, 1, "check --json")
		for _, j := range jsonChecks(t, r.stdout, cases) {
			if j.Pass && (len(j.Forward) != 1 || len(j.Forward[0].Addrs) == 0 || j.PTR[0] != j.Name) {
				t.Errorf("--json of %s: no forward detail: %+v", j.Addr, j)
			}
		}
	})

	t.Run("sample", func(t *testing.T) {
		for _, cidr := range []string{"10.1.0.0/16", "2001:db8:1::/48"} {
			r := ctl(t, "check", "--server", s.Addr, "--cidr", cidr, "--sample", "50").must(t, 0, "sample of "+cidr)
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			seen := map[string]bool{}
			for _, l := range lines {
				f := strings.Split(l, "\t")
				if len(f) != 3 || f[1] != "pass" || !strings.HasPrefix(f[2], "ip-") || !strings.HasSuffix(f[2], ".dyn.example.com.") || seen[f[0]] {
					t.Errorf("%s: line %q", cidr, l)
				}
				seen[f[0]] = true
			}
			if len(seen) != 50 || !strings.Contains(r.stderr, "50 pass, 0 fail") {
				t.Errorf("%s: %d addresses; %s", cidr, len(seen), r.stderr)
			}
		}
		// A whole small CIDR, stored and missing records mixed: 10.0.0.0/29.
		r := ctl(t, "check", "--server", s.Addr, "--cidr", "10.0.0.0/29").must(t, 1, "whole /29")
		if n := strings.Count(r.stdout, "\n"); n != 8 || !strings.HasPrefix(r.stdout, "10.0.0.0\tfail\tno PTR (NXDOMAIN)\n10.0.0.1\tpass\t") {
			t.Errorf("whole /29:\n%s", r.stdout)
		}
		// A CIDR too large to check whole is refused.
		r = ctl(t, "check", "--server", s.Addr, "--cidr", "10.0.0.0/8").must(t, 2, "whole /8")
		if r.stdout != "" || !strings.Contains(r.stderr, "--sample") {
			t.Errorf("whole /8: %q %q", r.stdout, r.stderr)
		}
	})

	t.Run("unreachable", func(t *testing.T) {
		// A server that drops every question lets every try time out; a
		// closed port refuses at once. The silent server starts first,
		// so that the free port found is not its own.
		silent := corednstest.Start(t, coredns, silentCorefile)
		port, err := corednstest.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		closed := fmt.Sprintf("127.0.0.1:%d", port)
		for _, tc := range []struct {
			name, server, reason string
			within               time.Duration
		}{
			{"closed", closed, "no reply (connection refused)", 5 * time.Second},
			// The default timeouts: 2 tries of 2 s.
			{"silent", silent.Addr, "no reply (timed out)", 8 * time.Second},
		} {
			t.Run(tc.name+"/check", func(t *testing.T) {
				t.Parallel()
				r := ctl(t, "check", "--server", tc.server, "--cidr", "10.1.0.0/16", "--sample", "1000").must(t, 3, "check at "+tc.server)
				if r.stdout != "" || !strings.Contains(r.stderr, tc.reason) || !strings.Contains(r.stderr, "nothing checked") || r.took > tc.within {
					t.Errorf("check at %s: %q, took %v", tc.server, r.stderr, r.took)
				}
			})
			t.Run(tc.name+"/set", func(t *testing.T) {
				t.Parallel()
				ip := map[string]string{"closed": "10.0.0.70", "silent": "10.0.0.71"}[tc.name]
				r := ctl(t, "set", ip, "web.example.com", "--verify", "--server", tc.server).must(t, 3, "set --verify at "+tc.server)
				if !strings.Contains(r.stderr, "not written") || !strings.Contains(r.stderr, tc.reason) || r.took > tc.within {
					t.Errorf("set --verify at %s: %q, took %v", tc.server, r.stderr, r.took)
				}
				if n, _ := c.Exists(ctx, prefix+"ptr:"+ip).Result(); n != 0 {
					t.Errorf("set --verify at %s wrote the record", tc.server)
				}
			})
		}
	})

	t.Run("set --verify", func(t *testing.T) {
		refused := []struct{ ip, name, reason string }{
			{"10.0.0.50", "mail.example.com", "not written: mail.example.com. resolves to [10.0.0.1], not 10.0.0.50"},
			{"10.0.0.51", "nowhere.example.com", "not written: nowhere.example.com. has no A (NXDOMAIN)"},
			{"10.0.0.52", "v6only.example.com", "not written: v6only.example.com. has no A (NODATA)"},
			{"10.1.9.10", "ip-10-1-9-9.dyn.example.com", "not written: ip-10-1-9-9.dyn.example.com. resolves to [10.1.9.9], not 10.1.9.10"},
			{"2001:db8::50", "mail.example.com", "not written: mail.example.com. resolves to [2001:db8::1], not 2001:db8::50"},
			{"2001:db8::51", "nowhere.example.com", "not written: nowhere.example.com. has no AAAA (NXDOMAIN)"},
			// A CNAME is followed, to an address that is not this one.
			{"10.0.0.61", "alias.example.com", "not written: alias.example.com. resolves to [10.0.0.7], not 10.0.0.61"},
		}
		for _, tc := range refused {
			r := ctl(t, "set", tc.ip, tc.name, "--verify", "--server", s.Addr).must(t, 1, "set --verify "+tc.ip)
			if r.stdout != "" || !strings.Contains(r.stderr, tc.reason) || !strings.Contains(r.stderr, "asked "+s.Addr) {
				t.Errorf("set --verify %s %s: %q", tc.ip, tc.name, r.stderr)
			}
			if n, err := c.Exists(ctx, prefix+"ptr:"+tc.ip).Result(); err != nil || n != 0 {
				t.Errorf("set --verify %s %s wrote the record (%v)", tc.ip, tc.name, err)
			}
			if m := query(t, s, "udp", reverseOf(t, tc.ip), dns.TypePTR); m.Rcode != dns.RcodeNameError && !synthesized(m) {
				t.Errorf("%s after a refused set: %v", tc.ip, m)
			}
		}

		written := []struct{ ip, name string }{
			{"10.0.0.60", "web.example.com."},
			{"2001:db8::60", "web.example.com."},
			{"10.1.9.9", "ip-10-1-9-9.dyn.example.com."},
			{"2001:db8:1::99", "ip-2001-db8-1--99.dyn.example.com."},
		}
		for _, tc := range written {
			r := ctl(t, "set", tc.ip, tc.name, "--verify", "--server", s.Addr).must(t, 0, "set --verify "+tc.ip)
			if !strings.HasPrefix(r.stdout, tc.ip+"\t"+tc.name+"\t") {
				t.Errorf("set --verify %s: %q", tc.ip, r.stdout)
			}
			if got, err := c.Get(ctx, prefix+"ptr:"+tc.ip).Result(); err != nil || got != strings.TrimSuffix(tc.name, ".") {
				t.Errorf("set --verify %s: Redis holds %q (%v)", tc.ip, got, err)
			}
			m := query(t, s, "udp", reverseOf(t, tc.ip), dns.TypePTR)
			if m.Rcode != dns.RcodeSuccess || len(m.Answer) != 1 || m.Answer[0].(*dns.PTR).Ptr != tc.name {
				t.Errorf("%s after set --verify: %v", tc.ip, m)
			}
			ctl(t, "check", "--server", s.Addr, tc.ip).must(t, 0, "check after set --verify "+tc.ip)
		}
		// Through a CNAME that leads back to the address: written.
		c.Del(ctx, prefix+"ptr:10.0.0.7")
		ctl(t, "set", "10.0.0.7", "alias.example.com", "--verify", "--server", s.Addr).must(t, 0, "set --verify through a CNAME")
		if got, _ := c.Get(ctx, prefix+"ptr:10.0.0.7").Result(); got != "alias.example.com" {
			t.Errorf("10.0.0.7 after set --verify through a CNAME: %q", got)
		}
	})
}

// reverseOf is the reverse name of ip.
func reverseOf(t *testing.T, ip string) string {
	name, err := dns.ReverseAddr(ip)
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// synthesized reports whether m answers with a synthesized name.
func synthesized(m *dns.Msg) bool {
	return len(m.Answer) == 1 && strings.HasSuffix(m.Answer[0].(*dns.PTR).Ptr, ".dyn.example.com.")
}

// checkCorefile holds every way an address passes or fails rptrctl check,
// from stock plugins only: zones from files, a SERVFAIL from template,
// silence from erratic, REFUSED for names outside every zone here. %s is
// the directory of the zone files.
const checkCorefile = `example.com:{dns} example.net:{dns} 2.0.192.in-addr.arpa:{dns} 8.b.d.0.1.0.0.2.ip6.arpa:{dns} {
    template IN ANY 34.2.0.192.in-addr.arpa {
        rcode SERVFAIL
    }
    file %[1]s/example.com.db example.com
    file %[1]s/example.net.db example.net
    file %[1]s/2.0.192.db 2.0.192.in-addr.arpa
    file %[1]s/0-25.2.0.192.db 0/25.2.0.192.in-addr.arpa
    file %[1]s/2001-db8.db 8.b.d.0.1.0.0.2.ip6.arpa
}
slow.example.com:{dns} 100.51.198.in-addr.arpa:{dns} {
    erratic {
        drop 1
    }
}
0.100.51.198.in-addr.arpa:{dns} {
    template IN PTR {
        answer "{{ .Name }} 60 IN PTR slow.example.com."
    }
}
`

// checkSOA is the apex of each zone of checkCorefile.
const checkSOA = "@ 3600 IN SOA ns.example.com. hostmaster.example.com. 1 7200 3600 1209600 60\n@ 3600 IN NS ns.example.com.\n"

// checkZones are the zone files of checkCorefile, by file name.
func checkZones(t *testing.T) map[string]string {
	// The PTR answer of 192.0.2.21 is too big for UDP: the names of
	// the part that fits do not resolve back, the last name does.
	var big strings.Builder
	for i := range 8 {
		label := strings.Repeat(fmt.Sprint(i), 60)
		fmt.Fprintf(&big, "21 IN PTR pad.%s.%s.%s.example.com.\n", label, label, label)
	}
	big.WriteString("21 IN PTR big.example.com.\n")
	return map[string]string{
		"example.com.db": `$ORIGIN example.com.
` + checkSOA + `
mail      IN A     192.0.2.10
mail      IN AAAA  2001:db8::10
mx6       IN AAAA  2001:db8::1:0:0:0:2025
mx6       IN AAAA  2001:db8::2025
other     IN A     192.0.2.99
host11    IN A     192.0.2.11
alias     IN CNAME host20.example.net.
big       IN A     192.0.2.21
elsewhere IN A     192.0.2.99
v6only    IN AAAA  2001:db8::33
a         IN A     192.0.2.1
`,
		"example.net.db": `$ORIGIN example.net.
` + checkSOA + `
host20 IN A 192.0.2.20
`,
		"2.0.192.db": `$ORIGIN 2.0.192.in-addr.arpa.
` + checkSOA + `
10 IN PTR mail.example.com.
; Two names, the first does not resolve back, the second does.
11 IN PTR other.example.com.
11 IN PTR host11.example.com.
; RFC 2317: 192.0.2.0/25 is a zone of its own, delegated, and the
; parent's name is a CNAME into it.
0/25 IN NS ns.example.com.
20 IN CNAME 20.0/25.2.0.192.in-addr.arpa.
` + big.String() + `
30 IN PTR nowhere.example.com.
31 IN PTR elsewhere.example.com.
32 IN TXT "no PTR here"
33 IN PTR v6only.example.com.
35 IN PTR slow.example.com.
36 IN PTR broken.example.org.
37 IN PTR a.example.com.
37 IN PTR b.example.com.
`,
		"0-25.2.0.192.db": `$ORIGIN 0/25.2.0.192.in-addr.arpa.
` + checkSOA + `
20 IN PTR alias.example.com.
`,
		"2001-db8.db": `$ORIGIN 8.b.d.0.1.0.0.2.ip6.arpa.
` + checkSOA + `
` + reverseOf(t, "2001:db8::10") + ` IN PTR mail.example.com.
` + reverseOf(t, "2001:db8::2025") + ` IN PTR mx6.example.com.
`,
	}
}

// TestRptrctlCheck runs rptrctl check against the real CoreDNS binary
// serving, from stock plugins, every way an address passes or fails.
func TestRptrctlCheck(t *testing.T) {
	dir := t.TempDir()
	bin := buildRptrctl(t)
	for name, text := range checkZones(t) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := corednstest.Start(t, coredns, fmt.Sprintf(checkCorefile, dir))
	ctl := func(t *testing.T, args ...string) ctlRun {
		t.Helper()
		return rptrctl(t, bin, prefixFor(t), args...)
	}

	// The server's replies have the shapes the cases are meant to
	// prove; else a case might pass without testing what it says.
	if m := query(t, s, "udp", "20.2.0.192.in-addr.arpa.", dns.TypePTR); m.Rcode != dns.RcodeSuccess || len(m.Answer) != 1 || m.Answer[0].Header().Rrtype != dns.TypeCNAME {
		t.Fatalf("RFC 2317 CNAME: want the CNAME alone, got %v", m)
	}
	if m := query(t, s, "udp", "alias.example.com.", dns.TypeA); len(m.Answer) != 2 || m.Answer[1].Header().Rrtype != dns.TypeA {
		t.Fatalf("alias.example.com.: want the CNAME and the address in one reply, got %v", m)
	}
	if m := query(t, s, "udp", "21.2.0.192.in-addr.arpa.", dns.TypePTR); !m.Truncated || strings.Contains(fmt.Sprint(m.Answer), "big.example.com.") {
		t.Fatalf("21.2.0.192.in-addr.arpa.: want a truncated UDP answer without big.example.com., got %v", m)
	}
	if m := query(t, s, "tcp", "21.2.0.192.in-addr.arpa.", dns.TypePTR); m.Truncated || len(m.Answer) != 9 {
		t.Fatalf("21.2.0.192.in-addr.arpa. over TCP: want 9 PTRs, got %v", m)
	}
	if m := query(t, s, "udp", "broken.example.org.", dns.TypeA); m.Rcode != dns.RcodeRefused {
		t.Fatalf("broken.example.org.: want REFUSED, got %v", m)
	}

	cases := []struct{ addr, result string }{
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
		{"192.0.2.36", "fail\tbroken.example.org.: A query answered REFUSED"},
		{"192.0.2.37", "fail\ta.example.com. resolves to [192.0.2.1], not 192.0.2.37; b.example.com. has no A (NXDOMAIN)"},
		{"192.0.2.38", "fail\tno PTR (NXDOMAIN)"},
		{"2001:db8::38", "fail\tno PTR (NXDOMAIN)"},
	}
	// line is the output line of a case: the address in canonical form.
	line := func(addr, result string) string {
		return netip.MustParseAddr(addr).String() + "\t" + result + "\n"
	}

	t.Run("each", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.addr, func(t *testing.T) {
				t.Parallel()
				code := 0
				if strings.HasPrefix(tc.result, "fail") {
					code = 1
				}
				r := ctl(t, "check", tc.addr, "--server", s.Addr, "--query-timeout", "500ms").must(t, code, tc.addr)
				if want := line(tc.addr, tc.result); r.stdout != want {
					t.Errorf("got %q, want %q", r.stdout, want)
				}
				if !strings.Contains(r.stderr, "checked 1 address at "+s.Addr) {
					t.Errorf("no summary on stderr: %q", r.stderr)
				}
			})
		}
	})

	// All at once, concurrently: the same lines, in input order, though
	// the slow address ends after those behind it.
	args := []string{"check", "--server", s.Addr, "--query-timeout", "500ms", "--concurrency", "4"}
	var want strings.Builder
	for _, tc := range cases {
		args = append(args, tc.addr)
		want.WriteString(line(tc.addr, tc.result))
	}
	r := ctl(t, args...).must(t, 1, "all at once")
	if r.stdout != want.String() {
		t.Errorf("all at once:\n%s\nwant\n%s", r.stdout, want.String())
	}
	if !strings.Contains(r.stderr, "checked 16 addresses at "+s.Addr) || !strings.Contains(r.stderr, "6 pass, 10 fail") {
		t.Errorf("summary: %q", r.stderr)
	}

	// --json: one object per address, in the same order.
	r = ctl(t, append(args, "--json")...).must(t, 1, "--json")
	results := map[string]checkJSON{}
	for _, j := range jsonChecks(t, r.stdout, cases) {
		results[j.Addr] = j
	}
	// Two names, the second confirms: both asked, in the order of the
	// answer.
	if j := results["192.0.2.11"]; !slices.Equal(j.PTR, []string{"other.example.com.", "host11.example.com."}) || len(j.Forward) != 2 ||
		j.Forward[0].Error == "" || !slices.Equal(j.Forward[0].Addrs, []string{"192.0.2.99"}) || j.Forward[1].Error != "" {
		t.Errorf("--json of 192.0.2.11: %+v", j)
	}
	// The whole PTR answer, from TCP: its ninth name confirms.
	if j := results["192.0.2.21"]; len(j.PTR) != 9 || len(j.Forward) != 9 || j.Forward[8].Name != "big.example.com." {
		t.Errorf("--json of 192.0.2.21: %+v", j)
	}

	// A server that stops answering: 198.51.100.0 is answered (its name
	// is not), then nothing; check ends with exit 3 after 64 addresses
	// in a row got no reply.
	r = ctl(t, "check", "--server", s.Addr, "--query-timeout", "500ms", "--tries", "1", "--cidr", "198.51.100.0/24").must(t, 3, "server gone")
	if !strings.Contains(r.stderr, "stopped answering") {
		t.Errorf("server gone: %q", r.stderr)
	}
	if !strings.HasPrefix(r.stdout, "198.51.100.0\tfail\tslow.example.com.: A query: no reply (timed out)\n") || strings.Count(r.stdout, "\n") >= 256 {
		t.Errorf("server gone: output\n%s", r.stdout)
	}
}

// jsonChecks parses the output of check --json and checks it line by line
// against want: each address (in any spelling) with "pass\tNAME" or
// "fail\tREASON", in order.
func jsonChecks(t *testing.T, stdout string, want []struct{ addr, result string }) []checkJSON {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != len(want) {
		t.Fatalf("check --json: %d lines, want %d:\n%s", len(lines), len(want), stdout)
	}
	var all []checkJSON
	for i, l := range lines {
		var j checkJSON
		if err := json.Unmarshal([]byte(l), &j); err != nil {
			t.Fatalf("--json line %q: %v", l, err)
		}
		result, detail, _ := strings.Cut(want[i].result, "\t")
		got := j.Reason
		if j.Pass {
			got = j.Name
		}
		if j.Addr != netip.MustParseAddr(want[i].addr).String() || j.Pass != (result == "pass") || got != detail {
			t.Errorf("--json line %q, want %s %s", l, want[i].addr, want[i].result)
		}
		all = append(all, j)
	}
	return all
}
