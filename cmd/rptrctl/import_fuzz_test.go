package main

import (
	"bytes"
	"testing"

	"github.com/rptr-dns/rptr/ptrstore"
)

// FuzzReadInput feeds arbitrary bytes to each import format's reader. None
// may panic or loop; every record a reader accepts must be one the plugin
// serves (a host name that ptrstore accepts as it is, a TTL within
// bounds); and what import writes must come back the same through the
// zone format that export writes.
func FuzzReadInput(f *testing.F) {
	for _, seed := range []string{
		"$ORIGIN 2.0.192.in-addr.arpa.\n$TTL 300\n10 IN PTR mail.example.com.\n11 PTR www\n",
		"$ORIGIN 0.10.in-addr.arpa.\n$GENERATE 1-20 $.0 PTR host-$.example.com.\n",
		"@ IN SOA ns hostmaster 1 2 3 4 5\n( 7 ) IN PTR x.\n$INCLUDE /etc/passwd\n",
		"ip,name,ttl,disabled\n192.0.2.1,a.example.com,60,1\n2001:db8::1,b.example.com,,\n",
		"192.0.2.1,bücher.example\n\"192.0.2.2\",\"x,y\"\n",
		"192.0.2.1 host.example.com alias # comment\n::1 localhost\n",
		"",
		"\xff\xfe\x00",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for name, read := range map[string]func(*intake) error{
			"zone":  func(in *intake) error { return readZone(bytes.NewReader(data), "", in) },
			"csv":   func(in *intake) error { return readCSV(bytes.NewReader(data), in) },
			"hosts": func(in *intake) error { return readHosts(bytes.NewReader(data), in) },
		} {
			in := newIntake()
			if err := read(in); err != nil {
				continue // an unreadable input is reported whole
			}
			write, _, _ := in.resolve()
			for i, p := range write {
				if reason, bad := in.rejected[p.line]; bad {
					t.Fatalf("%s: line %d is rejected (%s), yet its record is to be written", name, p.line, reason)
				}
				if !p.addr.IsValid() || p.addr.Zone() != "" {
					t.Fatalf("%s: line %d gave the address %v", name, p.line, p.addr)
				}
				if n, err := ptrstore.HostName(p.rec.Name); err != nil || n != p.rec.Name {
					t.Fatalf("%s: line %d gave the name %q (%v)", name, p.line, p.rec.Name, err)
				}
				if p.rec.HasTTL && p.rec.TTL > ptrstore.MaxTTL {
					t.Fatalf("%s: line %d gave the TTL %d", name, p.line, p.rec.TTL)
				}
				if p.rec.Disabled || i >= 64 {
					// A zone has no way to say disabled; and a $GENERATE
					// line gives up to 65536 records: a sample comes back.
					continue
				}
				back := newIntake()
				if err := readZone(bytes.NewReader([]byte(zoneLine(p.addr, p.rec)+"\n")), "", back); err != nil || len(back.recs) != 1 ||
					back.recs[0].addr != p.addr || !back.recs[0].rec.SameAs(p.rec) {
					t.Fatalf("%s: line %d: %v %+v does not come back through the zone format: %+v %v", name, p.line, p.addr, p.rec, back.recs, back.rejected)
				}
			}
		}
	})
}
