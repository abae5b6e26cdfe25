package test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/rptr-dns/rptr/internal/corednstest"
)

// writeKey makes a DNSSEC key for zone in dir, in the K<zone>+013+<tag>
// files the dnssec plugin reads, and returns their base name and the key.
func writeKey(t *testing.T, dir, zone string) (string, *dns.DNSKEY) {
	t.Helper()
	k := &dns.DNSKEY{
		Hdr:       dns.RR_Header{Name: zone, Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
		Flags:     257,
		Protocol:  3,
		Algorithm: dns.ECDSAP256SHA256,
	}
	priv, err := k.Generate(256)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, fmt.Sprintf("K%s+%03d+%05d", zone, k.Algorithm, k.KeyTag()))
	if err := os.WriteFile(base+".key", []byte(k.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".private", []byte(k.PrivateKeyString(priv)), 0o600); err != nil {
		t.Fatal(err)
	}
	return base, k
}

// verified checks that every RRset of section is covered by a valid RRSIG
// made with key, and returns the RRsets by type.
func verified(t *testing.T, key *dns.DNSKEY, section []dns.RR) map[uint16][]dns.RR {
	t.Helper()
	sets := map[uint16][]dns.RR{}
	var sigs []*dns.RRSIG
	for _, rr := range section {
		if sig, ok := rr.(*dns.RRSIG); ok {
			sigs = append(sigs, sig)
			continue
		}
		sets[rr.Header().Rrtype] = append(sets[rr.Header().Rrtype], rr)
	}
	for typ, set := range sets {
		ok := false
		for _, sig := range sigs {
			if sig.TypeCovered == typ && sig.KeyTag == key.KeyTag() {
				if err := sig.Verify(key, set); err != nil {
					t.Errorf("RRSIG over %s does not verify: %v", dns.TypeToString[typ], err)
				}
				if !sig.ValidityPeriod(time.Now()) {
					t.Errorf("RRSIG over %s is outside its validity period", dns.TypeToString[typ])
				}
				ok = true
			}
		}
		if !ok {
			t.Errorf("no RRSIG over %s %v", dns.TypeToString[typ], set)
		}
	}
	return sets
}

// TestSignedAnswers runs rptr under CoreDNS's cache and dnssec plugins and
// checks that answers, NODATA and NXDOMAIN proofs validate against the
// zones' keys, also when they come from the cache.
func TestSignedAnswers(t *testing.T) {
	dir := t.TempDir()
	fwdKeyFile, fwdKey := writeKey(t, dir, "dyn.example.com.")
	revKeyFile, revKey := writeKey(t, dir, "2.0.192.in-addr.arpa.")
	s := corednstest.Start(t, coredns, fmt.Sprintf(`dyn.example.com.:{dns} {
    cache 60
    dnssec {
        key file %s
    }
    rptr 192.0.2.0/24 {
        redis %s
        prefix %s
        synthesize ip-{ip}.dyn.example.com.
    }
}
2.0.192.in-addr.arpa.:{dns} {
    cache 60
    dnssec {
        key file %s
    }
    rptr {
        redis %[2]s
        prefix %[3]s
        synthesize ip-{ip}.dyn.example.com.
    }
}
`, fwdKeyFile, rdb.URL(0), prefixFor(t), revKeyFile))

	ask := func(name string, qtype uint16) *dns.Msg {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		m.SetEdns0(4096, true)
		r, err := s.Exchange("tcp", m)
		if err != nil {
			t.Fatalf("%s %s: %v", name, dns.TypeToString[qtype], err)
		}
		return r
	}
	// The served DNSKEY sets must hold the keys and be self-signed.
	for _, k := range []*dns.DNSKEY{fwdKey, revKey} {
		r := ask(k.Hdr.Name, dns.TypeDNSKEY)
		sets := verified(t, k, r.Answer)
		if len(sets[dns.TypeDNSKEY]) != 1 || sets[dns.TypeDNSKEY][0].(*dns.DNSKEY).PublicKey != k.PublicKey {
			t.Errorf("DNSKEY of %s: %v", k.Hdr.Name, r.Answer)
		}
	}

	for round := range 2 { // the second round comes from the cache
		// Positive answers.
		r := ask("ip-192-0-2-7.dyn.example.com.", dns.TypeA)
		if sets := verified(t, fwdKey, r.Answer); len(sets[dns.TypeA]) != 1 {
			t.Errorf("round %d: A: %v", round, r)
		}
		r = ask("7.2.0.192.in-addr.arpa.", dns.TypePTR)
		if sets := verified(t, revKey, r.Answer); len(sets[dns.TypePTR]) != 1 {
			t.Errorf("round %d: PTR: %v", round, r)
		}

		// NODATA: the SOA and an NSEC at the name that denies the type.
		r = ask("ip-192-0-2-7.dyn.example.com.", dns.TypeAAAA)
		checkDenial(t, fwdKey, r, "ip-192-0-2-7.dyn.example.com.", dns.TypeAAAA)
		// NXDOMAIN, turned by the dnssec plugin into a NODATA "black lie".
		r = ask("nothing.dyn.example.com.", dns.TypeA)
		checkDenial(t, fwdKey, r, "nothing.dyn.example.com.", dns.TypeA)
		r = ask("7.3.2.0.192.in-addr.arpa.", dns.TypePTR)
		checkDenial(t, revKey, r, "7.3.2.0.192.in-addr.arpa.", dns.TypePTR)
	}
}

// checkDenial checks a signed denial: NOERROR, no answer, a signed SOA and
// a signed NSEC owned by name whose bitmap lacks qtype.
func checkDenial(t *testing.T, key *dns.DNSKEY, r *dns.Msg, name string, qtype uint16) {
	t.Helper()
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Errorf("%s %s: rcode %s, answer %v; want a signed denial", name, dns.TypeToString[qtype], dns.RcodeToString[r.Rcode], r.Answer)
		return
	}
	sets := verified(t, key, r.Ns)
	if len(sets[dns.TypeSOA]) != 1 || len(sets[dns.TypeNSEC]) != 1 {
		t.Errorf("%s %s: authority %v; want a signed SOA and NSEC", name, dns.TypeToString[qtype], r.Ns)
		return
	}
	nsec := sets[dns.TypeNSEC][0].(*dns.NSEC)
	if !dns.IsSubDomain(key.Hdr.Name, nsec.Hdr.Name) || nsec.Hdr.Name != name {
		t.Errorf("NSEC owner %s, want %s", nsec.Hdr.Name, name)
	}
	for _, typ := range nsec.TypeBitMap {
		if typ == qtype {
			t.Errorf("NSEC at %s lists %s, which it should deny", name, dns.TypeToString[qtype])
		}
	}
}
