package rptr

import (
	"sync"

	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/rptr-dns/rptr/ptrcache"
)

// Values of the result label of requestCount.
const (
	resultStored      = "stored"
	resultSynthesized = "synthesized"
	resultApex        = "apex"
	resultNXDomain    = "nxdomain"
	resultNoData      = "nodata"
	resultFallthrough = "fallthrough"
	resultError       = "error"
	resultRejected    = "rejected"
)

var (
	// requestCount counts the queries rptr handled, by how they ended.
	requestCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: "rptr",
		Name:      "requests_total",
		Help:      "Queries handled by rptr, by result: stored, synthesized, apex, nxdomain, nodata, fallthrough, error, rejected.",
	}, []string{"server", "zone", "result"})

	// invalidRecords counts lookups that found a value that is not a valid record.
	invalidRecords = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: "rptr",
		Name:      "invalid_records_total",
		Help:      "Lookups that found a Redis value that is not a valid record and served it as absent.",
	}, []string{"server"})

	// redisErrors counts lookups that Redis could not answer.
	redisErrors = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: "rptr",
		Name:      "redis_errors_total",
		Help:      "Lookups that failed because Redis did not answer in time or returned an error.",
	}, []string{"server"})

	// redisDuration observes the round trip of each Redis lookup.
	redisDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: plugin.Namespace,
		Subsystem: "rptr",
		Name:      "redis_duration_seconds",
		Help:      "Round-trip time of Redis lookups.",
		Buckets:   prometheus.ExponentialBuckets(0.00005, 2, 16), // 50µs to about 1.6s
	}, []string{"server"})
)

// cacheCounter makes one of the cache's counters.
func cacheCounter(name, help string) prometheus.Counter {
	return promauto.NewCounter(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: "rptr",
		Name:      "cache_" + name + "_total",
		Help:      help,
	})
}

// cacheMetrics are the counters of every rptr lookup cache in the process.
var cacheMetrics = ptrcache.Metrics{
	Hits:          cacheCounter("hits", "Lookups answered from rptr's cache."),
	Misses:        cacheCounter("misses", "Lookups rptr's cache did not hold, read from Redis."),
	Evictions:     cacheCounter("evictions", "Cache entries dropped to make room."),
	Invalidations: cacheCounter("invalidations", "Cache entries dropped because Redis reported a change to their key."),
	Flushes:       cacheCounter("flushes", "Times the whole cache was dropped: FLUSHDB or FLUSHALL, or a new tracking connection."),
	Stale:         cacheCounter("stale", "Lookups answered from the cache while Redis could not be read, within the stale window."),
}

// liveCaches are the caches of the running rptr instances; a reload
// replaces them.
var liveCaches = &cacheSet{caches: map[*ptrcache.Cache]bool{}}

type cacheSet struct {
	mu     sync.Mutex
	caches map[*ptrcache.Cache]bool
}

func (s *cacheSet) add(c *ptrcache.Cache) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.caches[c] = true
}

func (s *cacheSet) remove(c *ptrcache.Cache) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.caches, c)
}

func (s *cacheSet) entries() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.caches {
		n += c.Len()
	}
	return float64(n)
}

// cacheEntries is computed when scraped, so that the hot path does not
// keep a count.
var _ = promauto.NewGaugeFunc(prometheus.GaugeOpts{
	Namespace: plugin.Namespace,
	Subsystem: "rptr",
	Name:      "cache_entries",
	Help:      "Entries in rptr's lookup caches.",
}, liveCaches.entries)
