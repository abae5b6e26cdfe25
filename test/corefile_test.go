package test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/rptr-dns/rptr/internal/corednstest"
	"github.com/rptr-dns/rptr/reverse"
)

func TestCorefileErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		corefile string
		want     string // in the output, after "Corefile:"
	}{
		{".:{dns} {\n    rptr 192.0.2.0/24 {\n        ttl -1\n    }\n}\n", `3 - Error during parsing: ttl "-1" is not a number of seconds`},
		{".:{dns} {\n    rptr 192.0.2.0/24 {\n        redis http://127.0.0.1:1/0\n    }\n}\n", "3 - Error during parsing: redis URL"},
		{".:{dns} {\n    rptr 192.0.2.0/24 {\n        bogus 1\n    }\n}\n", `3 - Error during parsing: unknown property "bogus"`},
		{".:{dns} {\n    rptr example.com {\n    }\n}\n", "2 - Error during parsing: zone example.com. is not a reverse zone"},
		{".:{dns} {\n\n    rptr 10.0.0.1/22\n}\n", "3 - Error during parsing: zone 10.0.0.1/22 has host bits set; did you mean 10.0.0.0/22?"},
		{".:{dns} {\n    rptr 192.0.2.0/24 {\n        soa ns.example.\n    }\n}\n", "3 - Error during parsing: soa takes MNAME RNAME"},
	}
	for _, tc := range tests {
		port, err := corednstest.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		out, err := corednstest.Run(t, coredns, strings.ReplaceAll(tc.corefile, "{dns}", fmt.Sprint(port)), 20*time.Second)
		if err == nil || !strings.Contains(out, "Corefile:"+tc.want) {
			t.Errorf("Corefile\n%s\nexited with %v and said\n%s\nwant it to fail with Corefile:%s", tc.corefile, err, out, tc.want)
		}
	}
}

// shippedCorefiles returns the Corefiles of README.md and Corefile.example.
func shippedCorefiles(t *testing.T) map[string]string {
	t.Helper()
	files := map[string]string{}
	example, err := os.ReadFile("../Corefile.example")
	if err != nil {
		t.Fatal(err)
	}
	files["Corefile.example"] = string(example)
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)~~~ corefile\n(.*?)~~~").FindAllStringSubmatch(string(readme), -1)
	if len(blocks) < 3 {
		t.Fatalf("README.md has %d corefile blocks, want at least 3", len(blocks))
	}
	for i, b := range blocks {
		files[fmt.Sprintf("README.md block %d", i+1)] = b[1]
	}
	return files
}

var (
	serverBlockStart = regexp.MustCompile(`(?m)^(\S[^{\n]*)\{`)
	fileDirective    = regexp.MustCompile(`(?m)^(\s*file) (\S+) (\S+)`)
	zonePort         = regexp.MustCompile(`:\d+$`)
)

// localize rewrites a shipped Corefile to run here: the DNS port and the
// health, ready and metrics ports become free ones, Redis is the test's,
// and zone files are written into dir.
func localize(t *testing.T, corefile, dir string) string {
	t.Helper()
	text := serverBlockStart.ReplaceAllStringFunc(corefile, func(line string) string {
		keys := strings.Fields(strings.TrimSuffix(line, "{"))
		for i, k := range keys {
			keys[i] = zonePort.ReplaceAllString(k, "") + ":{dns}"
		}
		return strings.Join(keys, " ") + " {"
	})
	for from, to := range map[string]string{
		"127.0.0.1:8080": "127.0.0.1:{health}",
		"127.0.0.1:8181": "127.0.0.1:{ready}",
		"127.0.0.1:9153": "127.0.0.1:{metrics}",
		"127.0.0.1:6379": rdb.Addr,
	} {
		text = strings.ReplaceAll(text, from, to)
	}
	return fileDirective.ReplaceAllStringFunc(text, func(m string) string {
		parts := fileDirective.FindStringSubmatch(m)
		zone := dns.Fqdn(parts[3])
		path := filepath.Join(dir, zone+"db")
		db := fmt.Sprintf("$ORIGIN %s\n@ 3600 IN SOA ns.example.net. hostmaster.example.net. 1 7200 3600 1209600 60\n@ 3600 IN NS ns.example.net.\n", zone)
		if err := os.WriteFile(path, []byte(db), 0o644); err != nil {
			t.Fatal(err)
		}
		return parts[1] + " " + path + " " + parts[3]
	})
}

// TestShippedCorefilesStart starts every Corefile that README.md and
// Corefile.example show, and checks that each serves its first rptr zone.
func TestShippedCorefilesStart(t *testing.T) {
	c := rdb.Client(0)
	defer c.Close()
	ctx := context.Background()
	// The least-privileged user the examples log in as, with the password
	// they take from the environment.
	acl := readmeACL(t)
	if err := c.Do(ctx, acl...).Err(); err != nil {
		t.Fatalf("%v: %v", acl, err)
	}
	t.Setenv("RPTR_REDIS_PASSWORD", "s3cret-from-env")
	if err := c.Set(ctx, "rptr:ptr:198.51.100.7", "seven.example.net", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "rptr:ptr:192.0.2.7", "seven.example.com", 0).Err(); err != nil {
		t.Fatal(err)
	}
	defer c.Del(ctx, "rptr:ptr:198.51.100.7", "rptr:ptr:192.0.2.7")

	for name, corefile := range shippedCorefiles(t) {
		t.Run(name, func(t *testing.T) {
			text := localize(t, corefile, t.TempDir())
			s := corednstest.Start(t, coredns, text, "health", "ready", "metrics")
			if strings.Contains(text, rdb.Addr) {
				// The records above: the Corefile reaches the test's Redis.
				r := query(t, s, "udp", "7.100.51.198.in-addr.arpa.", dns.TypePTR)
				if strings.Contains(text, "192.0.2.0/24") {
					r = query(t, s, "udp", "7.2.0.192.in-addr.arpa.", dns.TypePTR)
				}
				if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
					t.Errorf("stored record: %v\nCorefile:\n%s\nlog:\n%s", r, text, s.Output())
				}
				// rptr's cache is on by default, kept coherent through client
				// tracking, which the user must be allowed. (A change may not
				// show through the DNS here: the CoreDNS cache plugin in
				// front of rptr keeps answers for their TTL.)
				waitLog(t, s, "reports changes to rptr:ptr:* keys")
				if strings.Contains(s.Output(), "tracking failed") {
					t.Errorf("client tracking failed:\n%s", s.Output())
				}
				return
			}
			zone := firstZone(t, corefile)
			r := query(t, s, "udp", zone, dns.TypeSOA)
			if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
				t.Errorf("apex SOA of %s: %v\nCorefile:\n%s", zone, r, text)
			}
		})
	}
}

// firstZone returns the first zone of the first rptr directive of corefile:
// its first argument, or else the first key of its server block.
func firstZone(t *testing.T, corefile string) string {
	t.Helper()
	zone := ""
	if m := regexp.MustCompile(`(?m)^\s*rptr ([^\s{]+)`).FindStringSubmatch(corefile); m != nil {
		zone = m[1]
	} else if m := serverBlockStart.FindStringSubmatch(corefile); m != nil {
		zone = strings.Fields(m[1])[0]
	}
	if p, err := netip.ParsePrefix(zone); err == nil {
		return reverse.Name(p)
	}
	if zone == "" || zone == "." || strings.HasPrefix(zone, ".:") {
		t.Fatalf("no rptr zone to ask for in\n%s", corefile)
	}
	return dns.Fqdn(zonePort.ReplaceAllString(zone, ""))
}

// readmeACL returns the ACL SETUSER command of the README, with the password
// the tests use.
func readmeACL(t *testing.T) []any {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)redis-cli (ACL SETUSER rptr .*?)\n~~~`).FindStringSubmatch(string(readme))
	if m == nil {
		t.Fatal("no ACL SETUSER rptr command in README.md")
	}
	var args []any
	for _, f := range strings.Fields(strings.ReplaceAll(m[1], "\\\n", " ")) {
		f = strings.Trim(f, "'")
		f = strings.ReplaceAll(f, "\\|", "|")
		if f == ">CHANGE-ME" {
			f = ">s3cret-from-env"
		}
		args = append(args, f)
	}
	return args
}

// waitLog waits up to 5 seconds for the server to log text.
func waitLog(t *testing.T, s *corednstest.Server, text string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(s.Output(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log:\n%s", text, s.Output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
