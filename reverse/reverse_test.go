package reverse

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		want string // prefix, or "" when err is expected
		err  error
	}{
		{"10.2.0.192.in-addr.arpa.", "192.0.2.10/32", nil},
		{"10.2.0.192.IN-ADDR.ARPA.", "192.0.2.10/32", nil},
		{"0.0.0.0.in-addr.arpa.", "0.0.0.0/32", nil},
		{"255.255.255.255.in-addr.arpa.", "255.255.255.255/32", nil},
		{"2.0.192.in-addr.arpa.", "192.0.2.0/24", nil},
		{"192.in-addr.arpa.", "192.0.0.0/8", nil},
		{"in-addr.arpa.", "0.0.0.0/0", nil},
		{"IN-ADDR.ARPA.", "0.0.0.0/0", nil},
		{"256.2.0.192.in-addr.arpa.", "", ErrBadLabel},
		{"010.2.0.192.in-addr.arpa.", "", ErrBadLabel},
		{"00.2.0.192.in-addr.arpa.", "", ErrBadLabel},
		{"x.2.0.192.in-addr.arpa.", "", ErrBadLabel},
		{"-1.2.0.192.in-addr.arpa.", "", ErrBadLabel},
		{"1000.2.0.192.in-addr.arpa.", "", ErrBadLabel},
		{".2.0.192.in-addr.arpa.", "", ErrBadLabel},
		{"1..0.192.in-addr.arpa.", "", ErrBadLabel},
		{"1.10.2.0.192.in-addr.arpa.", "", ErrTooManyLabels},
		{"a.b.1.10.2.0.192.in-addr.arpa.", "", ErrTooManyLabels},
		{"10.2.0.192.xin-addr.arpa.", "", ErrNotReverse},
		{"example.com.", "", ErrNotReverse},
		{"", "", ErrNotReverse},
		{"arpa.", "", ErrNotReverse},
		{"5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "2001:db8::25/128", nil},
		{"5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.IP6.ARPA.", "2001:db8::25/128", nil},
		{"8.b.d.0.1.0.0.2.ip6.arpa.", "2001:db8::/32", nil},
		{"0.8.b.d.0.1.0.0.2.ip6.arpa.", "2001:db8::/36", nil},
		{"ip6.arpa.", "::/0", nil},
		{"g.8.b.d.0.1.0.0.2.ip6.arpa.", "", ErrBadLabel},
		{"10.8.b.d.0.1.0.0.2.ip6.arpa.", "", ErrBadLabel},
		{".8.b.d.0.1.0.0.2.ip6.arpa.", "", ErrBadLabel},
		{"8..d.0.1.0.0.2.ip6.arpa.", "", ErrBadLabel},
		{strings.Repeat("0.", 33) + "ip6.arpa.", "", ErrTooManyLabels},
		{"x.ip6.arpa.", "", ErrBadLabel},
	}
	for _, tc := range tests {
		got, err := Parse(tc.name)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("Parse(%q) = %v, %v; want error %v", tc.name, got, err, tc.err)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %s", tc.name, got, err, tc.want)
		}
	}
}

func TestName(t *testing.T) {
	tests := []struct{ prefix, want string }{
		{"192.0.2.10/32", "10.2.0.192.in-addr.arpa."},
		{"192.0.2.0/24", "2.0.192.in-addr.arpa."},
		{"10.0.0.0/8", "10.in-addr.arpa."},
		{"0.0.0.0/0", "in-addr.arpa."},
		{"2001:db8::25/128", "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."},
		{"2001:db8::/32", "8.b.d.0.1.0.0.2.ip6.arpa."},
		{"2001:db8::/36", "0.8.b.d.0.1.0.0.2.ip6.arpa."},
		{"::/0", "ip6.arpa."},
	}
	for _, tc := range tests {
		if got := Name(netip.MustParsePrefix(tc.prefix)); got != tc.want {
			t.Errorf("Name(%s) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
	if got := AddrName(netip.MustParseAddr("192.0.2.1")); got != "1.2.0.192.in-addr.arpa." {
		t.Errorf("AddrName = %q", got)
	}
}

// FuzzParse checks that Parse never panics and that every name it accepts
// names exactly the prefix it returns.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"10.2.0.192.in-addr.arpa.", "2.0.192.IN-ADDR.arpa.", "in-addr.arpa.", "256.1.in-addr.arpa.",
		"5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "ip6.arpa.", "f.F.ip6.arpa.",
		"..in-addr.arpa.", "0.0.0.0.0.in-addr.arpa.", "x.ip6.arpa.",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		p, err := Parse(name)
		if err != nil {
			return
		}
		if back := Name(p); !strings.EqualFold(back, name) {
			t.Fatalf("Parse(%q) = %v, whose name is %q", name, p, back)
		}
	})
}

// FuzzAddrName checks that the name of every address parses back to it.
func FuzzAddrName(f *testing.F) {
	f.Add([]byte{192, 0, 2, 10})
	f.Add([]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x25})
	f.Fuzz(func(t *testing.T, b []byte) {
		addr, ok := netip.AddrFromSlice(b)
		if !ok {
			return
		}
		p, err := Parse(AddrName(addr))
		if err != nil || p.Addr() != addr || p.Bits() != addr.BitLen() {
			t.Fatalf("Parse(AddrName(%v)) = %v, %v", addr, p, err)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	names := []string{
		"10.2.0.192.in-addr.arpa.",
		"5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := Parse(names[i&1]); err != nil {
			b.Fatal(err)
		}
	}
}
