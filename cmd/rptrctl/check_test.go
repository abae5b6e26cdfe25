package main

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

// TestCheckUsage: bad arguments are refused before any question is sent.
// The server is a loopback port nobody serves, so that a question sent
// by mistake gets no answer and ends the run with exit 3, not 2. How check
// asks a real server is tested end to end, in ../../test.
func TestCheckUsage(t *testing.T) {
	e := newEnv(t)
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
		out, errOut, code := e.ctl("", append([]string{"check", "--server", "127.0.0.1:1"}, args...)...)
		if code != exitUsage || out != "" || errOut == "" {
			t.Errorf("check %v: exit %d, %q, %q", args, code, out, errOut)
		}
	}
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
