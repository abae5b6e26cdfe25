package rptr

import (
	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
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
)

var (
	// requestCount counts the queries rptr handled, by how they ended.
	requestCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: "rptr",
		Name:      "requests_total",
		Help:      "Queries handled by rptr, by result: stored, synthesized, apex, nxdomain, nodata, fallthrough, error.",
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
