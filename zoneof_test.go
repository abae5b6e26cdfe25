package rptr

import "testing"

func TestIsSubdomainLower(t *testing.T) {
	tests := []struct {
		name, origin string
		want         bool
	}{
		{"2.0.192.in-addr.arpa.", "2.0.192.in-addr.arpa.", true},
		{"10.2.0.192.in-addr.arpa.", "2.0.192.in-addr.arpa.", true},
		{"102.0.192.in-addr.arpa.", "2.0.192.in-addr.arpa.", false},
		{"0.192.in-addr.arpa.", "2.0.192.in-addr.arpa.", false},
		{"a\\.2.0.192.in-addr.arpa.", "2.0.192.in-addr.arpa.", false}, // "a.2" is one label
		{"a\\.in-addr.arpa.", "in-addr.arpa.", false},                 // the dot is inside a label
		{"a\\\\.in-addr.arpa.", "in-addr.arpa.", true},                // an escaped backslash, then a real dot
		{"a\\\\\\.in-addr.arpa.", "in-addr.arpa.", false},
		{"example.com.", ".", true},
		{"ip-192-0-2-1.dyn.example.com.", "dyn.example.com.", true},
		{"xdyn.example.com.", "dyn.example.com.", false},
	}
	for _, tc := range tests {
		if got := isSubdomainLower(tc.name, tc.origin); got != tc.want {
			t.Errorf("isSubdomainLower(%q, %q) = %v, want %v", tc.name, tc.origin, got, tc.want)
		}
	}
}

func TestZoneOfMostSpecific(t *testing.T) {
	p := &RPTR{zones: []zone{{origin: "in-addr.arpa."}, {origin: "0.10.in-addr.arpa."}, {origin: "10.in-addr.arpa."}}}
	for name, want := range map[string]string{
		"1.0.0.10.in-addr.arpa.": "0.10.in-addr.arpa.",
		"1.1.10.in-addr.arpa.":   "10.in-addr.arpa.",
		"1.11.in-addr.arpa.":     "in-addr.arpa.",
		"in-addr.arpa.":          "in-addr.arpa.",
	} {
		if z := p.zoneOf(name); z == nil || z.origin != want {
			t.Errorf("zoneOf(%q) = %v, want %s", name, z, want)
		}
	}
	if z := p.zoneOf("example.com."); z != nil {
		t.Errorf("zoneOf(example.com.) = %v, want nil", z)
	}
}
