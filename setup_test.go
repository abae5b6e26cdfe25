package rptr

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin"
	"github.com/miekg/dns"
)

// wantZone is a zone as parse should produce it. The prefix is spelled out,
// not derived from the origin, so that the test does not repeat the code.
func wantZone(origin, prefix string) zone {
	return zone{origin: origin, prefix: netip.MustParsePrefix(prefix)}
}

// parseBlock runs parse on input as the rptr block of a server block whose
// keys are keys.
func parseBlock(input string, keys ...string) (*RPTR, error) {
	c := caddy.NewTestController("dns", input)
	c.ServerBlockKeys = keys
	return parse(c)
}

func TestZoneOrigins(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		serverBlock []string
		forward     []string
		want        []string
		wantErr     string // a part of the error; empty means no error
	}{
		{name: "octet CIDR", args: []string{"192.0.2.0/24"}, want: []string{"2.0.192.in-addr.arpa."}},
		{name: "/8", args: []string{"10.0.0.0/8"}, want: []string{"10.in-addr.arpa."}},
		{name: "/0 is the whole IPv4 tree", args: []string{"0.0.0.0/0"}, want: []string{"in-addr.arpa."}},
		{name: "/32", args: []string{"192.0.2.1/32"}, want: []string{"1.2.0.192.in-addr.arpa."}},
		{
			name: "CIDR off the octet boundary is split",
			args: []string{"10.0.0.0/22"},
			want: []string{"0.0.10.in-addr.arpa.", "1.0.10.in-addr.arpa.", "2.0.10.in-addr.arpa.", "3.0.10.in-addr.arpa."},
		},
		{name: "nibble CIDR", args: []string{"2001:db8::/48"}, want: []string{"0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."}},
		{name: "upper case IPv6 CIDR", args: []string{"2001:DB8::/32"}, want: []string{"8.b.d.0.1.0.0.2.ip6.arpa."}},
		{
			name: "CIDR off the nibble boundary is split",
			args: []string{"2001:db8::/46"},
			want: []string{
				"0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
				"1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
				"2.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
				"3.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
			},
		},
		{name: "name under in-addr.arpa.", args: []string{"2.0.192.in-addr.arpa."}, want: []string{"2.0.192.in-addr.arpa."}},
		{name: "relative name is made absolute", args: []string{"2.0.192.in-addr.arpa"}, want: []string{"2.0.192.in-addr.arpa."}},
		{name: "name under ip6.arpa.", args: []string{"8.b.d.0.1.0.0.2.ip6.arpa."}, want: []string{"8.b.d.0.1.0.0.2.ip6.arpa."}},
		{name: "upper case names", args: []string{"2.0.192.IN-ADDR.ARPA.", "8.B.D.0.1.0.0.2.Ip6.Arpa"}, want: []string{"2.0.192.in-addr.arpa.", "8.b.d.0.1.0.0.2.ip6.arpa."}},
		{name: "tree roots", args: []string{"in-addr.arpa.", "ip6.arpa."}, want: []string{"in-addr.arpa.", "ip6.arpa."}},
		{name: "transport and port are stripped", args: []string{"dns://192.0.2.0/24:53"}, want: []string{"2.0.192.in-addr.arpa."}},
		{
			name: "duplicates removed, first order kept",
			args: []string{"10.0.0.0/23", "0.0.10.IN-ADDR.ARPA.", "10.0.0.0/24", "1.0.10.in-addr.arpa"},
			want: []string{"0.0.10.in-addr.arpa.", "1.0.10.in-addr.arpa."},
		},
		{name: "root means both trees", args: []string{"."}, want: []string{"in-addr.arpa.", "ip6.arpa."}},
		{name: "arpa. means both trees", args: []string{"arpa"}, want: []string{"in-addr.arpa.", "ip6.arpa."}},
		{name: "root and a tree root are not repeated", args: []string{"ip6.arpa.", ".", "in-addr.arpa."}, want: []string{"ip6.arpa.", "in-addr.arpa."}},
		{
			name: "both trees and a CIDR",
			args: []string{".", "10.0.0.0/24"},
			want: []string{"in-addr.arpa.", "ip6.arpa.", "0.0.10.in-addr.arpa."},
		},

		{name: "server block zone", serverBlock: []string{"2.0.192.in-addr.arpa.:53"}, want: []string{"2.0.192.in-addr.arpa."}},
		{name: "server block root", serverBlock: []string{"dns://.:53"}, want: []string{"in-addr.arpa.", "ip6.arpa."}},
		{
			name:        "several server block zones",
			serverBlock: []string{"dns://0.0.10.in-addr.arpa.:1053", "8.B.D.0.1.0.0.2.IP6.ARPA.:53"},
			want:        []string{"0.0.10.in-addr.arpa.", "8.b.d.0.1.0.0.2.ip6.arpa."},
		},
		{
			name:        "arguments win over the server block",
			args:        []string{"192.0.2.0/24"},
			serverBlock: []string{"example.org.:53"},
			want:        []string{"2.0.192.in-addr.arpa."},
		},

		{name: "IPv4 host bits", args: []string{"10.0.0.1/22"}, wantErr: "zone 10.0.0.1/22 has host bits set; did you mean 10.0.0.0/22?"},
		{name: "IPv6 host bits", args: []string{"2001:db8::1/48"}, wantErr: "did you mean 2001:db8::/48?"},
		{name: "IPv4 mask too long", args: []string{"10.0.0.0/33"}, wantErr: "is not a reverse zone"},
		{name: "IPv6 mask too long", args: []string{"2001:db8::/129"}, wantErr: "is not a reverse zone"},
		{name: "forward name", args: []string{"example.com."}, wantErr: "zone example.com. is not a reverse zone"},
		{name: "forward name after a good one", args: []string{"10.0.0.0/24", "example.com"}, wantErr: "zone example.com. is not a reverse zone"},
		{name: "arpa. sibling", args: []string{"e164.arpa."}, wantErr: "is not a reverse zone"},
		{name: "octet above 255", args: []string{"256.in-addr.arpa."}, wantErr: "zone 256.in-addr.arpa. is not a reverse zone: " + "label is not part of an address"},
		{name: "octet with leading zero", args: []string{"02.0.192.in-addr.arpa."}, wantErr: "label is not part of an address"},
		{name: "two-digit nibble", args: []string{"10.ip6.arpa."}, wantErr: "label is not part of an address"},
		{name: "non-hex nibble", args: []string{"x.ip6.arpa."}, wantErr: "label is not part of an address"},
		{name: "too many octets", args: []string{"1.2.3.4.5.in-addr.arpa."}, wantErr: "more labels than an address has"},
		{name: "empty label", args: []string{"a..in-addr.arpa."}, wantErr: "zone a..in-addr.arpa.: zone is not a valid domain name"},
		{name: "colon without port", args: []string{"10.0.0.0/24:"}, wantErr: "expecting data after last colon"},
		{name: "forward server block zone", serverBlock: []string{"example.org.:53"}, wantErr: "zone example.org. is not a reverse zone"},
		{name: "no zones at all", wantErr: "no zones"},
		{name: "classless zone", args: []string{"0/25.2.0.192.in-addr.arpa."}, want: []string{"0/25.2.0.192.in-addr.arpa."}},
		{name: "classless zone with a dash", args: []string{"128-25.2.0.192.in-addr.arpa"}, want: []string{"128-25.2.0.192.in-addr.arpa."}},
		{name: "classless zone not aligned", args: []string{"1/25.2.0.192.in-addr.arpa."}, wantErr: "not the start of a /25"},
		{name: "forward zone of a template", args: []string{"dyn.example.com."}, forward: []string{"dyn.example.com."}, want: nil},
		{name: "parent of a template's zone", args: []string{"example.com.", "192.0.2.0/24"}, forward: []string{"dyn.example.com."}, want: []string{"2.0.192.in-addr.arpa."}},
		{name: "forward zone that holds no template", args: []string{"example.org."}, forward: []string{"dyn.example.com."}, wantErr: "zone example.org. is not a reverse zone"},
		{name: "only templates", forward: []string{"dyn.example.com."}, serverBlock: []string{"dyn.example.com.:53"}, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			zones, err := zoneOrigins(tc.args, tc.serverBlock, tc.forward)
			var got []string
			for _, z := range zones {
				got = append(got, z.Origin)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("zoneOrigins(%q, %q) = %q, %v; want error containing %q", tc.args, tc.serverBlock, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("zoneOrigins(%q, %q): %v", tc.args, tc.serverBlock, err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("zoneOrigins(%q, %q) = %q, want %q", tc.args, tc.serverBlock, got, tc.want)
			}
		})
	}
}

func TestParseZones(t *testing.T) {
	tests := []struct {
		name  string
		input string
		keys  []string
		want  []zone
	}{
		{name: "IPv4 CIDR", input: "rptr 192.0.2.0/24", want: []zone{wantZone("2.0.192.in-addr.arpa.", "192.0.2.0/24")}},
		{
			name:  "IPv4 CIDR off the octet boundary",
			input: "rptr 10.0.0.0/22",
			want: []zone{
				wantZone("0.0.10.in-addr.arpa.", "10.0.0.0/24"),
				wantZone("1.0.10.in-addr.arpa.", "10.0.1.0/24"),
				wantZone("2.0.10.in-addr.arpa.", "10.0.2.0/24"),
				wantZone("3.0.10.in-addr.arpa.", "10.0.3.0/24"),
			},
		},
		{name: "IPv6 CIDR", input: "rptr 2001:db8::/48", want: []zone{wantZone("0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "2001:db8::/48")}},
		{
			name:  "IPv6 CIDR off the nibble boundary",
			input: "rptr 2001:db8::/46",
			want: []zone{
				wantZone("0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "2001:db8::/48"),
				wantZone("1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "2001:db8:1::/48"),
				wantZone("2.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "2001:db8:2::/48"),
				wantZone("3.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "2001:db8:3::/48"),
			},
		},
		{
			name:  "upper case names and duplicates",
			input: "rptr 2.0.192.IN-ADDR.ARPA 192.0.2.0/24 8.B.D.0.1.0.0.2.IP6.ARPA. {\n}",
			want: []zone{
				wantZone("2.0.192.in-addr.arpa.", "192.0.2.0/24"),
				wantZone("8.b.d.0.1.0.0.2.ip6.arpa.", "2001:db8::/32"),
			},
		},
		{name: "root", input: "rptr .", want: []zone{wantZone("in-addr.arpa.", "0.0.0.0/0"), wantZone("ip6.arpa.", "::/0")}},
		{name: "arpa.", input: "rptr arpa.", want: []zone{wantZone("in-addr.arpa.", "0.0.0.0/0"), wantZone("ip6.arpa.", "::/0")}},
		{
			name:  "server block zones when no arguments",
			input: "rptr {\n\tttl 60\n}",
			keys:  []string{"2.0.192.in-addr.arpa.:53", "dns://8.b.d.0.1.0.0.2.ip6.arpa.:53"},
			want: []zone{
				wantZone("2.0.192.in-addr.arpa.", "192.0.2.0/24"),
				wantZone("8.b.d.0.1.0.0.2.ip6.arpa.", "2001:db8::/32"),
			},
		},
		{name: "server block root", input: "rptr", keys: []string{"dns://.:53"}, want: []zone{wantZone("in-addr.arpa.", "0.0.0.0/0"), wantZone("ip6.arpa.", "::/0")}},
		{
			name:  "arguments win over the server block",
			input: "rptr 198.51.100.0/24",
			keys:  []string{"example.org.:53"},
			want:  []zone{wantZone("100.51.198.in-addr.arpa.", "198.51.100.0/24")},
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

func TestParseDefaults(t *testing.T) {
	before := time.Now().Unix()
	p, err := parseBlock("rptr {\n}", "2.0.192.in-addr.arpa.:53")
	after := time.Now().Unix()
	if err != nil {
		t.Fatal(err)
	}
	if p.ttl != 3600 {
		t.Errorf("ttl = %d, want 3600", p.ttl)
	}
	if p.redisConfig.Timeout != 500*time.Millisecond {
		t.Errorf("timeout = %v, want 500ms", p.redisConfig.Timeout)
	}
	if p.redisConfig.Prefix != "rptr:" {
		t.Errorf("prefix = %q, want %q", p.redisConfig.Prefix, "rptr:")
	}
	if r := p.redisConfig.Redis.Server; r == nil || r.Addr != "127.0.0.1:6379" || r.DB != 0 || r.TLSConfig != nil || r.Username != "" || r.Password != "" {
		t.Errorf("redis options = %+v, want 127.0.0.1:6379 db 0 without TLS or credentials", r)
	}
	if p.Fall.Zones != nil {
		t.Errorf("fallthrough zones = %q, want none", p.Fall.Zones)
	}
	if p.warnings == nil {
		t.Error("no warnings limiter")
	}
	a := p.apex
	if a.ns != nil || a.mname != "" || a.rname != "" {
		t.Errorf("ns, mname, rname = %q, %q, %q; want them unset so that the zone's own defaults apply", a.ns, a.mname, a.rname)
	}
	if a.refresh != 7200 || a.retry != 3600 || a.expire != 1209600 || a.minimum != 300 || a.ttl != 3600 {
		t.Errorf("SOA timers and TTL = %d %d %d %d ttl %d, want 7200 3600 1209600 300 ttl 3600", a.refresh, a.retry, a.expire, a.minimum, a.ttl)
	}
	if int64(a.serial) < before || int64(a.serial) > after {
		t.Errorf("serial = %d, want the start time, %d to %d", a.serial, before, after)
	}
}

func TestParseRedis(t *testing.T) {
	tests := []struct {
		url                string
		addr               string
		db                 int
		username, password string
		tls                bool
	}{
		{url: "redis://127.0.0.1:6379/0", addr: "127.0.0.1:6379"},
		{url: "redis://redis.example:6380/3", addr: "redis.example:6380", db: 3},
		{url: "redis://localhost", addr: "localhost:6379"},
		{url: "rediss://redis.example:6380/1", addr: "redis.example:6380", db: 1, tls: true},
		{url: "redis://:s3cret@127.0.0.1:6379/2", addr: "127.0.0.1:6379", db: 2, password: "s3cret"},
		{url: "redis://rptr:s3cret@127.0.0.1:6379/0", addr: "127.0.0.1:6379", username: "rptr", password: "s3cret"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			input := fmt.Sprintf("rptr . {\n\tredis %s\n}", tc.url)
			p, err := parseBlock(input)
			if err != nil {
				t.Fatalf("parse(%q): %v", input, err)
			}
			r := p.redisConfig.Redis.Server
			if r.Addr != tc.addr || r.DB != tc.db || r.Username != tc.username || r.Password != tc.password || (r.TLSConfig != nil) != tc.tls {
				t.Errorf("options: addr %q db %d user %q password %q tls %v; want %q %d %q %q %v",
					r.Addr, r.DB, r.Username, r.Password, r.TLSConfig != nil, tc.addr, tc.db, tc.username, tc.password, tc.tls)
			}
			if p.redisConfig.Prefix != "rptr:" {
				t.Errorf("prefix = %q, want the default", p.redisConfig.Prefix)
			}
		})
	}
}

func TestParseRedisModes(t *testing.T) {
	p, err := parseBlock("rptr . {\n\tredis sentinel redis://s:spw@10.0.0.1:26379/2?master_name=dns&addr=10.0.0.2:26379&username=rptr&password=pw\n}")
	if err != nil {
		t.Fatal(err)
	}
	r := p.redisConfig.Redis
	if s := r.Sentinel; r.Server != nil || r.Cluster != nil || s == nil || s.MasterName != "dns" ||
		!slices.Equal(s.SentinelAddrs, []string{"10.0.0.1:26379", "10.0.0.2:26379"}) || s.DB != 2 ||
		s.SentinelUsername != "s" || s.SentinelPassword != "spw" || s.Username != "rptr" || s.Password != "pw" {
		t.Errorf("sentinel options = %+v", r.Sentinel)
	}

	p, err = parseBlock("rptr . {\n\tredis cluster redis://rptr:pw@10.0.0.1:6379?addr=10.0.0.2:6379&addr=10.0.0.3:6379\n}")
	if err != nil {
		t.Fatal(err)
	}
	r = p.redisConfig.Redis
	if c := r.Cluster; r.Server != nil || r.Sentinel != nil || c == nil ||
		!slices.Equal(c.Addrs, []string{"10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"}) || c.Username != "rptr" || c.Password != "pw" {
		t.Errorf("cluster options = %+v", r.Cluster)
	}
}

func TestParseTLS(t *testing.T) {
	// Any PEM certificate will do as a CA file here; the end-to-end test
	// connects with real ones.
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, testCA(t), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, block string
		serverName  string
		caSet       bool
	}{
		{name: "system CAs", block: "redis redis://redis.example:6380\n\ttls", serverName: "redis.example"},
		{name: "own CA before redis", block: "tls " + ca + "\n\tredis redis://10.1.2.3:6380", serverName: "10.1.2.3", caSet: true},
		{name: "server name", block: "redis redis://10.1.2.3:6380\n\ttls " + ca + "\n\ttls_servername redis.internal", serverName: "redis.internal", caSet: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parseBlock("rptr . {\n\t" + tc.block + "\n}")
			if err != nil {
				t.Fatal(err)
			}
			cfg := p.redisConfig.Redis.Server.TLSConfig
			if cfg == nil || cfg.ServerName != tc.serverName || (cfg.RootCAs != nil) != tc.caSet {
				t.Fatalf("TLS config = %+v, want server name %q, own CA %v", cfg, tc.serverName, tc.caSet)
			}
		})
	}
	p, err := parseBlock("rptr . {\n\ttls " + ca + "\n\tredis cluster redis://10.0.0.1:6379?addr=10.0.0.2:6379\n}")
	if err != nil {
		t.Fatal(err)
	}
	// Each node's certificate is checked against the node's own address.
	if cfg := p.redisConfig.Redis.Cluster.TLSConfig; cfg == nil || cfg.ServerName != "" {
		t.Errorf("cluster TLS config = %+v, want no fixed server name", cfg)
	}
	p, err = parseBlock("rptr . {\n\tredis rediss://10.0.0.1:6380\n\ttls_servername redis.internal\n}")
	if err != nil {
		t.Fatal(err)
	}
	if cfg := p.redisConfig.Redis.Server.TLSConfig; cfg == nil || cfg.ServerName != "redis.internal" {
		t.Errorf("rediss:// and tls_servername: TLS config = %+v, want server name redis.internal", cfg)
	}
}

// testCA returns a self-signed CA certificate in PEM.
func testCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestParseOnErrorAndStale(t *testing.T) {
	p, err := parseBlock("rptr . {\n}")
	if err != nil {
		t.Fatal(err)
	}
	if p.errorFallthrough || p.stale != 0 {
		t.Errorf("defaults: on_error fallthrough %v, stale %v; want servfail and 0", p.errorFallthrough, p.stale)
	}
	p, err = parseBlock("rptr . {\n\ton_error fallthrough\n\tstale 90s\n}")
	if err != nil {
		t.Fatal(err)
	}
	if !p.errorFallthrough || p.stale != 90*time.Second {
		t.Errorf("on_error fallthrough %v, stale %v; want true and 90s", p.errorFallthrough, p.stale)
	}
	p, err = parseBlock("rptr . {\n\ton_error fallthrough\n\ton_error servfail\n}")
	if err != nil {
		t.Fatal(err)
	}
	if p.errorFallthrough {
		t.Error("the last on_error line does not win")
	}
}

func TestParsePrefix(t *testing.T) {
	for _, prefix := range []string{"rptr:", "dns:ptr:", "x", "{tenant}:"} {
		t.Run(prefix, func(t *testing.T) {
			p, err := parseBlock(fmt.Sprintf("rptr . {\n\tprefix %q\n}", prefix))
			if err != nil {
				t.Fatal(err)
			}
			if p.redisConfig.Prefix != prefix {
				t.Errorf("prefix = %q, want %q", p.redisConfig.Prefix, prefix)
			}
		})
	}
}

func TestParseTTL(t *testing.T) {
	for _, tc := range []struct {
		arg  string
		want uint32
	}{
		{"0", 0},
		{"300", 300},
		{"2147483647", 2147483647},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			p, err := parseBlock("rptr . {\n\tttl " + tc.arg + "\n}")
			if err != nil {
				t.Fatal(err)
			}
			if p.ttl != tc.want {
				t.Errorf("ttl = %d, want %d", p.ttl, tc.want)
			}
			// The apex records follow the configured TTL.
			if p.apex.ttl != tc.want {
				t.Errorf("apex ttl = %d, want %d", p.apex.ttl, tc.want)
			}
		})
	}
}

func TestParseNS(t *testing.T) {
	for _, tc := range []struct {
		args string
		want []string
	}{
		{"ns1.example.net.", []string{"ns1.example.net."}},
		{"NS1.Example.NET", []string{"ns1.example.net."}},
		{"ns1.example.net ns2.example.org. NS3.EXAMPLE.COM", []string{"ns1.example.net.", "ns2.example.org.", "ns3.example.com."}},
	} {
		t.Run(tc.args, func(t *testing.T) {
			p, err := parseBlock("rptr . {\n\tns " + tc.args + "\n}")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.apex.ns, tc.want) {
				t.Errorf("ns = %q, want %q", p.apex.ns, tc.want)
			}
		})
	}
}

func TestParseSOA(t *testing.T) {
	tests := []struct {
		args                            string
		mname, rname                    string
		refresh, retry, expire, minimum uint32
	}{
		{
			args:  "ns1.example.net. hostmaster.example.net.",
			mname: "ns1.example.net.", rname: "hostmaster.example.net.",
			refresh: defaultRefresh, retry: defaultRetry, expire: defaultExpire, minimum: defaultMinimum,
		},
		{
			args:  "NS1.Example.Net Hostmaster.Example.Net",
			mname: "ns1.example.net.", rname: "hostmaster.example.net.",
			refresh: defaultRefresh, retry: defaultRetry, expire: defaultExpire, minimum: defaultMinimum,
		},
		{
			args:  "ns1.example.net hostmaster@example.com",
			mname: "ns1.example.net.", rname: "hostmaster.example.com.",
			refresh: defaultRefresh, retry: defaultRetry, expire: defaultExpire, minimum: defaultMinimum,
		},
		{
			// A dot in the local part must be escaped, or it would read as
			// the mailbox "john" at "doe.example.com".
			args:  "ns1.example.net John.Doe@Example.COM",
			mname: "ns1.example.net.", rname: `john\.doe.example.com.`,
			refresh: defaultRefresh, retry: defaultRetry, expire: defaultExpire, minimum: defaultMinimum,
		},
		{
			args:  "ns1.example.net. hostmaster@example.com 3600 600 604800 60",
			mname: "ns1.example.net.", rname: "hostmaster.example.com.",
			refresh: 3600, retry: 600, expire: 604800, minimum: 60,
		},
		{
			args:  "ns1.example.net. hostmaster.example.net. 0 0 2147483647 0",
			mname: "ns1.example.net.", rname: "hostmaster.example.net.",
			refresh: 0, retry: 0, expire: 2147483647, minimum: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.args, func(t *testing.T) {
			p, err := parseBlock("rptr . {\n\tsoa " + tc.args + "\n}")
			if err != nil {
				t.Fatal(err)
			}
			a := p.apex
			if a.mname != tc.mname || a.rname != tc.rname {
				t.Errorf("mname, rname = %q, %q; want %q, %q", a.mname, a.rname, tc.mname, tc.rname)
			}
			if a.refresh != tc.refresh || a.retry != tc.retry || a.expire != tc.expire || a.minimum != tc.minimum {
				t.Errorf("timers = %d %d %d %d, want %d %d %d %d", a.refresh, a.retry, a.expire, a.minimum, tc.refresh, tc.retry, tc.expire, tc.minimum)
			}
			if a.ttl != defaultTTL {
				t.Errorf("apex ttl = %d, want the default %d without a ttl option", a.ttl, defaultTTL)
			}
		})
	}
}

func TestParseFallthrough(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"fallthrough", []string{"."}},
		{"fallthrough 10.0.0.0/24", []string{"0.0.10.in-addr.arpa."}},
		{"fallthrough 1.0.10.IN-ADDR.ARPA 8.b.d.0.1.0.0.2.ip6.arpa.", []string{"1.0.10.in-addr.arpa.", "8.b.d.0.1.0.0.2.ip6.arpa."}},
	} {
		t.Run(tc.line, func(t *testing.T) {
			p, err := parseBlock("rptr 10.0.0.0/16 {\n\t" + tc.line + "\n}")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.Fall.Zones, tc.want) {
				t.Errorf("fallthrough zones = %q, want %q", p.Fall.Zones, tc.want)
			}
		})
	}
}

// TestParseAllOptions sets every option in one block, to show that they do
// not overwrite each other.
func TestParseAllOptions(t *testing.T) {
	input := `rptr 192.0.2.0/24 2001:db8::/32 {
		redis rediss://rptr:pw@redis.example:6380/4
		prefix ptr:
		ttl 120
		ns ns1.example.net ns2.example.net
		soa ns1.example.net hostmaster@example.net 100 200 300 400
		fallthrough 2.0.192.in-addr.arpa.
	}`
	p, err := parseBlock(input)
	if err != nil {
		t.Fatal(err)
	}
	want := []zone{wantZone("2.0.192.in-addr.arpa.", "192.0.2.0/24"), wantZone("8.b.d.0.1.0.0.2.ip6.arpa.", "2001:db8::/32")}
	if !sameZones(p.zones, want) {
		t.Errorf("zones = %v, want %v", p.zones, want)
	}
	r := p.redisConfig.Redis.Server
	if r.Addr != "redis.example:6380" || r.DB != 4 || r.Username != "rptr" || r.Password != "pw" || r.TLSConfig == nil {
		t.Errorf("redis options = %+v", r)
	}
	if p.redisConfig.Prefix != "ptr:" || p.ttl != 120 {
		t.Errorf("prefix, ttl = %q, %d; want ptr:, 120", p.redisConfig.Prefix, p.ttl)
	}
	wantApex := apex{
		ns:    []string{"ns1.example.net.", "ns2.example.net."},
		mname: "ns1.example.net.", rname: "hostmaster.example.net.",
		serial:  p.apex.serial,
		refresh: 100, retry: 200, expire: 300, minimum: 400,
		ttl: 120,
	}
	if a := p.apex; !slices.Equal(a.ns, wantApex.ns) || a.mname != wantApex.mname || a.rname != wantApex.rname ||
		a.refresh != 100 || a.retry != 200 || a.expire != 300 || a.minimum != 400 || a.ttl != 120 {
		t.Errorf("apex = %+v, want %+v", a, wantApex)
	}
	if !slices.Equal(p.Fall.Zones, []string{"2.0.192.in-addr.arpa."}) {
		t.Errorf("fallthrough zones = %q", p.Fall.Zones)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		keys    []string
		wantErr string // a part of the error message
		line    int    // the line the error must name
	}{
		// Zones; the error names the line of the rptr directive.
		{name: "host bits", input: "# reverse zones\nrptr 10.0.0.1/22 {\n}", wantErr: "has host bits set; did you mean 10.0.0.0/22?", line: 2},
		{name: "IPv6 host bits", input: "rptr 2001:db8::1/48", wantErr: "has host bits set; did you mean 2001:db8::/48?", line: 1},
		{name: "forward zone", input: "\n\nrptr 10.0.0.0/24 example.com. {\n\tttl 60\n}", wantErr: "zone example.com. is not a reverse zone", line: 3},
		{name: "bad octet", input: "rptr 256.in-addr.arpa.", wantErr: "label is not part of an address", line: 1},
		{name: "bad nibble", input: "rptr g.ip6.arpa.", wantErr: "label is not part of an address", line: 1},
		{name: "too many labels", input: "rptr 1.2.3.4.5.in-addr.arpa.", wantErr: "more labels than an address has", line: 1},
		{name: "IPv4 /33", input: "rptr 10.0.0.0/33", wantErr: "is not a reverse zone", line: 1},
		{name: "IPv6 /129", input: "rptr 2001:db8::/129", wantErr: "is not a reverse zone", line: 1},
		{name: "empty label", input: "rptr a..in-addr.arpa.", wantErr: "zone is not a valid domain name", line: 1},
		{name: "forward server block zone", input: "# comment\nrptr {\n}", keys: []string{"example.org.:53"}, wantErr: "zone example.org. is not a reverse zone", line: 2},
		{name: "no zones", input: "rptr", wantErr: "no zones", line: 1},

		// redis
		{name: "redis scheme", input: "rptr . {\n\tredis http://127.0.0.1:6379\n}", wantErr: "redis URL: redis: invalid URL scheme: http", line: 2},
		{name: "redis database", input: "rptr . {\n\tprefix p:\n\tredis redis://127.0.0.1:6379/abc\n}", wantErr: "redis URL:", line: 3},
		{name: "redis without URL", input: "rptr . {\n\tredis\n}", wantErr: "Wrong argument count", line: 2},
		{name: "redis with two URLs", input: "rptr . {\n\tredis redis://a redis://b\n}", wantErr: `redis "redis://a": the mode is sentinel or cluster`, line: 2},
		{name: "redis with three words", input: "rptr . {\n\tredis cluster redis://a redis://b\n}", wantErr: "Wrong argument count", line: 2},
		{name: "redis unknown mode", input: "rptr . {\n\tredis replica redis://a\n}", wantErr: `redis "replica": the mode is sentinel or cluster`, line: 2},
		{name: "sentinel without master", input: "rptr . {\n\tredis sentinel redis://127.0.0.1:26379\n}", wantErr: "redis sentinel URL: the URL names no master: add ?master_name=NAME", line: 2},
		{name: "sentinel unknown parameter", input: "rptr . {\n\tredis sentinel redis://127.0.0.1:26379?master_name=m&colour=red\n}", wantErr: "redis sentinel URL:", line: 2},
		{name: "cluster scheme", input: "rptr . {\n\tredis cluster unix:///tmp/redis.sock\n}", wantErr: "redis cluster URL:", line: 2},

		// tls
		{name: "tls CA missing", input: "rptr . {\n\ttls /nonexistent/ca.pem\n}", wantErr: "tls:", line: 2},
		{name: "tls cert missing", input: "rptr . {\n\tttl 5\n\ttls /nonexistent/c.pem /nonexistent/k.pem\n}", wantErr: "tls:", line: 3},
		{name: "tls four arguments", input: "rptr . {\n\ttls a b c d\n}", wantErr: "Wrong argument count", line: 2},
		{name: "tls_servername without tls", input: "rptr . {\n\ttls_servername redis.example\n}", wantErr: "tls_servername without tls or a rediss:// URL", line: 1},
		{name: "sentinel reading replicas", input: "rptr . {\n\tredis sentinel redis://127.0.0.1:26379?master_name=m&replica_only=true\n}", wantErr: "lookups must read the master", line: 2},
		{name: "sentinel routing by latency", input: "rptr . {\n\tredis sentinel redis://127.0.0.1:26379?master_name=m&route_by_latency=true\n}", wantErr: "lookups must read the master", line: 2},
		{name: "cluster reading replicas", input: "rptr . {\n\tredis cluster redis://127.0.0.1:6379?read_only=true\n}", wantErr: "lookups must read the masters", line: 2},
		{name: "tls_servername missing", input: "rptr . {\n\ttls_servername\n}", wantErr: "Wrong argument count", line: 2},

		// on_error and stale
		{name: "on_error unknown", input: "rptr . {\n\ton_error nxdomain\n}", wantErr: `on_error "nxdomain": want servfail or fallthrough`, line: 2},
		{name: "on_error missing", input: "rptr . {\n\ton_error\n}", wantErr: "Wrong argument count", line: 2},
		{name: "stale not a duration", input: "rptr . {\n\tstale 5\n}", wantErr: `stale "5" is not a duration`, line: 2},
		{name: "stale negative", input: "rptr . {\n\tstale -1m\n}", wantErr: `stale "-1m" is not a duration`, line: 2},
		{name: "stale without cache", input: "rptr . {\n\tcache 0\n\tstale 1m\n}", wantErr: `stale answers come from the cache, which "cache 0" turns off`, line: 1},

		// prefix
		{name: "prefix missing", input: "rptr . {\n\tprefix\n}", wantErr: "Wrong argument count", line: 2},
		{name: "prefix twice", input: "rptr . {\n\tprefix a: b:\n}", wantErr: "Wrong argument count", line: 2},
		{name: "prefix empty", input: "rptr . {\n\tprefix \"\"\n}", wantErr: `prefix "" must be non-empty`, line: 2},
		{name: "prefix with space", input: "rptr . {\n\tprefix \"a b\"\n}", wantErr: "hold no white space", line: 2},

		// ttl
		{name: "ttl negative", input: "rptr . {\n\tprefix p:\n\tttl -1\n}", wantErr: `ttl "-1" is not a number of seconds from 0 to 2147483647`, line: 3},
		{name: "ttl above 2^31-1", input: "rptr . {\n\tttl 2147483648\n}", wantErr: `ttl "2147483648" is not a number of seconds`, line: 2},
		{name: "ttl above 2^32", input: "rptr . {\n\tttl 4294967296\n}", wantErr: `ttl "4294967296" is not a number of seconds`, line: 2},
		{name: "ttl not a number", input: "rptr . {\n\tttl abc\n}", wantErr: `ttl "abc" is not a number of seconds`, line: 2},
		{name: "ttl missing", input: "rptr . {\n\tttl\n}", wantErr: "Wrong argument count", line: 2},
		{name: "ttl twice", input: "rptr . {\n\tttl 1 2\n}", wantErr: "Wrong argument count", line: 2},

		// ns
		{name: "ns missing", input: "rptr . {\n\tttl 60\n\tns\n}", wantErr: "Wrong argument count", line: 3},
		{name: "ns empty label", input: "rptr . {\n\tns ns1.example.net ns2..example.net\n}", wantErr: `ns: "ns2..example.net" is not a domain name`, line: 2},
		{name: "ns root", input: "rptr . {\n\tns .\n}", wantErr: `ns: "." is not a domain name`, line: 2},
		{name: "ns label too long", input: "rptr . {\n\tns " + strings.Repeat("a", 64) + ".example.net\n}", wantErr: "is not a domain name", line: 2},

		// soa
		{name: "soa one value", input: "rptr . {\n\tsoa ns1.example.net\n}", wantErr: "got 1 values", line: 2},
		{name: "soa three values", input: "rptr . {\n\tsoa ns1.example.net hostmaster.example.net 1\n}", wantErr: "got 3 values", line: 2},
		{name: "soa four values", input: "rptr . {\n\tsoa a.example b.example 1 2\n}", wantErr: "got 4 values", line: 2},
		{name: "soa five values", input: "rptr . {\n\tsoa a.example b.example 1 2 3\n}", wantErr: "got 5 values", line: 2},
		{name: "soa seven values", input: "rptr . {\n\tsoa a.example b.example 1 2 3 4 5\n}", wantErr: "got 7 values", line: 2},
		{name: "soa no values", input: "rptr . {\n\tsoa\n}", wantErr: "got 0 values", line: 2},
		{name: "soa bad MNAME", input: "rptr . {\n\tsoa ns1..example.net hostmaster.example.net\n}", wantErr: "soa MNAME:", line: 2},
		{name: "soa root MNAME", input: "rptr . {\n\tsoa . hostmaster.example.net\n}", wantErr: "soa MNAME:", line: 2},
		{name: "soa bad RNAME", input: "rptr . {\n\tsoa ns1.example.net host..master.example.net\n}", wantErr: "soa RNAME:", line: 2},
		{name: "soa mail address without local part", input: "rptr . {\n\tsoa ns1.example.net @example.net\n}", wantErr: "soa RNAME:", line: 2},
		{name: "soa bad REFRESH", input: "rptr . {\n\tsoa a.example b.example x 2 3 4\n}", wantErr: `soa REFRESH "x" is not a number of seconds`, line: 2},
		{name: "soa bad RETRY", input: "rptr . {\n\tsoa a.example b.example 1 -2 3 4\n}", wantErr: `soa RETRY "-2" is not a number of seconds`, line: 2},
		{name: "soa bad EXPIRE", input: "rptr . {\n\tsoa a.example b.example 1 2 2147483648 4\n}", wantErr: `soa EXPIRE "2147483648"`, line: 2},
		{name: "soa bad MINIMUM", input: "rptr . {\n\tttl 60\n\tns a.example\n\tsoa a.example b.example 1 2 3 1h\n}", wantErr: `soa MINIMUM "1h"`, line: 4},

		// anything else
		{name: "unknown property", input: "rptr . {\n\tttl 60\n\ttimeoutt 1s\n}", wantErr: `unknown property "timeoutt"`, line: 3},
		{name: "timeout not a duration", input: "rptr . {\n\ttimeout 5\n}", wantErr: `timeout "5" is not a positive duration`, line: 2},
		{name: "timeout zero", input: "rptr . {\n\ttimeout 0s\n}", wantErr: `timeout "0s" is not a positive duration`, line: 2},
		{name: "timeout without value", input: "rptr . {\n\ttimeout\n}", wantErr: "Wrong argument count", line: 2},
		{name: "unknown property without arguments", input: "rptr . {\n\tbogus\n}", wantErr: `unknown property "bogus"`, line: 2},
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

func TestParseOnce(t *testing.T) {
	for _, input := range []string{
		"rptr .\nrptr .",
		"rptr 10.0.0.0/24 {\n\tttl 60\n}\nrptr 10.0.1.0/24 {\n}",
	} {
		if _, err := parseBlock(input); !errors.Is(err, plugin.ErrOnce) {
			t.Errorf("parse(%q) error = %v, want %v", input, err, plugin.ErrOnce)
		}
	}
}

func TestApexSOA(t *testing.T) {
	const origin = "2.0.192.in-addr.arpa."
	tests := []struct {
		name         string
		apex         apex
		owner        string
		mname, rname string
	}{
		{name: "defaults", owner: origin, mname: "ns.dns." + origin, rname: "hostmaster." + origin},
		{name: "owner as asked", owner: "2.0.192.IN-ADDR.arpa.", mname: "ns.dns." + origin, rname: "hostmaster." + origin},
		{name: "first ns", apex: apex{ns: []string{"ns1.example.net.", "ns2.example.net."}}, owner: origin, mname: "ns1.example.net.", rname: "hostmaster." + origin},
		{
			name:  "configured",
			apex:  apex{ns: []string{"ns1.example.net."}, mname: "primary.example.net.", rname: "dns.example.net."},
			owner: origin, mname: "primary.example.net.", rname: "dns.example.net.",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.apex
			a.serial, a.refresh, a.retry, a.expire, a.minimum, a.ttl = 1, 2, 3, 4, 5, 6
			got := a.soa(origin, tc.owner)
			want := &dns.SOA{
				Hdr:    dns.RR_Header{Name: tc.owner, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 6},
				Ns:     tc.mname,
				Mbox:   tc.rname,
				Serial: 1, Refresh: 2, Retry: 3, Expire: 4, Minttl: 5,
			}
			if *got != *want {
				t.Errorf("soa = %v, want %v", got, want)
			}
		})
	}
}

func TestApexNegativeSOA(t *testing.T) {
	const origin = "8.b.d.0.1.0.0.2.ip6.arpa."
	for _, tc := range []struct {
		ttl, minimum, want uint32
	}{
		{ttl: 3600, minimum: 300, want: 300},
		{ttl: 60, minimum: 300, want: 60},
		{ttl: 300, minimum: 300, want: 300},
		{ttl: 0, minimum: 300, want: 0},
	} {
		a := apex{ttl: tc.ttl, minimum: tc.minimum}
		got := a.negativeSOA(origin)
		if got.Hdr.Ttl != tc.want || got.Hdr.Name != origin || got.Minttl != tc.minimum {
			t.Errorf("ttl %d minimum %d: negativeSOA = %v, want TTL %d, owner %s, MINIMUM %d", tc.ttl, tc.minimum, got, tc.want, origin, tc.minimum)
		}
		// The cap applies to the copy in the answer only.
		if a.ttl != tc.ttl {
			t.Errorf("negativeSOA changed the apex TTL to %d", a.ttl)
		}
	}
}

func TestApexNSSet(t *testing.T) {
	const origin = "2.0.192.in-addr.arpa."
	for _, tc := range []struct {
		name  string
		ns    []string
		owner string
		want  []string
	}{
		{name: "default", owner: origin, want: []string{"ns.dns." + origin}},
		{name: "configured", ns: []string{"ns1.example.net.", "ns2.example.net."}, owner: origin, want: []string{"ns1.example.net.", "ns2.example.net."}},
		{name: "owner as asked", ns: []string{"ns1.example.net."}, owner: "2.0.192.In-Addr.Arpa.", want: []string{"ns1.example.net."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := apex{ns: tc.ns, ttl: 86400}
			rrs := a.nsSet(origin, tc.owner)
			if len(rrs) != len(tc.want) {
				t.Fatalf("nsSet = %v, want %d records", rrs, len(tc.want))
			}
			for i, rr := range rrs {
				want := &dns.NS{Hdr: dns.RR_Header{Name: tc.owner, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: 86400}, Ns: tc.want[i]}
				if ns, ok := rr.(*dns.NS); !ok || *ns != *want {
					t.Errorf("record %d = %v, want %v", i, rr, want)
				}
			}
		})
	}
}

// sameZones compares reverse zones; forward zones compare by origin and
// their lines' templates.
func sameZones(a, b []zone) bool {
	return slices.EqualFunc(a, b, func(x, y zone) bool {
		return x.origin == y.origin && x.prefix == y.prefix && x.classless == y.classless &&
			slices.EqualFunc(x.forward, y.forward, func(l, m *synthLine) bool { return l.tmpl.String() == m.tmpl.String() })
	})
}

func TestParseTimeout(t *testing.T) {
	p, err := parseBlock("rptr . {\n\ttimeout 250ms\n}")
	if err != nil {
		t.Fatal(err)
	}
	if p.redisConfig.Timeout != 250*time.Millisecond {
		t.Errorf("timeout = %v, want 250ms", p.redisConfig.Timeout)
	}
}
