package main

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// exportRecords are records of every shape export must carry.
var exportRecords = [][]string{
	{"192.0.2.1", "a.example.com"},
	{"192.0.2.2", "b.example.com", "--ttl", "300"},
	{"192.0.2.3", "c.example.com", "--disabled"},
	{"192.0.2.4", "d.example.com", "--ttl", "0", "--disabled"},
	{"192.0.2.5", "bücher.example"},
	{"192.0.2.6", "lease.example.com", "--expire", "1h"},
	{"2001:db8::1", "v6.example.com", "--ttl", "2147483647"},
	{"2001:db8::2", "v6b.example.com", "--disabled"},
	{"::ffff:198.51.100.7", "mapped.example.com"},
	{"198.51.100.1", "other.example.com", "--ttl", "60"},
}

// setUp writes exportRecords, an invalid record and a key with a
// non-canonical address under e's prefix.
func (e *env) setUp() {
	for _, r := range exportRecords {
		e.must(exitOK, append([]string{"set"}, r...)...)
	}
	ctx := context.Background()
	e.redis.Set(ctx, e.key("192.0.2.9"), "not a name", 0)
	e.redis.Set(ctx, e.key("192.0.2.010"), "hidden.example.com", 0)
}

// copyEnv is another prefix in the same Redis, named after e's.
func (e *env) copyEnv(name string) *env {
	return &env{t: e.t, prefix: e.prefix + name + ":", redis: e.redis}
}

// TestExportRoundTrip: what export writes, import reads back to the same
// records, in another prefix.
func TestExportRoundTrip(t *testing.T) {
	e := freshEnv(t)
	e.setUp()
	want := stored(t, e.prefix)
	delete(want, "192.0.2.9") // invalid: not exported
	if len(want) != len(exportRecords) {
		t.Fatalf("set up %d records: %v", len(want), want)
	}

	for _, format := range []string{formatCSV, formatZone} {
		t.Run(format, func(t *testing.T) {
			out, errOut, code := e.ctl("", "export", "--format", format)
			if code != exitProblems || !strings.Contains(errOut, "rptrctl: skipped "+e.key("192.0.2.9")+": host name") {
				t.Fatalf("export: exit %d, want 1 and a warning of the invalid record\n%s", code, errOut)
			}
			if strings.Contains(out, "hidden") || strings.Contains(out, "not a name") {
				t.Errorf("export wrote a record it must leave out:\n%s", out)
			}
			c := e.copyEnv(format)
			sum, rejected := c.importJSON(out, exitOK, "--format", format, "-")
			if len(rejected) > 0 {
				t.Errorf("import rejected %v", rejected)
			}
			w := maps.Clone(want)
			if format == formatZone {
				// A zone file cannot say "disabled": such records are
				// comments.
				for addr, r := range w {
					if strings.HasSuffix(r, " disabled") {
						delete(w, addr)
						if !strings.Contains(out, "; disabled: ") {
							t.Errorf("no comment for disabled %s", addr)
						}
					}
				}
				if !strings.Contains(errOut, "3 disabled ones as comments") {
					t.Errorf("export does not warn of the disabled records: %q", errOut)
				}
			}
			if got := stored(t, c.prefix); !maps.Equal(got, w) {
				t.Errorf("round trip:\n%v\nwant:\n%v", got, w)
			}
			if sum.New != len(w) {
				t.Errorf("import summary %+v", sum)
			}
			// Expiries are not exported.
			if ttl := e.redis.PTTL(context.Background(), c.key("192.0.2.6")).Val(); ttl != -1 {
				t.Errorf("imported record has an expiry: %v", ttl)
			}
			// Importing the export over the original changes nothing.
			if sum, _ := e.importJSON(out, exitOK, "--format", format, "-"); sum.Written != 0 {
				t.Errorf("re-import over the original: %+v", sum)
			}
		})
	}
}

// TestExportFormat pins the output, one record of each shape.
func TestExportFormat(t *testing.T) {
	e := freshEnv(t)
	e.setUp()
	lines := func(out string) []string {
		l := strings.Split(strings.TrimSpace(out), "\n")
		slices.Sort(l)
		return l
	}
	out, _, _ := e.ctl("", "export", "192.0.2.0/29", "2001:db8::/64")
	want := []string{
		"192.0.2.1,a.example.com.,,",
		"192.0.2.2,b.example.com.,300,",
		"192.0.2.3,c.example.com.,,1",
		"192.0.2.4,d.example.com.,0,1",
		"192.0.2.5,xn--bcher-kva.example.,,",
		"192.0.2.6,lease.example.com.,,",
		"2001:db8::1,v6.example.com.,2147483647,",
		"2001:db8::2,v6b.example.com.,,1",
		"ip,name,ttl,disabled",
	}
	if got := lines(out); !slices.Equal(got, want) {
		t.Errorf("export csv:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.HasPrefix(out, "ip,name,ttl,disabled\n") {
		t.Errorf("export csv does not start with the header:\n%s", out)
	}

	out, errOut, code := e.ctl("", "export", "--format", "zone", "198.51.100.0/24", "::ffff:0:0/96")
	want = []string{
		"1.100.51.198.in-addr.arpa.\t60\tIN\tPTR\tother.example.com.",
		"7.0.4.6.3.3.6.c.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.\tIN\tPTR\tmapped.example.com.",
	}
	if got := lines(out); code != exitOK || !slices.Equal(got, want) {
		t.Errorf("export zone: exit %d\n%s\nwant:\n%s\n%s", code, strings.Join(got, "\n"), strings.Join(want, "\n"), errOut)
	}
	if errOut != "rptrctl: exported 2 records\n" {
		t.Errorf("export summary %q", errOut)
	}

	// A disabled record, which a zone cannot carry, makes it exit 1.
	if out, errOut, code := e.ctl("", "export", "--format", "zone", "2001:db8::/32"); code != exitProblems || !strings.Contains(out, "; disabled: ") {
		t.Errorf("export zone of a disabled record: exit %d, want 1\n%s\n%s", code, out, errOut)
	}

	for _, args := range [][]string{
		{"export", "--format", "hosts"},
		{"--json", "export"},
		{"export", "192.0.2.1/24"},
	} {
		if _, _, code := e.ctl("", args...); code != exitUsage {
			t.Errorf("rptrctl %v: exit %d, want 2", args, code)
		}
	}
}

// TestExportMany: more records than one SCAN batch, all exported once.
func TestExportMany(t *testing.T) {
	e := freshEnv(t)
	ctx := context.Background()
	p := e.redis.Pipeline()
	for i := range 5000 {
		p.Set(ctx, e.key("10.1."+strconv.Itoa(i/256)+"."+strconv.Itoa(i%256)), "h"+strconv.Itoa(i)+".example.com", time.Hour)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	out := e.must(exitOK, "export", "10.1.0.0/16")
	l := strings.Split(strings.TrimSpace(out), "\n")
	if len(l) != 5001 || len(slices.Compact(slices.Sorted(slices.Values(l)))) != 5001 {
		t.Errorf("export wrote %d lines, want the header and 5000 records once each", len(l))
	}
}
