package rptr

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/pkg/fall"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"

	"github.com/rptr-dns/rptr/reverse"
	"github.com/rptr-dns/rptr/synth"
)

// wantLine is a synthesize line as parse should produce it.
type wantLine struct {
	tmpl     string
	networks []string // as the line names them; nil when it names none
	defaults []string // without networks: the reverse zones the line covers
	ttl      uint32
	hasTTL   bool
	style    synth.Style
}

// synthLines returns the lines of p's forward zones, zone by zone.
func synthLines(p *RPTR) []*synthLine {
	var lines []*synthLine
	for _, z := range p.zones {
		lines = append(lines, z.forward...)
	}
	return lines
}

// ruleNetworks returns the networks the synthesizer holds for line l, sorted.
func ruleNetworks(s *synthesizer, l *synthLine) []string {
	var nets []string
	for _, r := range s.rules {
		if r.line == l {
			nets = append(nets, r.network.String())
		}
	}
	slices.Sort(nets)
	return nets
}

func prefixStrings(ps []netip.Prefix) []string {
	if ps == nil {
		return nil
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func TestParseSynthesize(t *testing.T) {
	const dyn = "ip-{ip}.dyn.example.com."
	tests := []struct {
		name  string
		input string
		keys  []string
		want  []wantLine
	}{
		{
			name:  "template only: the reverse zones",
			input: "rptr 192.0.2.0/24 2001:db8::/32 {\n\tsynthesize " + dyn + "\n}",
			want:  []wantLine{{tmpl: dyn, defaults: []string{"192.0.2.0/24", "2001:db8::/32"}}},
		},
		{
			name:  "template only: reverse zones from the server block",
			input: "rptr {\n\tsynthesize " + dyn + "\n}",
			keys:  []string{"2.0.192.in-addr.arpa.:53"},
			want:  []wantLine{{tmpl: dyn, defaults: []string{"192.0.2.0/24"}}},
		},
		{
			name:  "template only: a reverse zone off the octet boundary",
			input: "rptr 10.0.0.0/23 {\n\tsynthesize " + dyn + "\n}",
			want:  []wantLine{{tmpl: dyn, defaults: []string{"10.0.0.0/24", "10.0.1.0/24"}}},
		},
		{
			name:  "template only: a classless zone",
			input: "rptr 0/25.2.0.192.in-addr.arpa. {\n\tsynthesize host-{ip}.customer.example.com.\n}",
			want:  []wantLine{{tmpl: "host-{ip}.customer.example.com.", defaults: []string{"192.0.2.0/25"}}},
		},
		{
			name:  "CIDRs",
			input: "rptr 192.0.2.0/24 {\n\tsynthesize " + dyn + " 192.0.2.0/25 2001:DB8::/48 10.0.0.0/8\n}",
			want: []wantLine{{
				tmpl:     dyn,
				networks: []string{"192.0.2.0/25", "2001:db8::/48", "10.0.0.0/8"},
			}},
		},
		{
			name:  "IPv4 range",
			input: "rptr 198.51.100.0/24 {\n\tsynthesize " + dyn + " 198.51.100.10-198.51.100.99\n}",
			want: []wantLine{{
				tmpl:     dyn,
				networks: []string{"198.51.100.10/31", "198.51.100.12/30", "198.51.100.16/28", "198.51.100.32/27", "198.51.100.64/27", "198.51.100.96/30"},
			}},
		},
		{
			name:  "IPv6 ranges and a CIDR",
			input: "rptr 2001:db8::/32 {\n\tsynthesize " + dyn + " 2001:db8::-2001:db8::ff 2001:db8::1:1-2001:db8::1:2 2001:db8:1::/48\n}",
			want: []wantLine{{
				tmpl:     dyn,
				networks: []string{"2001:db8::/120", "2001:db8::1:1/128", "2001:db8::1:2/128", "2001:db8:1::/48"},
			}},
		},
		{
			name:  "ttl",
			input: "rptr 192.0.2.0/24 {\n\tsynthesize " + dyn + " 192.0.2.0/24 ttl 60\n}",
			want:  []wantLine{{tmpl: dyn, networks: []string{"192.0.2.0/24"}, ttl: 60, hasTTL: true}},
		},
		{
			name:  "ttl 0 is set",
			input: "rptr 192.0.2.0/24 {\n\tsynthesize " + dyn + " ttl 0\n}",
			want:  []wantLine{{tmpl: dyn, defaults: []string{"192.0.2.0/24"}, ttl: 0, hasTTL: true}},
		},
		{
			name:  "the block ttl is not the line's",
			input: "rptr 192.0.2.0/24 {\n\tttl 120\n\tsynthesize " + dyn + "\n}",
			want:  []wantLine{{tmpl: dyn, defaults: []string{"192.0.2.0/24"}}},
		},
		{
			name:  "style knot",
			input: "rptr 2001:db8::/32 {\n\tsynthesize " + dyn + " style knot\n}",
			want:  []wantLine{{tmpl: dyn, defaults: []string{"2001:db8::/32"}, style: synth.Knot}},
		},
		{
			name:  "style rfc5952",
			input: "rptr 2001:db8::/32 {\n\tsynthesize " + dyn + " style rfc5952\n}",
			want:  []wantLine{{tmpl: dyn, defaults: []string{"2001:db8::/32"}, style: synth.RFC5952}},
		},
		{
			name:  "style in upper case",
			input: "rptr 2001:db8::/32 {\n\tsynthesize " + dyn + " style KNOT\n}",
			want:  []wantLine{{tmpl: dyn, defaults: []string{"2001:db8::/32"}, style: synth.Knot}},
		},
		{
			name:  "keywords in any order",
			input: "rptr 192.0.2.0/24 {\n\tsynthesize " + dyn + " ttl 30 192.0.2.0/25 style knot 2001:db8::/48\n}",
			want: []wantLine{{
				tmpl: dyn, networks: []string{"192.0.2.0/25", "2001:db8::/48"},
				ttl: 30, hasTTL: true, style: synth.Knot,
			}},
		},
		{
			name:  "style before ttl, no networks",
			input: "rptr 192.0.2.0/24 {\n\tsynthesize " + dyn + " style knot ttl 5\n}",
			want:  []wantLine{{tmpl: dyn, defaults: []string{"192.0.2.0/24"}, ttl: 5, hasTTL: true, style: synth.Knot}},
		},
		{
			name:  "template in upper case",
			input: "rptr 192.0.2.0/24 {\n\tsynthesize IP-{ip}.Dyn.Example.COM.\n}",
			want:  []wantLine{{tmpl: dyn, defaults: []string{"192.0.2.0/24"}}},
		},
		{
			name: "several lines, default and explicit",
			input: "rptr 192.0.2.0/24 {\n" +
				"\tsynthesize " + dyn + "\n" +
				"\tsynthesize pool-{ip}.dyn.example.com. 192.0.2.128/25 ttl 10\n" +
				"\tsynthesize {hex}.hex.example.com. 2001:db8::/32\n}",
			want: []wantLine{
				{tmpl: dyn, defaults: []string{"192.0.2.0/24"}},
				{tmpl: "pool-{ip}.dyn.example.com.", networks: []string{"192.0.2.128/25"}, ttl: 10, hasTTL: true},
				{tmpl: "{hex}.hex.example.com.", networks: []string{"2001:db8::/32"}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parseBlock(tc.input, tc.keys...)
			if err != nil {
				t.Fatalf("parse(%q): %v", tc.input, err)
			}
			if p.synth == nil {
				t.Fatal("no synthesizer")
			}
			lines := synthLines(p)
			if len(lines) != len(tc.want) {
				t.Fatalf("%d lines, want %d", len(lines), len(tc.want))
			}
			for i, w := range tc.want {
				l := lines[i]
				if got := l.tmpl.String(); got != w.tmpl {
					t.Errorf("line %d template = %q, want %q", i, got, w.tmpl)
				}
				if got := prefixStrings(l.networks); !slices.Equal(got, w.networks) {
					t.Errorf("line %d networks = %q, want %q", i, got, w.networks)
				}
				// The synthesizer holds the line's own networks, or else
				// the defaults.
				rules := w.defaults
				if w.networks != nil {
					rules = slices.Sorted(slices.Values(w.networks))
				}
				if got := ruleNetworks(p.synth, l); !slices.Equal(got, rules) {
					t.Errorf("line %d synthesizes for %q, want %q", i, got, rules)
				}
				if l.ttl != w.ttl || l.hasTTL != w.hasTTL {
					t.Errorf("line %d ttl = %d (set %t), want %d (set %t)", i, l.ttl, l.hasTTL, w.ttl, w.hasTTL)
				}
				if got := l.tmpl.Style(); got != w.style {
					t.Errorf("line %d style = %s, want %s", i, got, w.style)
				}
			}
		})
	}
}

// TestParseSynthesizeZones checks the zones parse derives from the
// templates: one forward zone per distinct template zone, after the reverse
// zones, and ZONES that name a template's zone or a parent of it.
func TestParseSynthesizeZones(t *testing.T) {
	fwd := func(origin string, tmpls ...string) zone {
		z := zone{origin: origin}
		for _, s := range tmpls {
			tmpl, err := synth.ParseTemplate(s, synth.RFC5952)
			if err != nil {
				t.Fatal(err)
			}
			z.forward = append(z.forward, &synthLine{tmpl: tmpl})
		}
		return z
	}
	tests := []struct {
		name  string
		input string
		keys  []string
		want  []zone
	}{
		{
			name:  "reverse zone and a template",
			input: "rptr 192.0.2.0/24 {\n\tsynthesize ip-{ip}.dyn.example.com.\n}",
			want:  []zone{wantZone("2.0.192.in-addr.arpa.", "192.0.2.0/24"), fwd("dyn.example.com.", "ip-{ip}.dyn.example.com.")},
		},
		{
			name:  "ZONES is only the template's zone",
			input: "rptr dyn.example.com. {\n\tsynthesize ip-{ip}.dyn.example.com. 192.0.2.0/24\n}",
			want:  []zone{fwd("dyn.example.com.", "ip-{ip}.dyn.example.com.")},
		},
		{
			name:  "ZONES is only a parent of the template's zone",
			input: "rptr example.com. {\n\tsynthesize ip-{ip}.dyn.example.com. 192.0.2.0/24\n}",
			want:  []zone{fwd("dyn.example.com.", "ip-{ip}.dyn.example.com.")},
		},
		{
			name:  "a parent of the template's zone and a reverse zone",
			input: "rptr EXAMPLE.COM 192.0.2.0/24 {\n\tsynthesize ip-{ip}.dyn.example.com.\n}",
			want:  []zone{wantZone("2.0.192.in-addr.arpa.", "192.0.2.0/24"), fwd("dyn.example.com.", "ip-{ip}.dyn.example.com.")},
		},
		{
			name:  "server block key is the template's zone",
			input: "rptr {\n\tsynthesize ip-{ip}.dyn.example.com. 192.0.2.0/24\n}",
			keys:  []string{"dyn.example.com.:53"},
			want:  []zone{fwd("dyn.example.com.", "ip-{ip}.dyn.example.com.")},
		},
		{
			name: "two templates share a zone",
			input: "rptr 192.0.2.0/24 {\n" +
				"\tsynthesize ip-{ip}.dyn.example.com.\n" +
				"\tsynthesize {hex}.Dyn.Example.com. 2001:db8::/32\n}",
			want: []zone{
				wantZone("2.0.192.in-addr.arpa.", "192.0.2.0/24"),
				fwd("dyn.example.com.", "ip-{ip}.dyn.example.com.", "{hex}.dyn.example.com."),
			},
		},
		{
			name: "three templates in two zones",
			input: "rptr 192.0.2.0/24 2001:db8::/32 {\n" +
				"\tsynthesize ip-{ip}.b.example.com. 192.0.2.0/24\n" +
				"\tsynthesize ip-{ip}.a.example.com. 2001:db8::/32\n" +
				"\tsynthesize pool-{ip}.b.example.com. 192.0.2.0/25\n}",
			want: []zone{
				wantZone("2.0.192.in-addr.arpa.", "192.0.2.0/24"),
				wantZone("8.b.d.0.1.0.0.2.ip6.arpa.", "2001:db8::/32"),
				fwd("b.example.com.", "ip-{ip}.b.example.com.", "pool-{ip}.b.example.com."),
				fwd("a.example.com.", "ip-{ip}.a.example.com."),
			},
		},
		{
			name: "nested template zones are two zones",
			input: "rptr 192.0.2.0/24 {\n" +
				"\tsynthesize ip-{ip}.example.com. 192.0.2.0/25\n" +
				"\tsynthesize ip-{ip}.dyn.example.com. 192.0.2.128/25\n}",
			want: []zone{
				wantZone("2.0.192.in-addr.arpa.", "192.0.2.0/24"),
				fwd("example.com.", "ip-{ip}.example.com."),
				fwd("dyn.example.com.", "ip-{ip}.dyn.example.com."),
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parseBlock(tc.input, tc.keys...)
			if err != nil {
				t.Fatalf("parse(%q): %v", tc.input, err)
			}
			if !sameZones(p.zones, tc.want) {
				t.Errorf("zones = %v, want %v", p.zones, tc.want)
			}
			var origins []string
			for _, w := range tc.want {
				origins = append(origins, w.origin)
			}
			if !slices.Equal(p.origins, origins) {
				t.Errorf("origins = %q, want %q", p.origins, origins)
			}
		})
	}
}

func TestParseSynthesizeErrors(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		keys    []string
		wantErr string // a part of the error message
		line    int    // the line the error must name
	}{
		// Mistakes in the line itself name the line.
		{name: "no template", input: "rptr . {\n\tsynthesize\n}", wantErr: "Wrong argument count", line: 2},
		{name: "no placeholder", input: "rptr . {\n\tttl 60\n\tsynthesize ip.dyn.example.com.\n}", wantErr: `synthesize template "ip.dyn.example.com.": `, line: 3},
		{name: "placeholder outside the first label", input: "rptr . {\n\tsynthesize ip.{ip}.example.com.\n}", wantErr: "must be in the first label", line: 2},
		{name: "unknown placeholder", input: "rptr . {\n\tsynthesize ip-{addr}.example.com.\n}", wantErr: "unknown placeholder {addr}", line: 2},
		{name: "relative template", input: "rptr . {\n\tsynthesize ip-{ip}.dyn.example.com\n}", wantErr: "is not absolute", line: 2},
		{name: "template without a zone", input: "rptr . {\n\tsynthesize ip-{ip}.\n}", wantErr: "has no zone", line: 2},
		{name: "unknown style", input: "rptr . {\n\tsynthesize ip-{ip}.dyn.example.com. style bind\n}", wantErr: `synthesize style: unknown style "bind"`, line: 2},
		{name: "ttl without a value", input: "rptr . {\n\tsynthesize ip-{ip}.dyn.example.com. ttl\n}", wantErr: "synthesize: ttl needs a value", line: 2},
		{name: "ttl without a value after a network", input: "rptr . {\n\tprefix p:\n\tsynthesize ip-{ip}.dyn.example.com. 192.0.2.0/24 ttl\n}", wantErr: "synthesize: ttl needs a value", line: 3},
		{name: "ttl negative", input: "rptr . {\n\tsynthesize ip-{ip}.dyn.example.com. ttl -1\n}", wantErr: `synthesize ttl "-1" is not a number of seconds from 0 to 2147483647`, line: 2},
		{name: "ttl above 2^31-1", input: "rptr . {\n\tsynthesize ip-{ip}.dyn.example.com. ttl 2147483648\n}", wantErr: `synthesize ttl "2147483648" is not a number of seconds`, line: 2},
		{name: "ttl with a unit", input: "rptr . {\n\tsynthesize ip-{ip}.dyn.example.com. ttl 1h 192.0.2.0/24\n}", wantErr: `synthesize ttl "1h"`, line: 2},
		{name: "style without a value", input: "rptr . {\n\tsynthesize ip-{ip}.dyn.example.com. ttl 60 style\n}", wantErr: "synthesize: style needs a value", line: 2},
		{name: "host bits", input: "rptr . {\n\tsynthesize ip-{ip}.dyn.example.com. 192.0.2.1/24\n}", wantErr: "network 192.0.2.1/24 has host bits set; did you mean 192.0.2.0/24?", line: 2},
		{name: "IPv6 host bits", input: "rptr . {\n\tsynthesize ip-{ip}.dyn.example.com. 2001:db8::1/64\n}", wantErr: "did you mean 2001:db8::/64?", line: 2},
		{name: "range LAST below FIRST", input: "rptr . {\n\tsynthesize ip-{ip}.dyn.example.com. 192.0.2.9-192.0.2.1\n}", wantErr: `range "192.0.2.9-192.0.2.1": LAST must be of the same family as FIRST and not below it`, line: 2},
		{name: "IPv6 range LAST below FIRST", input: "rptr . {\n\tsynthesize ip-{ip}.dyn.example.com. 2001:db8::2-2001:db8::1\n}", wantErr: "LAST must be", line: 2},
		{name: "range of mixed families", input: "rptr . {\n\tsynthesize ip-{ip}.dyn.example.com. 192.0.2.1-2001:db8::1\n}", wantErr: "LAST must be of the same family", line: 2},
		{name: "range to an IPv4-mapped address", input: "rptr . {\n\tsynthesize ip-{ip}.dyn.example.com. 192.0.2.1-::ffff:192.0.2.9\n}", wantErr: "LAST must be of the same family", line: 2},
		{name: "range without LAST", input: "rptr . {\n\tsynthesize ip-{ip}.dyn.example.com. 192.0.2.1-\n}", wantErr: `range "192.0.2.1-" is not FIRST-LAST`, line: 2},
		{name: "range of CIDRs", input: "rptr . {\n\tsynthesize ip-{ip}.dyn.example.com. 192.0.2.0/25-192.0.2.128/25\n}", wantErr: "is not FIRST-LAST", line: 2},
		{name: "range with zones", input: "rptr . {\n\tsynthesize ip-{ip}.dyn.example.com. fe80::1%eth0-fe80::2%eth0\n}", wantErr: "is not FIRST-LAST", line: 2},
		{name: "garbage network", input: "rptr . {\n\tsynthesize ip-{ip}.dyn.example.com. example.com\n}", wantErr: `network "example.com" is neither a CIDR nor a FIRST-LAST range`, line: 2},
		{name: "address without a length", input: "rptr . {\n\tsynthesize ip-{ip}.dyn.example.com. 192.0.2.1\n}", wantErr: "is neither a CIDR", line: 2},
		{name: "IPv4 /33", input: "rptr . {\n\tsynthesize ip-{ip}.dyn.example.com. 192.0.2.0/33\n}", wantErr: "is neither a CIDR", line: 2},
		{name: "TTL keyword in upper case", input: "rptr . {\n\tsynthesize ip-{ip}.dyn.example.com. TTL 60\n}", wantErr: `network "TTL"`, line: 2},

		// Mistakes found once the whole block is read name the directive.
		{name: "template zone under arpa.", input: "# c\nrptr . {\n\tsynthesize ip-{ip}.in-addr.arpa. 192.0.2.0/24\n}", wantErr: "its zone in-addr.arpa. is under arpa.", line: 3},
		{name: "template zone arpa.", input: "rptr . {\n\tsynthesize ip-{ip}.arpa. 192.0.2.0/24\n}", wantErr: "is under arpa.", line: 2},
		{
			name:    "two lines with the same network",
			input:   "\nrptr 192.0.2.0/24 {\n\tsynthesize ip-{ip}.dyn.example.com. 192.0.2.0/24\n\tsynthesize host-{ip}.dyn.example.com. 192.0.2.0/24\n}",
			wantErr: "network 192.0.2.0/24 is in two synthesize lines, ip-{ip}.dyn.example.com. and host-{ip}.dyn.example.com.",
			line:    2,
		},
		{
			name:    "two lines defaulting to the same reverse zone",
			input:   "rptr 192.0.2.0/24 {\n\tsynthesize ip-{ip}.dyn.example.com.\n\tsynthesize host-{ip}.other.example.com.\n}",
			wantErr: "network 192.0.2.0/24 is in two synthesize lines",
			line:    1,
		},
		{
			name:    "a range and a CIDR with a network in common",
			input:   "rptr 192.0.2.0/24 {\n\tsynthesize ip-{ip}.dyn.example.com. 192.0.2.0-192.0.2.127\n\tsynthesize host-{ip}.dyn.example.com. 192.0.2.0/25\n}",
			wantErr: "network 192.0.2.0/25 is in two synthesize lines",
			line:    1,
		},
		{
			name:    "no networks and no reverse zones",
			input:   "rptr {\n\tsynthesize ip-{ip}.dyn.example.com.\n}",
			keys:    []string{"dyn.example.com.:53"},
			wantErr: "synthesize ip-{ip}.dyn.example.com. names no networks and rptr has no reverse zones to default to",
			line:    1,
		},
		{
			name:    "no networks, ZONES only the template's zone",
			input:   "\n\nrptr dyn.example.com. {\n\tsynthesize ip-{ip}.dyn.example.com.\n}",
			wantErr: "names no networks",
			line:    3,
		},
		{
			name:    "a forward zone that holds no template",
			input:   "rptr example.org. 192.0.2.0/24 {\n\tsynthesize ip-{ip}.dyn.example.com.\n}",
			wantErr: "zone example.org. is not a reverse zone",
			line:    1,
		},
		{
			name:    "a zone below the template's zone",
			input:   "rptr a.dyn.example.com. {\n\tsynthesize ip-{ip}.dyn.example.com. 192.0.2.0/24\n}",
			wantErr: "zone a.dyn.example.com. is not a reverse zone",
			line:    1,
		},
		{
			name:    "a server block key that holds no template",
			input:   "rptr {\n\tsynthesize ip-{ip}.dyn.example.com. 192.0.2.0/24\n}",
			keys:    []string{"example.org.:53"},
			wantErr: "zone example.org. is not a reverse zone",
			line:    1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parseBlock(tc.input, tc.keys...)
			if err == nil {
				t.Fatalf("parse(%q) = %+v, want an error", tc.input, p)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
			if at := fmt.Sprintf("Testfile:%d - ", tc.line); !strings.Contains(err.Error(), at) {
				t.Errorf("error %q does not name line %d", err, tc.line)
			}
		})
	}
}

func TestParseNetwork(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"192.0.2.0/24", []string{"192.0.2.0/24"}},
		{"2001:DB8::/32", []string{"2001:db8::/32"}},
		{"0.0.0.0/0", []string{"0.0.0.0/0"}},
		{"::/0", []string{"::/0"}},
		{"192.0.2.7/32", []string{"192.0.2.7/32"}},
		{"192.0.2.0-192.0.2.255", []string{"192.0.2.0/24"}},
		{"192.0.2.1-192.0.2.6", []string{"192.0.2.1/32", "192.0.2.2/31", "192.0.2.4/31", "192.0.2.6/32"}},
		{"192.0.2.0-192.0.2.127", []string{"192.0.2.0/25"}},
		{"192.0.2.0-192.0.2.191", []string{"192.0.2.0/25", "192.0.2.128/26"}},
		{"192.0.2.255-192.0.3.0", []string{"192.0.2.255/32", "192.0.3.0/32"}},
		{"192.0.2.7-192.0.2.7", []string{"192.0.2.7/32"}},
		{"0.0.0.0-255.255.255.255", []string{"0.0.0.0/0"}},
		{"0.0.0.0-127.255.255.255", []string{"0.0.0.0/1"}},
		{"0.0.0.1-255.255.255.255", []string{
			"0.0.0.1/32", "0.0.0.2/31", "0.0.0.4/30", "0.0.0.8/29", "0.0.0.16/28", "0.0.0.32/27", "0.0.0.64/26", "0.0.0.128/25",
			"0.0.1.0/24", "0.0.2.0/23", "0.0.4.0/22", "0.0.8.0/21", "0.0.16.0/20", "0.0.32.0/19", "0.0.64.0/18", "0.0.128.0/17",
			"0.1.0.0/16", "0.2.0.0/15", "0.4.0.0/14", "0.8.0.0/13", "0.16.0.0/12", "0.32.0.0/11", "0.64.0.0/10", "0.128.0.0/9",
			"1.0.0.0/8", "2.0.0.0/7", "4.0.0.0/6", "8.0.0.0/5", "16.0.0.0/4", "32.0.0.0/3", "64.0.0.0/2", "128.0.0.0/1",
		}},
		{"255.255.255.255-255.255.255.255", []string{"255.255.255.255/32"}},
		{"::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", []string{"::/0"}},
		{"::-::", []string{"::/128"}},
		{"2001:db8::1-2001:db8::1", []string{"2001:db8::1/128"}},
		{"2001:db8::-2001:db8::ff", []string{"2001:db8::/120"}},
		{"2001:db8::-2001:db8:0:ffff:ffff:ffff:ffff:ffff", []string{"2001:db8::/48"}},
		{"2001:db8::1-2001:db8::6", []string{"2001:db8::1/128", "2001:db8::2/127", "2001:db8::4/127", "2001:db8::6/128"}},
		{"2001:db8:0:ffff:ffff:ffff:ffff:ffff-2001:db8:1::", []string{"2001:db8:0:ffff:ffff:ffff:ffff:ffff/128", "2001:db8:1::/128"}},
		{"2001:DB8::10-2001:db8::1f", []string{"2001:db8::10/124"}},
		{"::ffff:192.0.2.0-::ffff:192.0.2.255", []string{"::ffff:192.0.2.0/120"}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseNetwork(tc.in)
			if err != nil {
				t.Fatalf("parseNetwork(%q): %v", tc.in, err)
			}
			if s := prefixStrings(got); !slices.Equal(s, tc.want) {
				t.Errorf("parseNetwork(%q) = %q, want %q", tc.in, s, tc.want)
			}
		})
	}
}

func TestParseNetworkErrors(t *testing.T) {
	for _, in := range []string{
		"", "-", "192.0.2.1", "192.0.2.1/24", "192.0.2.0/33", "2001:db8::/129", "2001:db8::1/64",
		"192.0.2.9-192.0.2.1", "2001:db8::2-2001:db8::1", "192.0.2.1-2001:db8::1", "2001:db8::1-192.0.2.1",
		"::ffff:192.0.2.1-192.0.2.9", "192.0.2.1-", "-192.0.2.1", "192.0.2.1-192.0.2.2-192.0.2.3",
		"fe80::1%eth0-fe80::2", "fe80::1-fe80::2%eth0", "example.com", "192.0.2.0/24 ",
	} {
		if got, err := parseNetwork(in); err == nil {
			t.Errorf("parseNetwork(%q) = %q, want an error", in, prefixStrings(got))
		}
	}
}

func TestLastAddr(t *testing.T) {
	for _, tc := range []struct{ prefix, want string }{
		{"192.0.2.0/24", "192.0.2.255"},
		{"192.0.2.128/25", "192.0.2.255"},
		{"192.0.2.4/31", "192.0.2.5"},
		{"192.0.2.7/32", "192.0.2.7"},
		{"10.0.0.0/8", "10.255.255.255"},
		{"0.0.0.0/0", "255.255.255.255"},
		{"2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"2001:db8::/120", "2001:db8::ff"},
		{"2001:db8::/125", "2001:db8::7"},
		{"2001:db8::1/128", "2001:db8::1"},
		{"::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"::ffff:192.0.2.0/120", "::ffff:192.0.2.255"}, // stays IPv6
	} {
		got := lastAddr(netip.MustParsePrefix(tc.prefix))
		if got != netip.MustParseAddr(tc.want) {
			t.Errorf("lastAddr(%s) = %v, want %s", tc.prefix, got, tc.want)
		}
	}
}

// randomRange returns a random range of the family of bits (32 or 128):
// two random addresses that share a random number of leading bits, so that
// ranges of every size turn up.
func randomRange(r *rand.Rand, bits int) (first, last netip.Addr) {
	var a, b [16]byte
	for i := range a {
		a[i], b[i] = byte(r.Uint32()), byte(r.Uint32())
	}
	common := r.IntN(bits + 1)
	for i := 0; i < common; i++ {
		mask := byte(0x80) >> (i % 8)
		b[i/8] = b[i/8]&^mask | a[i/8]&mask
	}
	if bits == 32 {
		first, last = netip.AddrFrom4([4]byte(a[:4])), netip.AddrFrom4([4]byte(b[:4]))
	} else {
		first, last = netip.AddrFrom16(a), netip.AddrFrom16(b)
	}
	if last.Less(first) {
		first, last = last, first
	}
	return first, last
}

// checkRangePrefixes checks that ps cover exactly first to last, in order,
// without overlap, each as large as the range allows.
func checkRangePrefixes(first, last netip.Addr, ps []netip.Prefix) error {
	if len(ps) == 0 {
		return errors.New("no prefixes")
	}
	if max := 2 * first.BitLen(); len(ps) > max {
		return fmt.Errorf("%d prefixes, more than %d", len(ps), max)
	}
	if ps[0].Addr() != first {
		return fmt.Errorf("first prefix %s does not start at %s", ps[0], first)
	}
	if end := lastAddr(ps[len(ps)-1]); end != last {
		return fmt.Errorf("last prefix %s ends at %s, not %s", ps[len(ps)-1], end, last)
	}
	for i, p := range ps {
		if !p.IsValid() || p != p.Masked() || p.Addr().Is4() != first.Is4() {
			return fmt.Errorf("prefix %d, %s, is not a masked prefix of the range's family", i, p)
		}
		if i > 0 {
			if next := lastAddr(ps[i-1]).Next(); next != p.Addr() {
				return fmt.Errorf("prefix %s does not start right after %s (at %s)", p, ps[i-1], next)
			}
		}
		// The parent would have been one prefix for p and its sibling, so
		// it must reach outside the range.
		if p.Bits() > 0 {
			parent := netip.PrefixFrom(p.Addr(), p.Bits()-1).Masked()
			if !parent.Addr().Less(first) && !last.Less(lastAddr(parent)) {
				return fmt.Errorf("prefix %s could be %s", p, parent)
			}
		}
	}
	return nil
}

// TestRangePrefixesRandom checks rangePrefixes and lastAddr on random
// ranges of both families.
func TestRangePrefixesRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(2317, 5952))
	for _, bits := range []int{32, 128} {
		for range 5000 {
			first, last := randomRange(r, bits)
			ps := rangePrefixes(first, last)
			if err := checkRangePrefixes(first, last, ps); err != nil {
				t.Fatalf("rangePrefixes(%s, %s) = %q: %v", first, last, prefixStrings(ps), err)
			}
			// lastAddr is the last address inside the prefix.
			for _, p := range ps {
				end := lastAddr(p)
				if !p.Contains(end) {
					t.Fatalf("lastAddr(%s) = %s, outside the prefix", p, end)
				}
				if next := end.Next(); next.IsValid() && p.Contains(next) {
					t.Fatalf("lastAddr(%s) = %s, but %s is inside the prefix too", p, end, next)
				}
			}
		}
	}
}

// TestRangePrefixesEdges checks ranges at the ends of the address spaces.
func TestRangePrefixesEdges(t *testing.T) {
	for _, tc := range []struct{ first, last string }{
		{"0.0.0.0", "0.0.0.0"},
		{"255.255.255.255", "255.255.255.255"},
		{"0.0.0.0", "255.255.255.254"},
		{"0.0.0.1", "255.255.255.255"},
		{"127.255.255.255", "128.0.0.0"},
		{"::", "::"},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"},
		{"7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "8000::"},
	} {
		first, last := netip.MustParseAddr(tc.first), netip.MustParseAddr(tc.last)
		ps := rangePrefixes(first, last)
		if err := checkRangePrefixes(first, last, ps); err != nil {
			t.Errorf("rangePrefixes(%s, %s) = %q: %v", first, last, prefixStrings(ps), err)
		}
	}
}

// testLine returns a synthesize line for tmpl over networks.
func testLine(t *testing.T, tmpl string, networks ...string) *synthLine {
	t.Helper()
	tp, err := synth.ParseTemplate(tmpl, synth.RFC5952)
	if err != nil {
		t.Fatal(err)
	}
	l := &synthLine{tmpl: tp}
	for _, n := range networks {
		ps, err := parseNetwork(n)
		if err != nil {
			t.Fatal(err)
		}
		l.networks = append(l.networks, ps...)
	}
	return l
}

func TestSynthesizerLineFor(t *testing.T) {
	lines := []*synthLine{
		testLine(t, "wide-{ip}.example.com.", "192.0.2.0/24"),
		testLine(t, "pool-{ip}.example.com.", "192.0.2.128/25"),
		testLine(t, "eight-{ip}.example.com.", "192.0.2.0/29"),
		testLine(t, "range-{ip}.example.com.", "192.0.2.1-192.0.2.6"),       // .1/32 .2/31 .4/31 .6/32, inside the /29
		testLine(t, "big-{ip}.example.com.", "198.51.100.0-198.51.100.191"), // a /25 and .128/26
		testLine(t, "half-{ip}.example.com.", "198.51.100.128/25"),
		testLine(t, "v6wide-{ip}.example.com.", "2001:db8::/32"),
		testLine(t, "v6narrow-{ip}.example.com.", "2001:db8::/48", "2001:db8:ffff::-2001:db8:ffff::ff"),
		testLine(t, "mapped-{ip}.example.com.", "::ffff:0:0/96"),
	}
	tests := []struct {
		addr string
		want string // the template of the line; "" for none
	}{
		{"192.0.2.200", "pool-{ip}.example.com."},
		{"192.0.2.128", "pool-{ip}.example.com."},
		{"192.0.2.127", "wide-{ip}.example.com."},
		{"192.0.2.8", "wide-{ip}.example.com."},
		{"192.0.2.0", "eight-{ip}.example.com."},
		{"192.0.2.7", "eight-{ip}.example.com."},
		{"192.0.2.1", "range-{ip}.example.com."},
		{"192.0.2.3", "range-{ip}.example.com."},
		{"192.0.2.6", "range-{ip}.example.com."},
		{"198.51.100.10", "big-{ip}.example.com."},  // the range's /25
		{"198.51.100.130", "big-{ip}.example.com."}, // the range's /26 beats the CIDR's /25
		{"198.51.100.191", "big-{ip}.example.com."},
		{"198.51.100.192", "half-{ip}.example.com."},
		{"198.51.100.255", "half-{ip}.example.com."},
		{"2001:db8::1", "v6narrow-{ip}.example.com."},
		{"2001:db8:1::1", "v6wide-{ip}.example.com."},
		{"2001:db8:ffff::ff", "v6narrow-{ip}.example.com."},
		{"2001:db8:ffff::100", "v6wide-{ip}.example.com."},
		{"::ffff:192.0.2.10", "mapped-{ip}.example.com."},

		// Outside every line.
		{"192.0.3.0", ""},
		{"198.51.99.255", ""},
		{"10.0.0.1", ""},
		{"2001:db9::1", ""},
		{"::1", ""},
		{"::ffff:10.0.0.1", "mapped-{ip}.example.com."},
	}
	// The answer must not depend on the order of the lines.
	for _, order := range []string{"given", "reversed"} {
		ls := slices.Clone(lines)
		if order == "reversed" {
			slices.Reverse(ls)
		}
		s, err := newSynthesizer(ls, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range tests {
			l := s.lineFor(netip.MustParseAddr(tc.addr))
			got := ""
			if l != nil {
				got = l.tmpl.String()
			}
			if got != tc.want {
				t.Errorf("lines %s: lineFor(%s) = %q, want %q", order, tc.addr, got, tc.want)
			}
		}
	}
}

// TestSynthesizerLineForFamilies checks that an IPv4 network never holds an
// IPv6 address, IPv4-mapped ones included, and the other way round.
func TestSynthesizerLineForFamilies(t *testing.T) {
	all4 := testLine(t, "v4-{ip}.example.com.", "0.0.0.0/0")
	all6 := testLine(t, "v6-{ip}.example.com.", "::/0")
	mapped := testLine(t, "mapped-{ip}.example.com.", "::ffff:0:0/96")
	tests := []struct {
		lines []*synthLine
		addr  string
		want  *synthLine
	}{
		{[]*synthLine{all4}, "192.0.2.1", all4},
		{[]*synthLine{all4}, "::ffff:192.0.2.1", nil},
		{[]*synthLine{all4}, "2001:db8::1", nil},
		{[]*synthLine{all4}, "::", nil},
		{[]*synthLine{all6}, "::ffff:192.0.2.1", all6},
		{[]*synthLine{all6}, "192.0.2.1", nil},
		{[]*synthLine{all6}, "0.0.0.0", nil},
		{[]*synthLine{mapped}, "192.0.2.1", nil},
		{[]*synthLine{mapped, all4}, "192.0.2.1", all4},
		{[]*synthLine{all4, mapped}, "::ffff:192.0.2.1", mapped},
		{[]*synthLine{all4, all6}, "2001:db8::1", all6},
		{[]*synthLine{all6, all4}, "192.0.2.1", all4},
	}
	for _, tc := range tests {
		s, err := newSynthesizer(tc.lines, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.lineFor(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("lineFor(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

func TestSynthesizerLineForNil(t *testing.T) {
	var s *synthesizer
	if l := s.lineFor(netip.MustParseAddr("192.0.2.1")); l != nil {
		t.Errorf("nil synthesizer: lineFor = %v, want nil", l)
	}
	// A block without synthesize lines has no synthesizer.
	p, err := parseBlock("rptr 192.0.2.0/24")
	if err != nil {
		t.Fatal(err)
	}
	if p.synth != nil {
		t.Errorf("synthesizer %v without synthesize lines, want nil", p.synth)
	}
}

// TestSynthesizerDefaults checks that lines without networks take the
// defaults, and lines with networks only their own.
func TestSynthesizerDefaults(t *testing.T) {
	def := testLine(t, "ip-{ip}.example.com.")
	own := testLine(t, "pool-{ip}.example.com.", "192.0.2.128/25")
	s, err := newSynthesizer([]*synthLine{def, own}, []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]*synthLine{
		"192.0.2.1":   def,
		"192.0.2.129": own,
		"2001:db8::1": def,
		"192.0.3.1":   nil,
	} {
		if got := s.lineFor(netip.MustParseAddr(addr)); got != want {
			t.Errorf("lineFor(%s) = %v, want %v", addr, got, want)
		}
	}
	if def.networks != nil {
		t.Errorf("the defaults were written into the line: %v", def.networks)
	}
}

// synthCorefile is the block the synthesis handler tests serve. The fake
// store of rptr_test.go holds records in 192.0.2.0/24, 10.0.0.0/16 and
// 2001:db8::/32.
const synthCorefile = `rptr 192.0.2.0/24 10.0.0.0/16 2001:db8::/32 {
	ttl 600
	synthesize ip-{ip}.dyn.example.com. 192.0.2.0/24 2001:db8::/48 ttl 60
	synthesize pool-{ip}.dyn.example.com. 192.0.2.128/25
	synthesize k-{ip}.knot.example.com. 2001:db8:2::/48 2001:db8:0:0:1::/80 style knot
	synthesize {hex}.hex.example.com. 10.0.7.0/24 2001:db8:1::/48 ttl 30
}`

// Forward zones of synthCorefile.
const (
	zoneDyn  = "dyn.example.com."
	zoneKnot = "knot.example.com."
	zoneHex  = "hex.example.com."
)

// newSynthRPTR parses corefile into a handler that reads from the fake store
// and hands what it does not serve to a next handler answering REFUSED.
func newSynthRPTR(tb testing.TB, corefile string) (*RPTR, *fakeStore) {
	tb.Helper()
	p, err := parseBlock(corefile)
	if err != nil {
		tb.Fatalf("parse: %v", err)
	}
	p.apex.serial = testSerial
	store := newFakeStore()
	p.store = store
	p.Next = test.NextHandler(dns.RcodeRefused, nil)
	return p, store
}

// rev returns the reverse name of addr.
func rev(addr string) string { return reverse.AddrName(netip.MustParseAddr(addr)) }

// synthCase is a query to the synthCorefile handler, its reply and how many
// times it asks the store.
type synthCase struct {
	test.Case
	lookups int
}

func TestServeDNSSynthesizedPTR(t *testing.T) {
	ptr := func(qname string, ttl int, target string) []dns.RR {
		return []dns.RR{test.PTR(fmt.Sprintf("%s %d IN PTR %s", qname, ttl, target))}
	}
	nodata := func(qname string, qtype uint16, origin string) synthCase {
		return synthCase{test.Case{Qname: qname, Qtype: qtype, Authoritative: true, Ns: []dns.RR{negSOA(origin)}}, 0}
	}
	v6knot := rev("2001:db8::1:0:0:0")
	tests := []synthCase{
		// No record, a disabled or invalid one: the synthesized name, with
		// the line's TTL or the block's.
		{test.Case{Qname: "20.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Authoritative: true,
			Answer: ptr("20.2.0.192.in-addr.arpa.", 60, "ip-192-0-2-20.dyn.example.com.")}, 1},
		{test.Case{Qname: "13.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Authoritative: true,
			Answer: ptr("13.2.0.192.in-addr.arpa.", 60, "ip-192-0-2-13.dyn.example.com.")}, 1},
		{test.Case{Qname: "14.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Authoritative: true,
			Answer: ptr("14.2.0.192.in-addr.arpa.", 60, "ip-192-0-2-14.dyn.example.com.")}, 1},
		{test.Case{Qname: "16.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Authoritative: true,
			Answer: ptr("16.2.0.192.in-addr.arpa.", 60, "ip-192-0-2-16.dyn.example.com.")}, 1},
		{test.Case{Qname: "17.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Authoritative: true,
			Answer: ptr("17.2.0.192.in-addr.arpa.", 60, "ip-192-0-2-17.dyn.example.com.")}, 1},
		{test.Case{Qname: "20.2.0.192.in-addr.arpa.", Qtype: dns.TypeANY, Authoritative: true,
			Answer: ptr("20.2.0.192.in-addr.arpa.", 60, "ip-192-0-2-20.dyn.example.com.")}, 1},
		{test.Case{Qname: "20.2.0.192.IN-ADDR.ARPA.", Qtype: dns.TypePTR, Authoritative: true,
			Answer: ptr("20.2.0.192.IN-ADDR.ARPA.", 60, "ip-192-0-2-20.dyn.example.com.")}, 1},
		{test.Case{Qname: "200.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Authoritative: true,
			Answer: ptr("200.2.0.192.in-addr.arpa.", 600, "pool-192-0-2-200.dyn.example.com.")}, 1},
		{test.Case{Qname: "1.7.0.10.in-addr.arpa.", Qtype: dns.TypePTR, Authoritative: true,
			Answer: ptr("1.7.0.10.in-addr.arpa.", 30, "0a000701.hex.example.com.")}, 1},
		{test.Case{Qname: rev("2001:db8::1"), Qtype: dns.TypePTR, Authoritative: true,
			Answer: ptr(rev("2001:db8::1"), 60, "ip-2001-db8--1.dyn.example.com.")}, 1},
		{test.Case{Qname: rev("2001:db8:1::1"), Qtype: dns.TypePTR, Authoritative: true,
			Answer: ptr(rev("2001:db8:1::1"), 30, "20010db8000100000000000000000001.hex.example.com.")}, 1},
		{test.Case{Qname: rev("2001:db8:2::1"), Qtype: dns.TypePTR, Authoritative: true,
			Answer: ptr(rev("2001:db8:2::1"), 600, "k-2001-db8-2--1.knot.example.com.")}, 1},
		// The knot line's /80 is more specific than the rfc5952 line's /48.
		{test.Case{Qname: v6knot, Qtype: dns.TypePTR, Authoritative: true,
			Answer: ptr(v6knot, 600, "k-2001-db8--1-0-0-0.knot.example.com.")}, 1},
		{test.Case{Qname: rev("2001:db8::2:0:0:0"), Qtype: dns.TypePTR, Authoritative: true,
			Answer: ptr(rev("2001:db8::2:0:0:0"), 60, "ip-2001-db8-0-0-2--0.dyn.example.com.")}, 1},

		// A stored record wins.
		{test.Case{Qname: "10.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Authoritative: true,
			Answer: ptr("10.2.0.192.in-addr.arpa.", 600, "host.example.org.")}, 1},
		{test.Case{Qname: "11.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Authoritative: true,
			Answer: ptr("11.2.0.192.in-addr.arpa.", 60, "ttl.example.org.")}, 1},
		{test.Case{Qname: name6, Qtype: dns.TypePTR, Authoritative: true,
			Answer: ptr(name6, 600, "v6.example.org.")}, 1},

		// Other types at a synthesizable name: NODATA without a lookup,
		// whatever the store holds, even when it would fail.
		nodata("20.2.0.192.in-addr.arpa.", dns.TypeA, zone4),
		nodata("20.2.0.192.in-addr.arpa.", dns.TypeTXT, zone4),
		nodata("10.2.0.192.in-addr.arpa.", dns.TypeTXT, zone4),
		nodata("15.2.0.192.in-addr.arpa.", dns.TypeA, zone4),
		nodata("200.2.0.192.in-addr.arpa.", dns.TypeAAAA, zone4),
		nodata(rev("2001:db8::1"), dns.TypeAAAA, zone6),
		nodata("1.7.0.10.in-addr.arpa.", dns.TypeTXT, zone16),

		// Outside every line: the store decides, as without synthesis.
		{test.Case{Qname: "1.5.0.10.in-addr.arpa.", Qtype: dns.TypeTXT, Authoritative: true, Ns: []dns.RR{negSOA(zone16)}}, 1},
		{test.Case{Qname: "1.5.0.10.in-addr.arpa.", Qtype: dns.TypePTR, Authoritative: true,
			Answer: ptr("1.5.0.10.in-addr.arpa.", 600, "ten.example.org.")}, 1},
		{test.Case{Qname: "2.5.0.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone16)}}, 1},
		{test.Case{Qname: "2.5.0.10.in-addr.arpa.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone16)}}, 1},
		{test.Case{Qname: rev("2001:db8:ffff::1"), Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone6)}}, 1},
		{test.Case{Qname: rev("2001:db8:ffff::1"), Qtype: dns.TypeTXT, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone6)}}, 1},

		// Names that are not addresses are unchanged by synthesis.
		nodata("5.0.10.in-addr.arpa.", dns.TypePTR, zone16),
		{test.Case{Qname: "1.20.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone4)}}, 0},
		{test.Case{Qname: "020.2.0.192.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(zone4)}}, 0},
	}
	for _, tc := range tests {
		t.Run(dns.TypeToString[tc.Qtype]+" "+tc.Qname, func(t *testing.T) {
			p, store := newSynthRPTR(t, synthCorefile)
			serveCase(t, p, tc.Case)
			if store.lookups != tc.lookups {
				t.Errorf("%d lookups, want %d", store.lookups, tc.lookups)
			}
		})
	}
}

// TestServeDNSSynthesizedStoreError checks that a failing store gives
// SERVFAIL, never the synthesized name: a stored record might say otherwise.
func TestServeDNSSynthesizedStoreError(t *testing.T) {
	for _, tc := range []struct {
		name  string
		qname string
		qtype uint16
		err   error
		fall  fall.F
	}{
		{"PTR", "15.2.0.192.in-addr.arpa.", dns.TypePTR, errRedis, fall.F{}},
		{"ANY", "15.2.0.192.in-addr.arpa.", dns.TypeANY, errRedis, fall.F{}},
		{"fallthrough", "15.2.0.192.in-addr.arpa.", dns.TypePTR, errRedis, fall.Root},
		{"pool line", "200.2.0.192.in-addr.arpa.", dns.TypePTR, fmt.Errorf("redis: %w", errRedis), fall.F{}},
		{"deadline", "20.2.0.192.in-addr.arpa.", dns.TypePTR, context.DeadlineExceeded, fall.Root},
		{"IPv6", rev("2001:db8::1"), dns.TypePTR, errRedis, fall.F{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, store := newSynthRPTR(t, synthCorefile)
			p.Fall = tc.fall
			addr, err := reverse.Parse(tc.qname)
			if err != nil {
				t.Fatal(err)
			}
			store.errs[addr.Addr()] = tc.err
			rec := dnstest.NewRecorder(&test.ResponseWriter{})
			m := new(dns.Msg)
			m.SetQuestion(tc.qname, tc.qtype)
			rcode, err := p.ServeDNS(context.Background(), rec, m)
			if rcode != dns.RcodeServerFailure {
				t.Errorf("rcode = %s, want SERVFAIL", dns.RcodeToString[rcode])
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("error %v does not wrap the store's error %v", err, tc.err)
			}
			if rec.Msg != nil {
				t.Errorf("reply written: %v, want none", rec.Msg)
			}
		})
	}
}

func TestServeDNSSynthesizedForward(t *testing.T) {
	a := func(qname string, ttl int, addr string) []dns.RR {
		return []dns.RR{test.A(fmt.Sprintf("%s %d IN A %s", qname, ttl, addr))}
	}
	aaaa := func(qname string, ttl int, addr string) []dns.RR {
		return []dns.RR{test.AAAA(fmt.Sprintf("%s %d IN AAAA %s", qname, ttl, addr))}
	}
	nodata := func(qname string, qtype uint16, origin string) test.Case {
		return test.Case{Qname: qname, Qtype: qtype, Authoritative: true, Ns: []dns.RR{negSOA(origin)}}
	}
	nxdomain := func(qname string, qtype uint16, origin string) test.Case {
		return test.Case{Qname: qname, Qtype: qtype, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(origin)}}
	}
	soa := func(qname, origin string) []dns.RR {
		return []dns.RR{test.SOA(fmt.Sprintf("%s 600 IN SOA ns.dns.%s hostmaster.%[2]s %d 7200 3600 1209600 300", qname, origin, testSerial))}
	}
	tests := []test.Case{
		// The family of the address answers, with the line's TTL.
		{Qname: "ip-192-0-2-10.dyn.example.com.", Qtype: dns.TypeA, Authoritative: true, Answer: a("ip-192-0-2-10.dyn.example.com.", 60, "192.0.2.10")},
		{Qname: "ip-192-0-2-20.dyn.example.com.", Qtype: dns.TypeA, Authoritative: true, Answer: a("ip-192-0-2-20.dyn.example.com.", 60, "192.0.2.20")},
		{Qname: "ip-192-0-2-15.dyn.example.com.", Qtype: dns.TypeA, Authoritative: true, Answer: a("ip-192-0-2-15.dyn.example.com.", 60, "192.0.2.15")},
		{Qname: "pool-192-0-2-200.dyn.example.com.", Qtype: dns.TypeA, Authoritative: true, Answer: a("pool-192-0-2-200.dyn.example.com.", 600, "192.0.2.200")},
		{Qname: "ip-2001-db8--1.dyn.example.com.", Qtype: dns.TypeAAAA, Authoritative: true, Answer: aaaa("ip-2001-db8--1.dyn.example.com.", 60, "2001:db8::1")},
		{Qname: "ip-2001-db8-0-0-2--0.dyn.example.com.", Qtype: dns.TypeAAAA, Authoritative: true, Answer: aaaa("ip-2001-db8-0-0-2--0.dyn.example.com.", 60, "2001:db8::2:0:0:0")},
		{Qname: "k-2001-db8-2--1.knot.example.com.", Qtype: dns.TypeAAAA, Authoritative: true, Answer: aaaa("k-2001-db8-2--1.knot.example.com.", 600, "2001:db8:2::1")},
		{Qname: "k-2001-db8--1-0-0-0.knot.example.com.", Qtype: dns.TypeAAAA, Authoritative: true, Answer: aaaa("k-2001-db8--1-0-0-0.knot.example.com.", 600, "2001:db8::1:0:0:0")},
		{Qname: "0a000701.hex.example.com.", Qtype: dns.TypeA, Authoritative: true, Answer: a("0a000701.hex.example.com.", 30, "10.0.7.1")},
		{Qname: "20010db8000100000000000000000001.hex.example.com.", Qtype: dns.TypeAAAA, Authoritative: true,
			Answer: aaaa("20010db8000100000000000000000001.hex.example.com.", 30, "2001:db8:1::1")},

		// ANY answers the address.
		{Qname: "ip-192-0-2-20.dyn.example.com.", Qtype: dns.TypeANY, Authoritative: true, Answer: a("ip-192-0-2-20.dyn.example.com.", 60, "192.0.2.20")},
		{Qname: "ip-2001-db8--1.dyn.example.com.", Qtype: dns.TypeANY, Authoritative: true, Answer: aaaa("ip-2001-db8--1.dyn.example.com.", 60, "2001:db8::1")},

		// Letter case does not matter; the owner is the name as asked.
		{Qname: "IP-192-0-2-20.DYN.Example.COM.", Qtype: dns.TypeA, Authoritative: true, Answer: a("IP-192-0-2-20.DYN.Example.COM.", 60, "192.0.2.20")},
		{Qname: "0A000701.HEX.example.com.", Qtype: dns.TypeA, Authoritative: true, Answer: a("0A000701.HEX.example.com.", 30, "10.0.7.1")},
		{Qname: "IP-2001-DB8--1.dyn.example.com.", Qtype: dns.TypeAAAA, Authoritative: true, Answer: aaaa("IP-2001-DB8--1.dyn.example.com.", 60, "2001:db8::1")},

		// The other family and other types: NODATA with the zone's SOA.
		nodata("ip-192-0-2-20.dyn.example.com.", dns.TypeAAAA, zoneDyn),
		nodata("ip-192-0-2-20.dyn.example.com.", dns.TypeMX, zoneDyn),
		nodata("ip-192-0-2-20.dyn.example.com.", dns.TypeTXT, zoneDyn),
		nodata("ip-192-0-2-20.dyn.example.com.", dns.TypePTR, zoneDyn),
		nodata("ip-2001-db8--1.dyn.example.com.", dns.TypeA, zoneDyn),
		nodata("ip-2001-db8--1.dyn.example.com.", dns.TypeMX, zoneDyn),
		nodata("0a000701.hex.example.com.", dns.TypeAAAA, zoneHex),
		nodata("k-2001-db8-2--1.knot.example.com.", dns.TypeA, zoneKnot),

		// Spellings other than the one rptr hands out do not exist.
		nxdomain("ip-192-000-2-10.dyn.example.com.", dns.TypeA, zoneDyn),
		nxdomain("ip-192-0-2-010.dyn.example.com.", dns.TypeA, zoneDyn),
		nxdomain("ip-192.0.2.10.dyn.example.com.", dns.TypeA, zoneDyn),
		nxdomain("ip-2001-db8-0-0-0-0-0-1.dyn.example.com.", dns.TypeAAAA, zoneDyn),
		nxdomain("ip-2001-0db8--1.dyn.example.com.", dns.TypeAAAA, zoneDyn),
		nxdomain("ip-2001-db8--2--0.dyn.example.com.", dns.TypeAAAA, zoneDyn),
		nxdomain("ip-2001-db8--2-0-0-0.dyn.example.com.", dns.TypeAAAA, zoneDyn),  // knot style under an rfc5952 line
		nxdomain("k-2001-db8-0-0-1--0.knot.example.com.", dns.TypeAAAA, zoneKnot), // rfc5952 style under a knot line
		nxdomain("0a0007010.hex.example.com.", dns.TypeA, zoneHex),
		nxdomain("a000701.hex.example.com.", dns.TypeA, zoneHex),
		nxdomain("x0a000701.hex.example.com.", dns.TypeA, zoneHex),
		nxdomain("ip-192-0-2-20.hex.example.com.", dns.TypeA, zoneHex), // a template of another zone
		// A less specific line's name for an address a more specific line names.
		nxdomain("ip-192-0-2-200.dyn.example.com.", dns.TypeA, zoneDyn),
		nxdomain("ip-2001-db8-0-0-1--0.dyn.example.com.", dns.TypeAAAA, zoneDyn),
		// An address no line names, or another line of the zone names.
		nxdomain("pool-192-0-2-20.dyn.example.com.", dns.TypeA, zoneDyn),
		nxdomain("ip-198-51-100-1.dyn.example.com.", dns.TypeA, zoneDyn),
		nxdomain("ip-10-0-7-1.dyn.example.com.", dns.TypeA, zoneDyn),
		nxdomain("ip-2001-db8-1--1.dyn.example.com.", dns.TypeAAAA, zoneDyn),
		nxdomain("0a000801.hex.example.com.", dns.TypeA, zoneHex),
		nxdomain("c0000214.hex.example.com.", dns.TypeA, zoneHex),
		nxdomain("k-2001-db8-3--1.knot.example.com.", dns.TypeAAAA, zoneKnot),
		// Other names of the zone, and names below synthesized ones.
		nxdomain("www.dyn.example.com.", dns.TypeA, zoneDyn),
		nxdomain("a.ip-192-0-2-20.dyn.example.com.", dns.TypeA, zoneDyn),
		nxdomain("ip-.dyn.example.com.", dns.TypeA, zoneDyn),
		nxdomain("ip-192-0-2-20x.dyn.example.com.", dns.TypeA, zoneDyn),

		// The apex.
		{Qname: zoneDyn, Qtype: dns.TypeSOA, Authoritative: true, Answer: soa(zoneDyn, zoneDyn)},
		{Qname: "DYN.example.com.", Qtype: dns.TypeSOA, Authoritative: true, Answer: soa("DYN.example.com.", zoneDyn)},
		{Qname: zoneHex, Qtype: dns.TypeSOA, Authoritative: true, Answer: soa(zoneHex, zoneHex)},
		{Qname: zoneDyn, Qtype: dns.TypeNS, Authoritative: true, Answer: []dns.RR{test.NS(zoneDyn + " 600 IN NS ns.dns." + zoneDyn)}},
		nodata(zoneDyn, dns.TypeA, zoneDyn),
		nodata(zoneKnot, dns.TypeAAAA, zoneKnot),
	}
	for _, tc := range tests {
		t.Run(dns.TypeToString[tc.Qtype]+" "+tc.Qname, func(t *testing.T) {
			p, store := newSynthRPTR(t, synthCorefile)
			serveCase(t, p, tc)
			if store.lookups != 0 {
				t.Errorf("store looked up %v, want no lookup for a forward name", store.last)
			}
		})
	}
}

// TestServeDNSSynthesizedFallthrough checks that the names of a forward zone
// that do not exist go to the next plugin with fallthrough, and no others.
func TestServeDNSSynthesizedFallthrough(t *testing.T) {
	tests := []struct {
		name  string
		fall  fall.F
		qname string
		qtype uint16
		next  bool // the query went to the next handler
		rcode int  // otherwise: the rcode of the reply
	}{
		{"other spelling", fall.Root, "ip-192-000-2-10.dyn.example.com.", dns.TypeA, true, 0},
		{"less specific line", fall.Root, "ip-192-0-2-200.dyn.example.com.", dns.TypeA, true, 0},
		{"outside the networks", fall.Root, "ip-198-51-100-1.dyn.example.com.", dns.TypeA, true, 0},
		{"other name", fall.Root, "www.dyn.example.com.", dns.TypeA, true, 0},
		{"the zone", fallFrom(zoneDyn), "www.dyn.example.com.", dns.TypeA, true, 0},
		{"a parent", fallFrom("example.com."), "www.hex.example.com.", dns.TypeAAAA, true, 0},

		{"another zone", fallFrom(zoneHex), "www.dyn.example.com.", dns.TypeA, false, dns.RcodeNameError},
		{"a reverse zone", fallFrom(zone4), "www.dyn.example.com.", dns.TypeA, false, dns.RcodeNameError},
		{"none", fall.Zero, "www.dyn.example.com.", dns.TypeA, false, dns.RcodeNameError},

		// Only a name error falls through.
		{"synthesized", fall.Root, "ip-192-0-2-20.dyn.example.com.", dns.TypeA, false, dns.RcodeSuccess},
		{"other family", fall.Root, "ip-192-0-2-20.dyn.example.com.", dns.TypeAAAA, false, dns.RcodeSuccess},
		{"apex", fall.Root, zoneDyn, dns.TypeA, false, dns.RcodeSuccess},
		{"synthesized PTR", fall.Root, "20.2.0.192.in-addr.arpa.", dns.TypePTR, false, dns.RcodeSuccess},
		{"reverse name, other type", fall.Root, "20.2.0.192.in-addr.arpa.", dns.TypeTXT, false, dns.RcodeSuccess},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, store := newSynthRPTR(t, synthCorefile)
			p.Fall = tc.fall
			rec := dnstest.NewRecorder(&test.ResponseWriter{})
			m := new(dns.Msg)
			m.SetQuestion(tc.qname, tc.qtype)
			rcode, err := p.ServeDNS(context.Background(), rec, m)
			if err != nil {
				t.Fatalf("ServeDNS error: %v", err)
			}
			if tc.next {
				if rcode != dns.RcodeRefused || rec.Msg != nil {
					t.Errorf("got rcode %s and reply %v, want the next handler's REFUSED and no reply", dns.RcodeToString[rcode], rec.Msg)
				}
				if store.lookups != 0 {
					t.Errorf("store looked up %v, want no lookup", store.last)
				}
				return
			}
			if rcode != dns.RcodeSuccess || rec.Msg == nil {
				t.Fatalf("ServeDNS rcode = %s, reply %v; want NOERROR with a reply", dns.RcodeToString[rcode], rec.Msg)
			}
			if rec.Msg.Rcode != tc.rcode {
				t.Errorf("reply rcode = %s, want %s", dns.RcodeToString[rec.Msg.Rcode], dns.RcodeToString[tc.rcode])
			}
		})
	}
}

// TestServeDNSSynthesizedMetrics checks that synthesized answers are counted
// as such, in the zone that gave them.
func TestServeDNSSynthesizedMetrics(t *testing.T) {
	tests := []struct {
		name   string
		qname  string
		qtype  uint16
		zone   string
		result string
	}{
		{"PTR", "20.2.0.192.in-addr.arpa.", dns.TypePTR, zone4, resultSynthesized},
		{"PTR of a disabled record", "13.2.0.192.in-addr.arpa.", dns.TypePTR, zone4, resultSynthesized},
		{"stored PTR", "10.2.0.192.in-addr.arpa.", dns.TypePTR, zone4, resultStored},
		{"A", "ip-192-0-2-20.dyn.example.com.", dns.TypeA, zoneDyn, resultSynthesized},
		{"AAAA", "20010db8000100000000000000000001.hex.example.com.", dns.TypeAAAA, zoneHex, resultSynthesized},
		{"forward NODATA", "ip-192-0-2-20.dyn.example.com.", dns.TypeAAAA, zoneDyn, resultNoData},
		{"forward NXDOMAIN", "www.dyn.example.com.", dns.TypeA, zoneDyn, resultNXDomain},
		{"reverse NODATA", "20.2.0.192.in-addr.arpa.", dns.TypeTXT, zone4, resultNoData},
		{"forward apex", zoneDyn, dns.TypeSOA, zoneDyn, resultApex},
	}
	results := []string{resultStored, resultSynthesized, resultApex, resultNXDomain, resultNoData, resultFallthrough, resultError}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := map[string]float64{}
			for _, r := range results {
				before[r] = counterValue(t, requestCount.WithLabelValues("", tc.zone, r))
			}
			p, _ := newSynthRPTR(t, synthCorefile)
			m := new(dns.Msg)
			m.SetQuestion(tc.qname, tc.qtype)
			p.ServeDNS(context.Background(), dnstest.NewRecorder(&test.ResponseWriter{}), m)
			for _, r := range results {
				want := before[r]
				if r == tc.result {
					want++
				}
				if got := counterValue(t, requestCount.WithLabelValues("", tc.zone, r)); got != want {
					t.Errorf("requests_total{zone=%q,result=%q} = %v, want %v", tc.zone, r, got, want)
				}
			}
		})
	}
}

// TestServeDNSClassless checks an RFC 2317 zone with synthesis: the names
// the parent's CNAMEs point to, stored and synthesized alike.
func TestServeDNSClassless(t *testing.T) {
	const (
		corefile  = "rptr 0/25.2.0.192.in-addr.arpa. {\n\tsynthesize host-{ip}.customer.example.com.\n}"
		classless = "0/25.2.0.192.in-addr.arpa."
	)
	nxdomain := func(qname string, qtype uint16) test.Case {
		return test.Case{Qname: qname, Qtype: qtype, Rcode: dns.RcodeNameError, Authoritative: true, Ns: []dns.RR{negSOA(classless)}}
	}
	tests := []synthCase{
		{test.Case{Qname: "20." + classless, Qtype: dns.TypePTR, Authoritative: true,
			Answer: []dns.RR{test.PTR("20." + classless + " 3600 IN PTR host-192-0-2-20.customer.example.com.")}}, 1},
		{test.Case{Qname: "0." + classless, Qtype: dns.TypePTR, Authoritative: true,
			Answer: []dns.RR{test.PTR("0." + classless + " 3600 IN PTR host-192-0-2-0.customer.example.com.")}}, 1},
		{test.Case{Qname: "127." + classless, Qtype: dns.TypePTR, Authoritative: true,
			Answer: []dns.RR{test.PTR("127." + classless + " 3600 IN PTR host-192-0-2-127.customer.example.com.")}}, 1},
		{test.Case{Qname: "10." + classless, Qtype: dns.TypePTR, Authoritative: true,
			Answer: []dns.RR{test.PTR("10." + classless + " 3600 IN PTR host.example.org.")}}, 1},
		{test.Case{Qname: "13." + classless, Qtype: dns.TypePTR, Authoritative: true,
			Answer: []dns.RR{test.PTR("13." + classless + " 3600 IN PTR host-192-0-2-13.customer.example.com.")}}, 1},
		{test.Case{Qname: "20.0/25.2.0.192.IN-ADDR.ARPA.", Qtype: dns.TypePTR, Authoritative: true,
			Answer: []dns.RR{test.PTR("20.0/25.2.0.192.IN-ADDR.ARPA. 3600 IN PTR host-192-0-2-20.customer.example.com.")}}, 1},
		{test.Case{Qname: "20." + classless, Qtype: dns.TypeTXT, Authoritative: true, Ns: []dns.RR{negSOA(classless)}}, 0},

		// Outside the block, below an address, not an address.
		{nxdomain("200."+classless, dns.TypePTR), 0},
		{nxdomain("128."+classless, dns.TypePTR), 0},
		{nxdomain("1.20."+classless, dns.TypePTR), 0},
		{nxdomain("020."+classless, dns.TypePTR), 0},
		{nxdomain("x."+classless, dns.TypePTR), 0},

		// The apex.
		{test.Case{Qname: classless, Qtype: dns.TypeSOA, Authoritative: true, Answer: []dns.RR{
			test.SOA(fmt.Sprintf("%s 3600 IN SOA ns.dns.%[1]s hostmaster.%[1]s %d 7200 3600 1209600 300", classless, testSerial))}}, 0},
		{test.Case{Qname: classless, Qtype: dns.TypeNS, Authoritative: true, Answer: []dns.RR{test.NS(classless + " 3600 IN NS ns.dns." + classless)}}, 0},
		{test.Case{Qname: classless, Qtype: dns.TypePTR, Authoritative: true, Ns: []dns.RR{negSOA(classless)}}, 0},

		// The forward side answers for the block only.
		{test.Case{Qname: "host-192-0-2-20.customer.example.com.", Qtype: dns.TypeA, Authoritative: true,
			Answer: []dns.RR{test.A("host-192-0-2-20.customer.example.com. 3600 IN A 192.0.2.20")}}, 0},
		{test.Case{Qname: "host-192-0-2-200.customer.example.com.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Authoritative: true,
			Ns: []dns.RR{negSOA("customer.example.com.")}}, 0},
	}
	for _, tc := range tests {
		t.Run(dns.TypeToString[tc.Qtype]+" "+tc.Qname, func(t *testing.T) {
			p, store := newSynthRPTR(t, corefile)
			serveCase(t, p, tc.Case)
			if store.lookups != tc.lookups {
				t.Errorf("%d lookups, want %d", store.lookups, tc.lookups)
			}
		})
	}
}

// TestServeDNSClasslessNotOurs checks that the rest of the parent /24 is
// left to the next plugin.
func TestServeDNSClasslessNotOurs(t *testing.T) {
	p, store := newSynthRPTR(t, "rptr 0/25.2.0.192.in-addr.arpa. {\n\tsynthesize host-{ip}.customer.example.com.\n}")
	for _, qname := range []string{"20.2.0.192.in-addr.arpa.", "2.0.192.in-addr.arpa.", "128/25.2.0.192.in-addr.arpa.", "example.com."} {
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		m := new(dns.Msg)
		m.SetQuestion(qname, dns.TypePTR)
		rcode, err := p.ServeDNS(context.Background(), rec, m)
		if err != nil || rcode != dns.RcodeRefused || rec.Msg != nil {
			t.Errorf("%s: got rcode %s, error %v and reply %v; want the next handler's REFUSED", qname, dns.RcodeToString[rcode], err, rec.Msg)
		}
	}
	if store.lookups != 0 {
		t.Errorf("store looked up %v, want no lookup", store.last)
	}
}

func BenchmarkServeDNSSynthesizedPTR(b *testing.B) {
	p, _ := newSynthRPTR(b, synthCorefile)
	ctx := context.Background()
	w := &test.ResponseWriter{}
	m := new(dns.Msg)
	m.SetQuestion("20.2.0.192.in-addr.arpa.", dns.TypePTR)
	b.ReportAllocs()
	for b.Loop() {
		if rcode, err := p.ServeDNS(ctx, w, m); rcode != dns.RcodeSuccess || err != nil {
			b.Fatalf("ServeDNS = %d, %v", rcode, err)
		}
	}
}

func BenchmarkServeDNSSynthesizedA(b *testing.B) {
	p, _ := newSynthRPTR(b, synthCorefile)
	ctx := context.Background()
	w := &test.ResponseWriter{}
	m := new(dns.Msg)
	m.SetQuestion("ip-192-0-2-20.dyn.example.com.", dns.TypeA)
	b.ReportAllocs()
	for b.Loop() {
		if rcode, err := p.ServeDNS(ctx, w, m); rcode != dns.RcodeSuccess || err != nil {
			b.Fatalf("ServeDNS = %d, %v", rcode, err)
		}
	}
}

// TestServeDNSEmptyNonTerminalBetweenZones: a name above another of rptr's
// zones exists (it has names below it), so it is NODATA, never NXDOMAIN.
func TestServeDNSEmptyNonTerminalBetweenZones(t *testing.T) {
	p, _ := newSynthRPTR(t, "rptr 192.0.2.0/24 {\n\tsynthesize ip-{ip}.example.com. 192.0.2.0/25\n\tsynthesize ip-{ip}.a.b.example.com. 192.0.2.128/25\n}")
	for _, name := range []string{"b.example.com.", "B.EXAMPLE.COM."} {
		w := dnstest.NewRecorder(&test.ResponseWriter{})
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		if _, err := p.ServeDNS(context.Background(), w, m); err != nil {
			t.Fatal(err)
		}
		if w.Msg.Rcode != dns.RcodeSuccess || len(w.Msg.Answer) != 0 || len(w.Msg.Ns) != 1 {
			t.Errorf("%s A: %v; want NODATA", name, w.Msg)
		}
	}
	w := dnstest.NewRecorder(&test.ResponseWriter{})
	m := new(dns.Msg)
	m.SetQuestion("c.example.com.", dns.TypeA)
	p.ServeDNS(context.Background(), w, m)
	if w.Msg.Rcode != dns.RcodeNameError {
		t.Errorf("c.example.com. A: %v; want NXDOMAIN", w.Msg)
	}
}
