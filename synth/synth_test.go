package synth

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

type ipVector struct{ addr, rfc5952, knot string }

// ipVectors are renderings of {ip} in both styles. The first group comes from
// Knot DNS and PowerDNS; the rest follow from the rules documented on Style.
var ipVectors = []ipVector{
	{"192.168.1.1", "192-168-1-1", "192-168-1-1"},
	{"192.0.2.10", "192-0-2-10", "192-0-2-10"},
	{"0.0.0.0", "0-0-0-0", "0-0-0-0"},
	{"255.255.255.255", "255-255-255-255", "255-255-255-255"},
	{"2001:db8::1", "2001-db8--1", "2001-db8--1"},
	{"2620:0:b61::1", "2620-0-b61--1", "2620-0-b61--1"},
	{"::", "0--0", "0-0--0"},
	{"::1", "0--1", "0-0--1"},
	{"1::", "1--0", "1-0--0"},
	{"::1:0:0:0", "0--1-0-0-0", "0-0--1-0-0-0"},
	{"0:0:0:1::", "0-0-0-1--0", "0-0-0-1--0"},
	{"bb00:aa:fe0:dcba:4:30:200:1000", "bb00-aa-fe0-dcba-4-30-200-1000", "bb00-aa-fe0-dcba-4-30-200-1000"},
	{"aa::", "0aa--0", "aa-0--0"},
	{"aa::1", "0aa--1", "aa-0--1"},
	{"2001::", "2001--0", "2001-0--0"},
	{"a:b::c", "a-b--c", "a-b--c"},
	{"a::b:c", "a--b-c", "a-0--b-c"},
	{"2001::db8", "2001--db8", "2001-0--db8"},

	// The IDNA fix-up applies to a first group of exactly two digits.
	{"f::", "f--0", "f-0--0"},
	{"10::", "010--0", "10-0--0"},
	{"ff::1", "0ff--1", "ff-0--1"},
	{"100::", "100--0", "100-0--0"},
	{"ab:0:1::", "ab-0-1--0", "ab-0-1--0"},

	// Knot: only a run inside groups 2 to 6 is cut, the first one found.
	{"1:2:3:4:5::", "1-2-3-4-5--0", "1-2-3-4-5--0"},
	{"1:0:0:2::", "1-0-0-2--0", "1-0-0-2--0"},
	{"1:2:0:0:5::", "1-2-0-0-5--0", "1-2--5-0-0-0"},
	{"1::1", "1--1", "1-0--1"},
	{"1:2:3:4:5:6::", "1-2-3-4-5-6--0", "1-2-3-4-5-6-0-0"},
	{"1:2:3:4:5::8", "1-2-3-4-5--8", "1-2-3-4-5--8"},
	{"::1:2:3:4:5:6", "0--1-2-3-4-5-6", "0-0-1-2-3-4-5-6"},
	{"1::1:0:0:0", "1--1-0-0-0", "1-0--1-0-0-0"},
	{"1:2:3::", "1-2-3--0", "1-2-3--0"},
	{"2001:db8:0:1::1", "2001-db8-0-1--1", "2001-db8-0-1--1"},
	{"2001:db8:0:1:1:1:1:1", "2001-db8-0-1-1-1-1-1", "2001-db8-0-1-1-1-1-1"},
	{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff-ffff-ffff-ffff-ffff-ffff-ffff-ffff", "ffff-ffff-ffff-ffff-ffff-ffff-ffff-ffff"},

	// Groups that look decimal are still hex.
	{"192::2:10", "192--2-10", "192-0--2-10"},
	{"192:0:2:10:0:0:0:1", "192-0-2-10--1", "192-0-2-10--1"},

	// Never dotted: IPv4-mapped and IPv4-compatible addresses are hex groups.
	{"::ffff:192.0.2.10", "0--ffff-c000-20a", "0-0--ffff-c000-20a"},
	{"::c000:20a", "0--c000-20a", "0-0--c000-20a"},
}

var styles = []Style{RFC5952, Knot}

// rendering returns the vector's rendering in style s.
func (v ipVector) rendering(s Style) string {
	if s == Knot {
		return v.knot
	}
	return v.rfc5952
}

func TestAppendIP(t *testing.T) {
	for _, v := range ipVectors {
		addr := netip.MustParseAddr(v.addr)
		for _, s := range styles {
			want := v.rendering(s)
			if got := string(AppendIP(nil, addr, s)); got != want {
				t.Errorf("AppendIP(%s, %v) = %q, want %q", v.addr, s, got, want)
			}
			if got := string(AppendIP([]byte("x."), addr, s)); got != "x."+want {
				t.Errorf("AppendIP(x., %s, %v) = %q, want %q", v.addr, s, got, "x."+want)
			}
		}
	}
	if got := AppendIP([]byte("x"), netip.Addr{}, RFC5952); string(got) != "x" {
		t.Errorf("AppendIP of the zero Addr = %q, want nothing appended", got)
	}
	zoned := netip.MustParseAddr("fe80::1%eth0")
	if got := string(AppendIP(nil, zoned, RFC5952)); got != "fe80--1" {
		t.Errorf("AppendIP(%v) = %q, want the zone ignored", zoned, got)
	}
}

func TestParseIP(t *testing.T) {
	for _, v := range ipVectors {
		want := netip.MustParseAddr(v.addr)
		for _, s := range styles {
			text := v.rendering(s)
			for _, in := range []string{text, strings.ToUpper(text)} {
				if got, ok := ParseIP(in, s); !ok || got != want {
					t.Errorf("ParseIP(%q, %v) = %v, %v; want %v", in, s, got, ok, want)
				}
			}
		}
		if v.rfc5952 != v.knot {
			if got, ok := ParseIP(v.rfc5952, Knot); ok {
				t.Errorf("ParseIP(%q, knot) = %v, want the rfc5952 rendering refused", v.rfc5952, got)
			}
			if got, ok := ParseIP(v.knot, RFC5952); ok {
				t.Errorf("ParseIP(%q, rfc5952) = %v, want the knot rendering refused", v.knot, got)
			}
		}
	}
}

func TestParseIPRefuses(t *testing.T) {
	for _, text := range []string{
		"", "-", "--", "0", "1-2-3", "1-2-3-4-5", "192-000-2-10", "192-0-2-010", "256-0-0-1",
		"1000-0-0-1", "192-0-2-", "-192-0-2-10", "192.0.2.10", "192-0-2-10 ",
		"2001-0db8--1", "2001-db8-0-0-0-0-0-1", "2001-db8--1-", "-2001-db8--1", "2001-db8---1",
		"2001--db8--1", "2001:db8::1", "12345--1", "g--1", "--1", "1--", "0-0-0-0-0-0-0-0",
		"1-2-3-4-5-6-7-8-9", "1-2-3-4-5-6-7--8", "aa--0", "0-0--0--0", "2001-db8--1.",
		"２００１-db8--1", "0000--0", "00--0", "0-0--0-0", "1-0-0-0-0-0-0-1",
	} {
		for _, s := range styles {
			if got, ok := ParseIP(text, s); ok {
				t.Errorf("ParseIP(%q, %v) = %v, want refused", text, s, got)
			}
		}
	}
	for _, tc := range []struct {
		text  string
		style Style
	}{
		{"0--0", Knot}, {"0-0--0", RFC5952}, {"0aa--0", Knot}, {"aa-0--0", RFC5952},
		{"1-2-3-4-5-6--0", Knot}, {"1-2-3-4-5-6-0-0", RFC5952}, {"0--1-2-3-4-5-6", Knot},
	} {
		if got, ok := ParseIP(tc.text, tc.style); ok {
			t.Errorf("ParseIP(%q, %v) = %v, want refused", tc.text, tc.style, got)
		}
	}
}

var hexVectors = []struct{ addr, hex string }{
	{"127.0.2.5", "7f000205"},
	{"192.0.2.10", "c000020a"},
	{"0.0.0.0", "00000000"},
	{"2001:db8::1", "20010db8000000000000000000000001"},
	{"::", "00000000000000000000000000000000"},
	{"::ffff:192.0.2.10", "00000000000000000000ffffc000020a"},
	{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffffffffffffffffffffffffffffffff"},
}

func TestHex(t *testing.T) {
	for _, v := range hexVectors {
		addr := netip.MustParseAddr(v.addr)
		if got := string(AppendHex(nil, addr)); got != v.hex {
			t.Errorf("AppendHex(%s) = %q, want %q", v.addr, got, v.hex)
		}
		for _, in := range []string{v.hex, strings.ToUpper(v.hex)} {
			if got, ok := ParseHex(in); !ok || got != addr {
				t.Errorf("ParseHex(%q) = %v, %v; want %v", in, got, ok, addr)
			}
		}
	}
	if got := AppendHex([]byte("x"), netip.Addr{}); string(got) != "x" {
		t.Errorf("AppendHex of the zero Addr = %q, want nothing appended", got)
	}
	for _, text := range []string{
		"", "7f00020", "7f0002050", "7g000205", "0x7f0002", "7f00-205",
		strings.Repeat("0", 31), strings.Repeat("0", 33), strings.Repeat("0", 16), "7f000205 ",
	} {
		if got, ok := ParseHex(text); ok {
			t.Errorf("ParseHex(%q) = %v, want refused", text, got)
		}
	}
}

func TestParseStyle(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Style
	}{{"rfc5952", RFC5952}, {"RFC5952", RFC5952}, {"knot", Knot}, {"Knot", Knot}} {
		got, err := ParseStyle(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseStyle(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if got.String() != strings.ToLower(tc.in) {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), strings.ToLower(tc.in))
		}
	}
	for _, in := range []string{"", "pdns", "rfc 5952", "\u212anot"} {
		if got, err := ParseStyle(in); err == nil {
			t.Errorf("ParseStyle(%q) = %v, want an error", in, got)
		}
	}
	if got := Style(7).String(); got != "Style(7)" {
		t.Errorf("Style(7).String() = %q", got)
	}
}

func mustTemplate(tb testing.TB, s string, style Style) Template {
	tb.Helper()
	t, err := ParseTemplate(s, style)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func TestParseTemplate(t *testing.T) {
	long := strings.Repeat(strings.Repeat("a", 63)+".", 3) // 192 octets of zone
	tests := []struct {
		in         string
		style      Style
		text, zone string
	}{
		{"ip-{ip}.dyn.example.com.", RFC5952, "ip-{ip}.dyn.example.com.", "dyn.example.com."},
		{"IP-{IP}.DYN.Example.COM.", Knot, "ip-{ip}.dyn.example.com.", "dyn.example.com."},
		{"{hex}.example.", RFC5952, "{hex}.example.", "example."},
		{"{hex}-host.example.", RFC5952, "{hex}-host.example.", "example."},
		{"{ip}.a.", RFC5952, "{ip}.a.", "a."},
		{"x-{ip}-y.xn--bcher-kva.example.", RFC5952, "x-{ip}-y.xn--bcher-kva.example.", "xn--bcher-kva.example."},
		{strings.Repeat("a", 24) + "{ip}.example.", RFC5952, strings.Repeat("a", 24) + "{ip}.example.", "example."},
		{strings.Repeat("a", 12) + "{ip}" + strings.Repeat("b", 12) + ".example.", RFC5952, strings.Repeat("a", 12) + "{ip}" + strings.Repeat("b", 12) + ".example.", "example."},
		{strings.Repeat("a", 31) + "{hex}.example.", RFC5952, strings.Repeat("a", 31) + "{hex}.example.", "example."},
		// 39 + 1 + 214 + 1 = 255 octets in wire form, the most there may be.
		{"{ip}." + long + strings.Repeat("b", 21) + ".", RFC5952, "{ip}." + long + strings.Repeat("b", 21) + ".", long + strings.Repeat("b", 21) + "."},
		{"{hex}." + long + strings.Repeat("b", 28) + ".", RFC5952, "{hex}." + long + strings.Repeat("b", 28) + ".", long + strings.Repeat("b", 28) + "."},
	}
	for _, tc := range tests {
		got, err := ParseTemplate(tc.in, tc.style)
		if err != nil {
			t.Errorf("ParseTemplate(%q) = %v", tc.in, err)
			continue
		}
		if got.String() != tc.text || got.Zone() != tc.zone || got.Style() != tc.style {
			t.Errorf("ParseTemplate(%q) = %q, zone %q, style %v; want %q, %q, %v",
				tc.in, got.String(), got.Zone(), got.Style(), tc.text, tc.zone, tc.style)
		}
	}
}

func TestParseTemplateErrors(t *testing.T) {
	long := strings.Repeat(strings.Repeat("a", 63)+".", 3)
	tests := []struct {
		in    string
		style Style
		want  string // part of the error message
	}{
		{"ip-{ip}.dyn.example.com", RFC5952, "is not absolute"},
		{"", RFC5952, "is not absolute"},
		{"ip.dyn.example.com.", RFC5952, "no placeholder"},
		{"{ip}-{hex}.example.", RFC5952, "two placeholders"},
		{"{ip}{ip}.example.", RFC5952, "two placeholders"},
		{"{ip}.{hex}.example.", RFC5952, "two placeholders"},
		{"ip.{ip}.example.", RFC5952, "must be in the first label"},
		{"ip.example.{hex}.", RFC5952, "must be in the first label"},
		{"{addr}.example.", RFC5952, "unknown placeholder {addr}"},
		{"{IPv6}.example.", RFC5952, "unknown placeholder {ipv6}"},
		{"{}.example.", RFC5952, "unknown placeholder {}"},
		{"{ip.example.", RFC5952, "without a closing"},
		{"{ip}.", RFC5952, "has no zone"},
		{"{hex}.", RFC5952, "has no zone"},
		{"{ip}..", RFC5952, "is not a valid domain name: empty label"},
		{"{ip}.a..b.", RFC5952, "is not a valid domain name: empty label"},
		{"{ip}.exa_mple.", RFC5952, "is not a valid domain name"},
		{"{ip}.exa mple.", RFC5952, "is not a valid domain name"},
		{"{ip}.-example.", RFC5952, "is not a valid domain name"},
		{"{ip}.example-.", RFC5952, "is not a valid domain name"},
		{"{ip}.ex}ample.", RFC5952, "is not a valid domain name"},
		{"{ip}." + strings.Repeat("a", 64) + ".", RFC5952, "is not a valid domain name"},
		{"ip_{ip}.example.", RFC5952, "may hold only letters, digits and hyphens"},
		{"ip}{ip}.example.", RFC5952, "may hold only letters, digits and hyphens"},
		{" {ip}.example.", RFC5952, "may hold only letters, digits and hyphens"},
		{"{ip}\\.x.example.", RFC5952, "may hold only letters, digits and hyphens"},
		{"-{ip}.example.", RFC5952, "may not begin or end with a hyphen"},
		{"{hex}-.example.", RFC5952, "may not begin or end with a hyphen"},
		{strings.Repeat("a", 25) + "{ip}.example.", RFC5952, "first label could be 64 octets"},
		{strings.Repeat("a", 12) + "{ip}" + strings.Repeat("b", 13) + ".example.", Knot, "first label could be 64 octets"},
		{strings.Repeat("a", 32) + "{hex}.example.", RFC5952, "first label could be 64 octets"},
		{"{ip}." + long + strings.Repeat("b", 22) + ".", RFC5952, "a name could be 256 octets"},
		{"{hex}." + long + strings.Repeat("b", 29) + ".", RFC5952, "a name could be 256 octets"},
		{"{ip}.example.", Style(2), "unknown style"},
		{"{ip}.example.", Style(-1), "unknown style"},
	}
	for _, tc := range tests {
		got, err := ParseTemplate(tc.in, tc.style)
		if err == nil {
			t.Errorf("ParseTemplate(%q) = %q, want error %q", tc.in, got, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseTemplate(%q) error = %q, want it to contain %q", tc.in, err, tc.want)
		}
	}
}

func TestName(t *testing.T) {
	tests := []struct {
		template string
		style    Style
		addr     string
		want     string
	}{
		{"ip-{ip}.dyn.example.com.", RFC5952, "192.0.2.10", "ip-192-0-2-10.dyn.example.com."},
		{"ip-{ip}.dyn.example.com.", RFC5952, "2001:db8::1", "ip-2001-db8--1.dyn.example.com."},
		{"ip-{ip}.dyn.example.com.", RFC5952, "::", "ip-0--0.dyn.example.com."},
		{"ip-{ip}.dyn.example.com.", Knot, "::", "ip-0-0--0.dyn.example.com."},
		{"{ip}-host.example.", Knot, "2620:0:b61::1", "2620-0-b61--1-host.example."},
		{"{ip}.example.", RFC5952, "aa::", "0aa--0.example."},
		{"{hex}.example.", RFC5952, "127.0.2.5", "7f000205.example."},
		{"{hex}.example.", Knot, "2001:db8::1", "20010db8000000000000000000000001.example."},
		{"H-{HEX}-X.Example.", RFC5952, "192.0.2.10", "h-c000020a-x.example."},
	}
	for _, tc := range tests {
		tpl := mustTemplate(t, tc.template, tc.style)
		addr := netip.MustParseAddr(tc.addr)
		if got := tpl.Name(addr); got != tc.want {
			t.Errorf("%q.Name(%s) = %q, want %q", tc.template, tc.addr, got, tc.want)
		}
		if got := string(tpl.AppendName([]byte("x"), addr)); got != "x"+tc.want {
			t.Errorf("%q.AppendName(x, %s) = %q, want %q", tc.template, tc.addr, got, "x"+tc.want)
		}
	}
	tpl := mustTemplate(t, "ip-{ip}.example.", RFC5952)
	if got := tpl.Name(netip.Addr{}); got != "" {
		t.Errorf("Name of the zero Addr = %q, want \"\"", got)
	}
	if got := (Template{}).Name(netip.MustParseAddr("192.0.2.10")); got != "" {
		t.Errorf("zero Template Name = %q, want \"\"", got)
	}
}

func TestParseName(t *testing.T) {
	tests := []struct {
		template string
		style    Style
		name     string
		want     string // address, or "" when the name must be refused
	}{
		{"ip-{ip}.dyn.example.com.", RFC5952, "ip-192-0-2-10.dyn.example.com.", "192.0.2.10"},
		{"ip-{ip}.dyn.example.com.", RFC5952, "IP-192-0-2-10.DYN.EXAMPLE.COM.", "192.0.2.10"},
		{"ip-{ip}.dyn.example.com.", RFC5952, "ip-2001-DB8--1.dyn.Example.com.", "2001:db8::1"},
		{"ip-{ip}.dyn.example.com.", RFC5952, "ip-0--ffff-c000-20a.dyn.example.com.", "::ffff:192.0.2.10"},
		{"ip-{ip}.dyn.example.com.", Knot, "ip-0-0--0.dyn.example.com.", "::"},
		{"{ip}-host.example.", RFC5952, "192-0-2-10-host.example.", "192.0.2.10"},
		{"{ip}-host.example.", RFC5952, "0aa--1-host.example.", "aa::1"},
		{"{hex}.example.", RFC5952, "7F000205.example.", "127.0.2.5"},
		{"{hex}.example.", RFC5952, "20010db8000000000000000000000001.EXAMPLE.", "2001:db8::1"},
		{"a{hex}b.example.", RFC5952, "a7f000205b.example.", "127.0.2.5"},

		{"ip-{ip}.dyn.example.com.", RFC5952, "ip-192-0-2-10.other.example.", ""},
		{"ip-{ip}.dyn.example.com.", RFC5952, "x.ip-192-0-2-10.dyn.example.com.", ""},
		{"ip-{ip}.dyn.example.com.", RFC5952, "ip-192-0-2-10.x.dyn.example.com.", ""},
		{"ip-{ip}.dyn.example.com.", RFC5952, "ip-192-0-2-10.dyn.example.com", ""},
		{"ip-{ip}.dyn.example.com.", RFC5952, "ip-192-0-2-10.dyn.example.com..", ""},
		{"ip-{ip}.dyn.example.com.", RFC5952, "ip-192-0-2-10.example.com.", ""},
		{"ip-{ip}.dyn.example.com.", RFC5952, "id-192-0-2-10.dyn.example.com.", ""},
		{"ip-{ip}.dyn.example.com.", RFC5952, "192-0-2-10.dyn.example.com.", ""},
		{"ip-{ip}.dyn.example.com.", RFC5952, "ip192-0-2-10.dyn.example.com.", ""},
		{"ip-{ip}.dyn.example.com.", RFC5952, "ip-.dyn.example.com.", ""},
		{"ip-{ip}.dyn.example.com.", RFC5952, "ip.dyn.example.com.", ""},
		{"ip-{ip}.dyn.example.com.", RFC5952, "ip-192-0-2-010.dyn.example.com.", ""},
		{"ip-{ip}.dyn.example.com.", RFC5952, "ip-c000020a.dyn.example.com.", ""},
		{"ip-{ip}.dyn.example.com.", RFC5952, "ip-0-0--0.dyn.example.com.", ""},
		{"ip-{ip}.dyn.example.com.", Knot, "ip-0--0.dyn.example.com.", ""},
		{"ip-{ip}.dyn.example.com.", RFC5952, "dyn.example.com.", ""},
		{"ip-{ip}.dyn.example.com.", RFC5952, ".", ""},
		{"ip-{ip}.dyn.example.com.", RFC5952, "", ""},
		{"{ip}-host.example.", RFC5952, "192-0-2-10-hast.example.", ""},
		{"{ip}-host.example.", RFC5952, "192-0-2-10.example.", ""},
		{"{ip}-host.example.", RFC5952, "192-0-2-10host.example.", ""},
		{"{ip}-host.example.", RFC5952, "-host.example.", ""},
		{"a{hex}b.example.", RFC5952, "a7f000205c.example.", ""},
		{"{hex}.example.", RFC5952, "192-0-2-10.example.", ""},
		// DNS folds ASCII case only: a Kelvin sign is not a 'k'.
		{"ip-{ip}.k8s.example.", RFC5952, "ip-192-0-2-10.\u212a8s.example.", ""},
		{"ip-{ip}.k8s.example.", RFC5952, "ip-192-0-2-10.K8S.example.", "192.0.2.10"},
	}
	for _, tc := range tests {
		tpl := mustTemplate(t, tc.template, tc.style)
		got, ok := tpl.ParseName(tc.name)
		if tc.want == "" {
			if ok {
				t.Errorf("%q.ParseName(%q) = %v, want refused", tc.template, tc.name, got)
			}
			continue
		}
		if want := netip.MustParseAddr(tc.want); !ok || got != want {
			t.Errorf("%q.ParseName(%q) = %v, %v; want %v", tc.template, tc.name, got, ok, want)
		}
	}
	if got, ok := (Template{}).ParseName("192-0-2-10."); ok {
		t.Errorf("zero Template ParseName = %v, want refused", got)
	}
}

// TestNoAllocs holds ParseName and AppendName to no allocations, because they
// run on every query.
func TestNoAllocs(t *testing.T) {
	v4, v6 := netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8:85a3::8a2e:370:7334")
	for _, tc := range []struct {
		template string
		style    Style
	}{
		{"ip-{ip}.dyn.example.com.", RFC5952},
		{"ip-{ip}.dyn.example.com.", Knot},
		{"h-{hex}.dyn.example.com.", RFC5952},
	} {
		tpl := mustTemplate(t, tc.template, tc.style)
		n4, n6 := strings.ToUpper(tpl.Name(v4)), tpl.Name(v6)
		buf := make([]byte, 0, 256)
		if n := testing.AllocsPerRun(100, func() {
			buf = tpl.AppendName(buf[:0], v4)
			buf = tpl.AppendName(buf[:0], v6)
		}); n != 0 {
			t.Errorf("%q (%v): AppendName allocates %v times per run", tc.template, tc.style, n)
		}
		if n := testing.AllocsPerRun(100, func() {
			if a, ok := tpl.ParseName(n4); !ok || a != v4 {
				t.Fatalf("ParseName(%q) = %v, %v", n4, a, ok)
			}
			if a, ok := tpl.ParseName(n6); !ok || a != v6 {
				t.Fatalf("ParseName(%q) = %v, %v", n6, a, ok)
			}
			tpl.ParseName("ip-192-0-2-010.dyn.example.com.")
		}); n != 0 {
			t.Errorf("%q (%v): ParseName allocates %v times per run", tc.template, tc.style, n)
		}
	}
}

// powerDNS33 renders addr as PowerDNS's %33% does, by editing the RFC 5952
// text of netip, to check appendRFC5952 against an independent derivation.
// It does not apply to IPv4-mapped addresses, which netip writes dotted.
func powerDNS33(addr netip.Addr) string {
	s := strings.ReplaceAll(addr.String(), ":", "-")
	if strings.HasSuffix(s, "-") {
		s += "0"
	}
	if strings.HasPrefix(s, "-") || (len(s) >= 4 && s[2:4] == "--") {
		s = "0" + s
	}
	return s
}

// validLabel reports whether s is a host name label that IDNA does not
// reserve: letters, digits and hyphens, no hyphen at either end, and no "--"
// at positions 3 and 4.
func validLabel(s string) bool {
	return s != "" && len(s) <= 63 && isLDH(s) && s[0] != '-' && s[len(s)-1] != '-' &&
		(len(s) < 4 || s[2:4] != "--")
}

func FuzzParseIP(f *testing.F) {
	for _, v := range ipVectors {
		f.Add(v.rfc5952)
		f.Add(v.knot)
	}
	for _, s := range []string{"192-000-2-10", "0aa--0", "aa--0", "--1", "1--", "1-2-3-4-5-6-7--8", "2001-DB8--1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, s := range styles {
			addr, ok := ParseIP(text, s)
			if !ok {
				continue
			}
			if back := string(AppendIP(nil, addr, s)); !strings.EqualFold(back, text) {
				t.Fatalf("ParseIP(%q, %v) = %v, whose rendering is %q", text, s, addr, back)
			}
		}
		if addr, ok := ParseHex(text); ok {
			if back := string(AppendHex(nil, addr)); !strings.EqualFold(back, text) {
				t.Fatalf("ParseHex(%q) = %v, whose rendering is %q", text, addr, back)
			}
		}
	})
}

func FuzzRenderIP(f *testing.F) {
	for _, v := range ipVectors {
		f.Add(netip.MustParseAddr(v.addr).AsSlice())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		addr, ok := netip.AddrFromSlice(b)
		if !ok {
			return
		}
		for _, s := range styles {
			text := string(AppendIP(nil, addr, s))
			if !validLabel(text) || len(text) > maxIPLen {
				t.Fatalf("AppendIP(%v, %v) = %q, not a valid label of at most %d octets", addr, s, text, maxIPLen)
			}
			if got, ok := ParseIP(text, s); !ok || got != addr {
				t.Fatalf("ParseIP(AppendIP(%v, %v) = %q) = %v, %v", addr, s, text, got, ok)
			}
		}
		if addr.Is6() && !addr.Is4In6() {
			if got, want := string(AppendIP(nil, addr, RFC5952)), powerDNS33(addr); got != want {
				t.Fatalf("AppendIP(%v, rfc5952) = %q, PowerDNS gives %q", addr, got, want)
			}
		}
		hex := string(AppendHex(nil, addr))
		if len(hex) != 2*len(b) {
			t.Fatalf("AppendHex(%v) = %q, want %d digits", addr, hex, 2*len(b))
		}
		if got, ok := ParseHex(hex); !ok || got != addr {
			t.Fatalf("ParseHex(AppendHex(%v) = %q) = %v, %v", addr, hex, got, ok)
		}
	})
}

func FuzzTemplateName(f *testing.F) {
	templates := []Template{
		mustTemplate(f, "ip-{ip}.dyn.example.com.", RFC5952),
		mustTemplate(f, "{ip}-x.dyn.example.", Knot),
		mustTemplate(f, "h{hex}.example.", RFC5952),
	}
	for _, v := range ipVectors {
		addr := netip.MustParseAddr(v.addr)
		f.Add(addr.AsSlice(), templates[0].Name(addr))
		f.Add(addr.AsSlice(), strings.ToUpper(templates[1].Name(addr)))
	}
	f.Add([]byte{127, 0, 2, 5}, "h7f000205.example.")
	f.Add([]byte{}, "x.ip-192-0-2-10.dyn.example.com.")
	f.Add([]byte{}, "ip-0-0--0.dyn.example.com.")
	f.Fuzz(func(t *testing.T, b []byte, name string) {
		for _, tpl := range templates {
			if addr, ok := netip.AddrFromSlice(b); ok {
				n := tpl.Name(addr)
				if got, ok := tpl.ParseName(n); !ok || got != addr {
					t.Fatalf("%q.ParseName(%q) = %v, %v; want %v", tpl, n, got, ok, addr)
				}
			}
			if addr, ok := tpl.ParseName(name); ok {
				if back := tpl.Name(addr); !strings.EqualFold(back, name) {
					t.Fatalf("%q.ParseName(%q) = %v, whose name is %q", tpl, name, addr, back)
				}
			}
		}
	})
}

func BenchmarkAppendIP(b *testing.B) {
	for _, bc := range []struct {
		name  string
		addr  string
		style Style
	}{
		{"v4", "192.0.2.10", RFC5952},
		{"v6", "2001:db8:85a3::8a2e:370:7334", RFC5952},
		{"v6-knot", "2001:db8:85a3::8a2e:370:7334", Knot},
	} {
		addr := netip.MustParseAddr(bc.addr)
		b.Run(bc.name, func(b *testing.B) {
			buf := make([]byte, 0, 64)
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendIP(buf[:0], addr, bc.style)
			}
		})
	}
}

func BenchmarkParseName(b *testing.B) {
	tpl := mustTemplate(b, "ip-{ip}.dyn.example.com.", RFC5952)
	for _, bc := range []struct{ name, qname string }{
		{"v4", "ip-192-0-2-10.dyn.example.com."},
		{"v6", "ip-2001-db8-85a3--8a2e-370-7334.dyn.example.com."},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := tpl.ParseName(bc.qname); !ok {
					b.Fatal("refused", bc.qname)
				}
			}
		})
	}
}

func ExampleTemplate() {
	tpl, err := ParseTemplate("ip-{ip}.dyn.example.com.", RFC5952)
	if err != nil {
		panic(err)
	}
	fmt.Println(tpl.Name(netip.MustParseAddr("192.0.2.10")))
	fmt.Println(tpl.Name(netip.MustParseAddr("2001:db8::1")))
	fmt.Println(tpl.ParseName("IP-2001-DB8--1.dyn.example.com."))
	// Output:
	// ip-192-0-2-10.dyn.example.com.
	// ip-2001-db8--1.dyn.example.com.
	// 2001:db8::1 true
}
