package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/rptr-dns/rptr/ptrcache"
	"github.com/rptr-dns/rptr/ptrstore"
	"github.com/rptr-dns/rptr/reverse"
)

// recordSource hands out a record for every address, as a Redis full of
// records would, without Redis.
type recordSource struct{}

func (recordSource) Lookup(_ context.Context, addr netip.Addr) (ptrstore.Record, error) {
	a := addr.As4()
	return ptrstore.Record{Name: fmt.Sprintf("host-%03d-%03d-%03d.example.com.", a[1], a[2], a[3])}, nil
}

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func memory(e *env) error {
	fmt.Printf("Machine: %s.\n\n", machine())

	// 1. Heap per entry: a cache of 1M entries filled with 1M records of
	// 32-byte names.
	const n = 1_000_000
	before := heapInUse()
	c := ptrcache.New(recordSource{}, ptrcache.Config{Size: n, SafetyTTL: time.Hour})
	c.SetCoherent(true) // as when Redis reports changes
	for i := range n {
		v := uint32(10<<24 + i)
		c.Lookup(ctx, netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}))
	}
	after := heapInUse()
	entries := c.Len()
	fmt.Printf("Cache heap: %d entries of 32-byte names take %.1f MiB, %.0f bytes per entry.\n\n",
		entries, float64(after-before)/(1<<20), float64(after-before)/float64(entries))
	runtime.KeepAlive(c)

	// 2. The bound under a stream of random addresses from a /8, through
	// the server with its default cache size.
	r := rand.New(rand.NewPCG(3, 4))
	var queries []string
	for range 2_000_000 {
		queries = append(queries, reverse.AddrName(randomIn(r, netip.MustParsePrefix("10.0.0.0/8")))+" PTR")
	}
	file, err := e.writeFile("random8.txt", queries)
	if err != nil {
		return err
	}
	s, err := e.start("rptr", fmt.Sprintf(".:{dns} {\n    prometheus 127.0.0.1:{metrics}\n    rptr 10.0.0.0/8 {\n        redis %s\n    }\n}\n", e.redis.URL(0)), "metrics")
	if err != nil {
		return err
	}
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", s.Ports["metrics"])
	fmt.Println("Random addresses of 10.0.0.0/8 (no records: every new address is a miss and a negative entry), default cache size:")
	fmt.Println()
	fmt.Println("| after | queries | cache entries | heap in use | resident |")
	fmt.Println("| ---: | ---: | ---: | ---: | ---: |")
	total := 0.0
	for step := 1; step <= 4; step++ {
		fmt.Fprintf(os.Stderr, "random /8 stream, step %d\n", step)
		p, err := e.dnsperf(s.Addr, file, 15*time.Second, 0, false, 0)
		if err != nil {
			return err
		}
		total += p.qps * 15
		m, err := scrape(metricsAddr)
		if err != nil {
			return err
		}
		fmt.Printf("| %ds | %.0f | %.0f | %.1f MiB | %.1f MiB |\n", step*15, total, m["coredns_rptr_cache_entries"],
			m["go_memstats_heap_inuse_bytes"]/(1<<20), m["process_resident_memory_bytes"]/(1<<20))
	}
	fmt.Printf("\nThe cache holds at most %d entries (rptr's default `cache` size).\n", ptrcache.DefaultSize)
	return nil
}

// scrape reads the metrics of the prometheus plugin at addr, summing the
// series of each name.
func scrape(addr string) (map[string]float64, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				out[name] += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[name] += m.GetGauge().GetValue()
			}
		}
	}
	return out, nil
}
