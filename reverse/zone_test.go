package reverse

import (
	"errors"
	"testing"
)

func TestParseZone(t *testing.T) {
	tests := []struct {
		origin    string
		prefix    string // "" when an error is expected
		classless bool
	}{
		{"2.0.192.in-addr.arpa.", "192.0.2.0/24", false},
		{"2.0.192.IN-ADDR.ARPA.", "192.0.2.0/24", false},
		{"8.b.d.0.1.0.0.2.ip6.arpa.", "2001:db8::/32", false},
		{"0/25.2.0.192.in-addr.arpa.", "192.0.2.0/25", true},
		{"0-25.2.0.192.in-addr.arpa.", "192.0.2.0/25", true},
		{"128/25.2.0.192.in-addr.arpa.", "192.0.2.128/25", true},
		{"64/26.2.0.192.in-addr.arpa.", "192.0.2.64/26", true},
		{"7/32.2.0.192.in-addr.arpa.", "192.0.2.7/32", true},
		{"1/25.2.0.192.in-addr.arpa.", "", false},  // not the start of a /25
		{"0/24.2.0.192.in-addr.arpa.", "", false},  // not classless
		{"0/33.2.0.192.in-addr.arpa.", "", false},  // too long
		{"0/025.2.0.192.in-addr.arpa.", "", false}, // leading zero
		{"0/+25.2.0.192.in-addr.arpa.", "", false}, // sign
		{"00/25.2.0.192.in-addr.arpa.", "", false}, // leading zero
		{"0/25.0.192.in-addr.arpa.", "", false},    // parent is a /16
		{"0/25.x.0.192.in-addr.arpa.", "", false},  // parent is not a reverse name
		{"0/25.example.com.", "", false},           // not under in-addr.arpa.
		{"0x25.2.0.192.in-addr.arpa.", "", false},  // no separator
		{"example.com.", "", false},
	}
	for _, tc := range tests {
		z, err := ParseZone(tc.origin)
		if tc.prefix == "" {
			if err == nil {
				t.Errorf("ParseZone(%q) = %+v, want an error", tc.origin, z)
			}
			continue
		}
		if err != nil || z.Prefix.String() != tc.prefix || z.Classless != tc.classless {
			t.Errorf("ParseZone(%q) = %+v, %v; want %s classless=%v", tc.origin, z, err, tc.prefix, tc.classless)
		}
	}
}

func TestZoneParse(t *testing.T) {
	z, err := ParseZone("0/25.2.0.192.in-addr.arpa.")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		qname string
		want  string
		err   error
	}{
		{"0/25.2.0.192.in-addr.arpa.", "192.0.2.0/25", nil},
		{"20.0/25.2.0.192.in-addr.arpa.", "192.0.2.20/32", nil},
		{"0.0/25.2.0.192.in-addr.arpa.", "192.0.2.0/32", nil},
		{"127.0/25.2.0.192.in-addr.arpa.", "192.0.2.127/32", nil},
		{"128.0/25.2.0.192.in-addr.arpa.", "", ErrOutside},
		{"256.0/25.2.0.192.in-addr.arpa.", "", ErrBadLabel},
		{"020.0/25.2.0.192.in-addr.arpa.", "", ErrBadLabel},
		{"x.0/25.2.0.192.in-addr.arpa.", "", ErrBadLabel},
		{".0/25.2.0.192.in-addr.arpa.", "", ErrBadLabel},
		{"1.20.0/25.2.0.192.in-addr.arpa.", "", ErrTooManyLabels},
	}
	for _, tc := range tests {
		got, err := z.Parse(tc.qname)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("Parse(%q) = %v, %v; want %v", tc.qname, got, err, tc.err)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %s", tc.qname, got, err, tc.want)
		}
	}
	// An ordinary zone parses like Parse.
	plain, _ := ParseZone("2.0.192.in-addr.arpa.")
	if got, err := plain.Parse("10.2.0.192.in-addr.arpa."); err != nil || got.String() != "192.0.2.10/32" {
		t.Errorf("plain zone: %v, %v", got, err)
	}
}
