package main

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rptr-dns/rptr/internal/corednstest"
	"github.com/rptr-dns/rptr/reverse"
	"github.com/rptr-dns/rptr/synth"
)

// storedAddr is the address of the i-th stored record: 10.0.0.0 onwards.
func storedAddr(i int) netip.Addr {
	v := uint32(10<<24 + i)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func storedName(i int) string { return fmt.Sprintf("host-%d.example.com.", i) }

// Networks of synthesized names, away from the stored records.
var (
	synth4 = netip.MustParsePrefix("10.200.0.0/16")
	synth6 = netip.MustParsePrefix("2001:db8::/48")
)

// randomIn returns a random address of p.
func randomIn(r *rand.Rand, p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := range b {
		host := max(0, min(8, (i+1)*8-p.Bits()))
		mask := byte(1<<host - 1)
		b[i] = b[i]&^mask | byte(r.UintN(256))&mask
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// loadRecords writes n string records into Redis.
func (e *env) loadRecords(prefix string, n int) error {
	return e.load(prefix, n, func(p redis.Pipeliner, key string, i int) {
		p.Set(ctx, key, storedName(i), 0)
	})
}

// load writes n records into Redis with add, in pipelined batches.
func (e *env) load(prefix string, n int, add func(p redis.Pipeliner, key string, i int)) error {
	c := e.redis.Client(0)
	defer c.Close()
	for start := 0; start < n; start += 10_000 {
		p := c.Pipeline()
		for i := start; i < min(n, start+10_000); i++ {
			add(p, prefix+"ptr:"+storedAddr(i).String(), i)
		}
		if _, err := p.Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

// contender is one server in a comparison.
type contender struct {
	name string
	srv  *corednstest.Server
}

// comparison is rptr against references on one query file, with the
// ratios it must reach.
type comparison struct {
	title   string
	file    string
	rptr    contender
	refs    []contender
	targets []float64 // rptr/ref, per ref; a ratio of at least this
	// redisCore, when set, moves redis-server to that core for this
	// comparison (it shares the server's core otherwise).
	redisCore string
}

type measured struct {
	qps     []float64
	noerror float64
}

func throughput(e *env) error {
	fmt.Fprintf(os.Stderr, "loading %d records\n", *records)
	if err := e.loadRecords("rptr:", *records); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(1, 2))
	var hosts, stored, synthPTR, synthA, synthAAAA []string
	for i := range *records {
		hosts = append(hosts, storedAddr(i).String()+" "+storedName(i))
		stored = append(stored, reverse.AddrName(storedAddr(i))+" PTR")
	}
	r.Shuffle(len(stored), func(i, j int) { stored[i], stored[j] = stored[j], stored[i] })
	tmpl, err := synth.ParseTemplate("ip-{ip}.dyn.example.com.", synth.RFC5952)
	if err != nil {
		return err
	}
	for range 100_000 {
		a := randomIn(r, synth4)
		synthPTR = append(synthPTR, reverse.AddrName(a)+" PTR")
		synthA = append(synthA, tmpl.Name(a)+" A")
		synthAAAA = append(synthAAAA, tmpl.Name(randomIn(r, synth6))+" AAAA")
	}
	files := map[string][]string{"hosts.txt": hosts, "stored.txt": stored, "synth-ptr.txt": synthPTR, "synth-a.txt": synthA, "synth-aaaa.txt": synthAAAA}
	paths := map[string]string{}
	for name, lines := range files {
		if paths[name], err = e.writeFile(name, lines); err != nil {
			return err
		}
	}

	rptrBlock := fmt.Sprintf(`rptr 10.0.0.0/8 2001:db8::/48 {
        redis %s
        synthesize ip-{ip}.dyn.example.com. 10.200.0.0/16 2001:db8::/48
        %%s
    }`, e.redis.URL(0))
	corefiles := []struct{ name, body string }{
		{"rptr", fmt.Sprintf(rptrBlock, "")},
		{"rptr-nocache", fmt.Sprintf(rptrBlock, "cache 0")},
		{"hosts", fmt.Sprintf("hosts %s {\n        reload 0\n    }", paths["hosts.txt"])},
		{"whoami", "whoami"},
		{"template", `template IN PTR 200.10.in-addr.arpa {
        match "^(?P<d>[0-9]+)\.(?P<c>[0-9]+)\.200\.10\.in-addr\.arpa\.$"
        answer "{{ .Name }} 3600 IN PTR ip-10-200-{{ .Group.c }}-{{ .Group.d }}.dyn.example.com."
    }
    template IN A dyn.example.com {
        match "^ip-10-200-(?P<c>[0-9]+)-(?P<d>[0-9]+)\.dyn\.example\.com\.$"
        answer "{{ .Name }} 3600 IN A 10.200.{{ .Group.c }}.{{ .Group.d }}"
    }`},
	}
	srv := map[string]contender{}
	for _, cf := range corefiles {
		s, err := e.start(cf.name, ".:{dns} {\n    "+cf.body+"\n}\n")
		if err != nil {
			return err
		}
		srv[cf.name] = contender{name: cf.name, srv: s}
	}

	// One pass through each file first: the cache is hot, as for a
	// server that has been answering for a while.
	for _, f := range []string{"stored.txt", "synth-ptr.txt", "synth-a.txt", "synth-aaaa.txt"} {
		if _, err := e.dnsperf(srv["rptr"].srv.Addr, paths[f], 0, 0, false, 1); err != nil {
			return err
		}
	}

	comparisons := []comparison{
		{"stored PTR, hot, cache on", paths["stored.txt"], srv["rptr"], []contender{srv["hosts"]}, []float64{0.95}, ""},
		{"stored PTR, cache off, Redis on the server's core", paths["stored.txt"], srv["rptr-nocache"], []contender{srv["hosts"]}, []float64{0.5}, ""},
		{"stored PTR, cache off, Redis on the load generator's core", paths["stored.txt"], srv["rptr-nocache"], []contender{srv["hosts"]}, []float64{0.5}, "1"},
		{"synthesized PTR", paths["synth-ptr.txt"], srv["rptr"], []contender{srv["whoami"], srv["template"]}, []float64{0.9, 2}, ""},
		{"synthesized A", paths["synth-a.txt"], srv["rptr"], []contender{srv["whoami"], srv["template"]}, []float64{0.9, 2}, ""},
		{"synthesized AAAA", paths["synth-aaaa.txt"], srv["rptr"], []contender{srv["whoami"]}, []float64{0.9}, ""},
	}
	var out strings.Builder
	fmt.Fprintf(&out, "Machine: %s. Server pinned to core 0 (with redis-server), dnsperf to core 1; %d stored records; each figure the median of %d runs of %v, rptr and the reference alternating.\n\n",
		machine(), *records, *rounds, *duration)
	fmt.Fprintln(&out, "| workload | rptr q/s | reference | reference q/s | ratio | target | met |")
	fmt.Fprintln(&out, "| --- | ---: | --- | ---: | ---: | ---: | --- |")
	var storedQPS float64
	for _, c := range comparisons {
		if c.redisCore != "" && e.serverCPU != nil {
			e.pinRedis(c.redisCore)
		}
		all := append([]contender{c.rptr}, c.refs...)
		res := map[string]*measured{}
		for _, k := range all {
			res[k.name] = &measured{noerror: 100}
		}
		for round := range *rounds {
			// A B A B: the order turns each round so neither side always
			// runs first.
			for i := range all {
				k := all[(i+round)%len(all)]
				fmt.Fprintf(os.Stderr, "%s: %s, round %d\n", c.title, k.name, round+1)
				p, err := e.dnsperf(k.srv.Addr, c.file, *duration, 0, false, 0)
				if err != nil {
					return err
				}
				res[k.name].qps = append(res[k.name].qps, p.qps)
				res[k.name].noerror = min(res[k.name].noerror, p.noerror)
			}
		}
		a := median(res[c.rptr.name].qps)
		if c.rptr.name == "rptr" && strings.HasPrefix(c.title, "stored") {
			storedQPS = a
		}
		for i, ref := range c.refs {
			b := median(res[ref.name].qps)
			ratio := a / b
			met := "yes"
			if ratio < c.targets[i] {
				met = "**no**"
			}
			fmt.Fprintf(&out, "| %s | %.0f | %s | %.0f | %.2f | >= %.2f | %s |\n", c.title, a, ref.name, b, ratio, c.targets[i], met)
		}
		if c.redisCore != "" && e.serverCPU != nil {
			e.pinRedis("0")
		}
		for _, k := range all {
			if res[k.name].noerror < 99.9 {
				fmt.Fprintf(&out, "| (warning: %s answered only %.1f%% NOERROR on %s) | | | | | | |\n", k.name, res[k.name].noerror, c.title)
			}
		}
	}

	// Latency at half of rptr's maximum rate on stored records.
	rate := int(storedQPS / 2)
	lat := map[string][]perf{}
	for round := range 2 {
		names := []string{"rptr", "hosts"}
		for i := range names {
			name := names[(i+round)%2]
			fmt.Fprintf(os.Stderr, "latency at %d q/s: %s, round %d\n", rate, name, round+1)
			p, err := e.dnsperf(srv[name].srv.Addr, paths["stored.txt"], *duration, rate, true, 0)
			if err != nil {
				return err
			}
			lat[name] = append(lat[name], p)
		}
	}
	pick := func(name string, f func(perf) time.Duration) time.Duration {
		var v []float64
		for _, p := range lat[name] {
			v = append(v, float64(f(p)))
		}
		return time.Duration(median(v))
	}
	p99 := func(p perf) time.Duration { return p.p99 }
	p50 := func(p perf) time.Duration { return p.p50 }
	ratio := float64(pick("rptr", p99)) / float64(pick("hosts", p99))
	met := "yes"
	if ratio > 2 {
		met = "**no**"
	}
	fmt.Fprintf(&out, "\nLatency on stored PTR records at %d q/s (half of rptr's maximum):\n\n", rate)
	fmt.Fprintln(&out, "| server | p50 | p99 |")
	fmt.Fprintln(&out, "| --- | ---: | ---: |")
	for _, name := range []string{"rptr", "hosts"} {
		fmt.Fprintf(&out, "| %s | %v | %v |\n", name, pick(name, p50).Round(time.Microsecond), pick(name, p99).Round(time.Microsecond))
	}
	fmt.Fprintf(&out, "\np99 ratio rptr/hosts: %.2f (target <= 2): %s\n", ratio, met)
	fmt.Print(out.String())
	return nil
}
