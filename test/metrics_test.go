package test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/redis/go-redis/v9"

	"github.com/rptr-dns/rptr/internal/corednstest"
	"github.com/rptr-dns/rptr/internal/redistest"
)

// metricsPrefix begins the names of rptr's metrics.
const metricsPrefix = "coredns_rptr_"

// TestMetrics makes every metric of the README's Metrics section move,
// checks that each moved by what the test did, with the labels the README
// gives, and that the server exposes no rptr metric the README leaves out.
// A new metric needs a line in the README and a row in metricRows.
func TestMetrics(t *testing.T) {
	documented, section := documentedMetrics(t)
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	// The third server block's Redis goes down in the stale row.
	staleSrv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer staleSrv.Stop()
	// The second server block's Redis is down ({closed} is a port nothing
	// listens on); without a cache it has no tracking connection, whose
	// retries would count cache flushes.
	s := corednstest.Start(t, coredns, fmt.Sprintf(`.:{dns} {
    prometheus 127.0.0.1:{metrics}
    rptr 10.7.0.0/16 {
        redis %s
        cache 1
        synthesize ip-{ip}.synth.example. 10.7.200.0/24
        fallthrough 100.7.10.in-addr.arpa.
    }
    whoami
}
.:{down} {
    rptr 10.8.0.0/16 {
        redis redis://127.0.0.1:{closed}/0
        cache 0
    }
}
.:{stale} {
    rptr 10.6.0.0/16 {
        redis %s
        stale 1h
    }
}
`, srv.URL(0), staleSrv.URL(0)), "metrics", "down", "closed", "stale")
	// Both servers with a cache listen to their Redis.
	waitLogCount(t, s, "reports changes to rptr:ptr:* keys", 2)
	c := srv.Client(0)
	defer c.Close()
	_, port, _ := strings.Cut(s.Addr, ":")
	e := &metricsEnv{
		t:          t,
		s:          s,
		redis:      c,
		staleRedis: staleSrv,
		stale:      fmt.Sprintf("127.0.0.1:%d", s.Ports["stale"]),
		metrics:    fmt.Sprintf("127.0.0.1:%d", s.Ports["metrics"]),
		down:       fmt.Sprintf("127.0.0.1:%d", s.Ports["down"]),
		server:     "dns://:" + port,
		downServer: fmt.Sprintf("dns://:%d", s.Ports["down"]),
		next:       netip.MustParseAddr("10.7.10.0"),
	}
	e.setUp()

	covered := map[string]bool{}
	for _, row := range metricRows(e) {
		covered[row.name] = true
		before, _ := e.value(row.name, row.labels) // a series not yet made is 0
		want := row.do(e)
		// Changes reported by Redis arrive a moment later.
		deadline := time.Now().Add(3 * time.Second)
		got, ok := e.value(row.name, row.labels)
		for (!ok || got-before < want) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
			got, ok = e.value(row.name, row.labels)
		}
		switch series := seriesName(row.name, row.labels); {
		case !ok:
			t.Errorf("%s: %s is not exposed; the series of %s:\n%s", row.what, series, row.name, seriesOf(scrape(t, e.metrics), row.name))
		case got-before != want:
			t.Errorf("%s: %s went from %v to %v, want a change of %v", row.what, series, before, got, want)
		}
	}

	families := scrape(t, e.metrics)
	for name, labels := range documented {
		if !covered[name] {
			t.Errorf("README documents %s, but no row of metricRows exercises it", name)
		}
		f, ok := families[name]
		if !ok {
			t.Errorf("README documents %s, but the server does not expose it", name)
			continue
		}
		for _, m := range f.GetMetric() {
			if got := labelNames(m); !slices.Equal(got, labels) {
				t.Errorf("%s has a series with labels %v, README documents %v", name, got, labels)
				break
			}
		}
	}
	for name := range families {
		if _, ok := documented[name]; strings.HasPrefix(name, metricsPrefix) && !ok {
			t.Errorf("the server exposes %s, which the README's Metrics section does not document", name)
		}
	}
	for _, m := range families["coredns_rptr_requests_total"].GetMetric() {
		if r := labelValue(m, "result"); !strings.Contains(section, "`"+r+"`") {
			t.Errorf("coredns_rptr_requests_total has result %q, which the README's Metrics section does not document", r)
		}
	}
}

// metricRow is one series of rptr's metrics and a way to make it move: do
// exercises it and returns by how much the series must change.
type metricRow struct {
	what   string
	name   string
	labels map[string]string // nil for a metric without labels
	do     func(e *metricsEnv) float64
}

// metricRows are the series TestMetrics checks, in the order it runs them.
// Each row runs alone, so that the change it sees is its own; flushes and
// entries come last but one, because FLUSHDB drops the records the others
// read, and stale last, because its cache keeps an entry.
func metricRows(e *metricsEnv) []metricRow {
	const zone, synthZone, downZone = "7.10.in-addr.arpa.", "synth.example.", "8.10.in-addr.arpa."
	requests := func(server, zone, result string) map[string]string {
		return map[string]string{"server": server, "zone": zone, "result": result}
	}
	server := map[string]string{"server": e.server}
	downServer := map[string]string{"server": e.downServer}
	freshNXDOMAINs := func(n int) func(e *metricsEnv) float64 {
		return func(e *metricsEnv) float64 {
			for range n {
				e.askPTR(e.fresh(), dns.RcodeNameError)
			}
			return float64(n)
		}
	}
	askDown := func(e *metricsEnv) float64 {
		for _, name := range []string{"1.0.8.10.in-addr.arpa.", "2.0.8.10.in-addr.arpa."} {
			e.ask(e.down, name, dns.TypePTR, dns.RcodeServerFailure)
		}
		return 2
	}
	return []metricRow{
		{"stored", "coredns_rptr_requests_total", requests(e.server, zone, "stored"), func(e *metricsEnv) float64 {
			for _, a := range metricsStored {
				e.askPTR(netip.MustParseAddr(a), dns.RcodeSuccess)
			}
			return float64(len(metricsStored))
		}},
		{"synthesized PTR", "coredns_rptr_requests_total", requests(e.server, zone, "synthesized"), func(e *metricsEnv) float64 {
			e.askPTR(netip.MustParseAddr("10.7.200.1"), dns.RcodeSuccess)
			e.askPTR(netip.MustParseAddr("10.7.200.2"), dns.RcodeSuccess)
			return 2
		}},
		{"synthesized A", "coredns_rptr_requests_total", requests(e.server, synthZone, "synthesized"), func(e *metricsEnv) float64 {
			e.ask(e.s.Addr, "ip-10-7-200-1.synth.example.", dns.TypeA, dns.RcodeSuccess)
			return 1
		}},
		{"apex", "coredns_rptr_requests_total", requests(e.server, zone, "apex"), func(e *metricsEnv) float64 {
			e.ask(e.s.Addr, zone, dns.TypeSOA, dns.RcodeSuccess)
			e.ask(e.s.Addr, zone, dns.TypeNS, dns.RcodeSuccess)
			return 2
		}},
		{"nxdomain", "coredns_rptr_requests_total", requests(e.server, zone, "nxdomain"), func(e *metricsEnv) float64 {
			e.askPTR(e.fresh(), dns.RcodeNameError)
			e.ask(e.s.Addr, "x.1.7.10.in-addr.arpa.", dns.TypePTR, dns.RcodeNameError)
			return 2
		}},
		{"nodata", "coredns_rptr_requests_total", requests(e.server, zone, "nodata"), func(e *metricsEnv) float64 {
			e.ask(e.s.Addr, "1.1.7.10.in-addr.arpa.", dns.TypeA, dns.RcodeSuccess) // a stored record's name
			e.ask(e.s.Addr, "1.7.10.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess) // an empty non-terminal
			return 2
		}},
		{"fallthrough", "coredns_rptr_requests_total", requests(e.server, zone, "fallthrough"), func(e *metricsEnv) float64 {
			e.askPTR(netip.MustParseAddr("10.7.100.1"), dns.RcodeSuccess) // answered by whoami
			return 1
		}},
		{"error", "coredns_rptr_requests_total", requests(e.downServer, downZone, "error"), askDown},
		{"Redis errors", "coredns_rptr_redis_errors_total", downServer, askDown},
		{"invalid records", "coredns_rptr_invalid_records_total", server, func(e *metricsEnv) float64 {
			// The second lookup is a cache hit, and counts too.
			e.askPTR(netip.MustParseAddr(metricsInvalid), dns.RcodeNameError)
			e.askPTR(netip.MustParseAddr(metricsInvalid), dns.RcodeNameError)
			return 2
		}},
		{"Redis round trips", "coredns_rptr_redis_duration_seconds", server, freshNXDOMAINs(3)},
		{"cache misses", "coredns_rptr_cache_misses_total", nil, freshNXDOMAINs(3)},
		{"cache hits", "coredns_rptr_cache_hits_total", nil, func(e *metricsEnv) float64 {
			a := e.fresh()
			for range 4 { // a miss, then hits
				e.askPTR(a, dns.RcodeNameError)
			}
			return 3
		}},
		{"invalidations", "coredns_rptr_cache_invalidations_total", nil, func(e *metricsEnv) float64 {
			a := e.fresh()
			e.askPTR(a, dns.RcodeNameError)
			e.do("SET", "rptr:ptr:"+a.String(), "new.example.com")
			e.do("DEL", "rptr:ptr:"+a.String())
			return 2
		}},
		{"evictions", "coredns_rptr_cache_evictions_total", nil, func(e *metricsEnv) float64 {
			// "cache 1" holds at most 1024 entries (256 shards of 4): each
			// new entry takes a free place in its shard or evicts one.
			const n = 1500
			before := e.mustValue("coredns_rptr_cache_entries", nil)
			freshNXDOMAINs(n)(e)
			return n - (e.mustValue("coredns_rptr_cache_entries", nil) - before)
		}},
		{"rejected", "coredns_rptr_requests_total", requests(e.server, zone, "rejected"), func(e *metricsEnv) float64 {
			e.ask(e.s.Addr, zone, dns.TypeAXFR, dns.RcodeRefused)
			m := new(dns.Msg)
			m.SetNotify(zone)
			if r, err := dns.Exchange(m, e.s.Addr); err != nil || r.Rcode != dns.RcodeNotImplemented {
				e.t.Fatalf("NOTIFY: %v, %v; want NOTIMP", r, err)
			}
			return 2
		}},
		{"flushes", "coredns_rptr_cache_flushes_total", nil, func(e *metricsEnv) float64 {
			e.do("FLUSHDB")
			return 1
		}},
		{"entries", "coredns_rptr_cache_entries", nil, func(e *metricsEnv) float64 {
			if n := e.mustValue("coredns_rptr_cache_entries", nil); n != 0 {
				e.t.Errorf("%v cache entries after FLUSHDB, want 0", n)
			}
			return freshNXDOMAINs(3)(e)
		}},
		{"stale", "coredns_rptr_cache_stale_total", nil, func(e *metricsEnv) float64 {
			c := e.staleRedis.Client(0)
			defer c.Close()
			invalidationsBefore := e.mustValue("coredns_rptr_cache_invalidations_total", nil)
			if err := c.Set(context.Background(), "rptr:ptr:10.6.0.1", "kept.example.com", 0).Err(); err != nil {
				e.t.Fatal(err)
			}
			// Cached once the write's invalidation is in, then Redis goes.
			// (Invalidations are counted for all caches of the process.)
			deadline := time.Now().Add(3 * time.Second)
			for e.mustValue("coredns_rptr_cache_invalidations_total", nil) < invalidationsBefore+1 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			e.ask(e.stale, "1.0.6.10.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess)
			e.staleRedis.Kill()
			waitLog(e.t, e.s, "cache paused")
			for range 2 {
				e.ask(e.stale, "1.0.6.10.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess)
			}
			return 2
		}},
	}
}

// The records TestMetrics stores before its rows run.
var (
	metricsStored  = []string{"10.7.1.1", "10.7.1.2", "10.7.1.3"}
	metricsInvalid = "10.7.2.1"
)

// metricsEnv is what TestMetrics runs against: a server with rptr on
// 10.7.0.0/16 (and synthesized names in synth.example.) with a Redis of its
// own, and in the same process a server block on another port whose Redis
// is down.
type metricsEnv struct {
	t       *testing.T
	s       *corednstest.Server
	redis   *redis.Client
	metrics string // address of /metrics
	down    string // address of the server whose Redis is down
	stale   string // address of the server with a stale window
	// staleRedis is the stale server's Redis, which its row stops.
	staleRedis *redistest.Server
	// The server labels of the two.
	server, downServer string
	next               netip.Addr // see fresh
}

// setUp stores the records and waits until Redis has reported each write,
// so that no report lands in a row.
func (e *metricsEnv) setUp() {
	e.t.Helper()
	before := e.mustValue("coredns_rptr_cache_invalidations_total", nil)
	for _, a := range metricsStored {
		e.do("SET", "rptr:ptr:"+a, "host-"+strings.ReplaceAll(a, ".", "-")+".example.com")
	}
	e.do("SET", "rptr:ptr:"+metricsInvalid, "not a host name")
	writes := float64(len(metricsStored) + 1)
	deadline := time.Now().Add(3 * time.Second)
	for e.mustValue("coredns_rptr_cache_invalidations_total", nil)-before < writes {
		if time.Now().After(deadline) {
			e.t.Fatalf("Redis did not report %v writes within 3s", writes)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fresh returns an address no query asked for before, in 10.7.10.0 and up:
// outside the stored, synthesized and fallthrough ones.
func (e *metricsEnv) fresh() netip.Addr {
	a := e.next
	e.next = a.Next()
	return a
}

// ask sends a question to the server at addr and fails the test when the
// answer has another rcode.
func (e *metricsEnv) ask(addr, name string, qtype uint16, rcode int) {
	e.t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	c := &dns.Client{Timeout: 3 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		e.t.Fatalf("%s %s: %v", name, dns.TypeToString[qtype], err)
	}
	if r.Rcode != rcode {
		e.t.Fatalf("%s %s: %s, want %s", name, dns.TypeToString[qtype], dns.RcodeToString[r.Rcode], dns.RcodeToString[rcode])
	}
}

// askPTR asks the first server for the PTR of a.
func (e *metricsEnv) askPTR(a netip.Addr, rcode int) {
	e.t.Helper()
	name, err := dns.ReverseAddr(a.String())
	if err != nil {
		e.t.Fatal(err)
	}
	e.ask(e.s.Addr, name, dns.TypePTR, rcode)
}

// do runs a Redis command.
func (e *metricsEnv) do(cmd ...any) {
	e.t.Helper()
	if err := e.redis.Do(context.Background(), cmd...).Err(); err != nil {
		e.t.Fatal(err)
	}
}

// value returns the value of the series name{labels}, and whether the
// server exposes it.
func (e *metricsEnv) value(name string, labels map[string]string) (float64, bool) {
	e.t.Helper()
	return seriesValue(scrape(e.t, e.metrics), name, labels)
}

// mustValue is value for a series that must be exposed.
func (e *metricsEnv) mustValue(name string, labels map[string]string) float64 {
	e.t.Helper()
	v, ok := e.value(name, labels)
	if !ok {
		e.t.Fatalf("%s%v is not exposed", name, labels)
	}
	return v
}

// documentedMetrics returns the metrics the README's Metrics section names,
// each with its label names, sorted (none when the README gives none), and
// the section's text.
func documentedMetrics(t *testing.T) (map[string][]string, string) {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Metrics\n")
	if !ok {
		t.Fatal("README.md has no Metrics section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	documented := map[string][]string{}
	for _, m := range regexp.MustCompile("`("+metricsPrefix+`\w+)(?:\{([^}]*)\})?`+"`").FindAllStringSubmatch(section, -1) {
		labels := []string{}
		for l := range strings.SplitSeq(m[2], ",") {
			if l = strings.TrimSpace(l); l != "" {
				labels = append(labels, l)
			}
		}
		sort.Strings(labels)
		documented[m[1]] = labels
	}
	if len(documented) == 0 {
		t.Fatal("the README's Metrics section names no metric")
	}
	return documented, section
}

// scrape returns the metric families the prometheus plugin at addr exposes.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// seriesValue returns the value of the series name{labels} of families (a
// counter's or a gauge's value, a histogram's sample count), and whether it
// is there. The series must have exactly those labels.
func seriesValue(families map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	for _, m := range families[name].GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		match := true
		for _, l := range m.GetLabel() {
			if v, ok := labels[l.GetName()]; !ok || v != l.GetValue() {
				match = false
			}
		}
		if match {
			return sampleValue(m), true
		}
	}
	return 0, false
}

// sampleValue returns a counter's or a gauge's value, or a histogram's
// sample count.
func sampleValue(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetHistogram() != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return 0
}

// seriesName writes a series as Prometheus does: name{label="value",...}.
func seriesName(name string, labels map[string]string) string {
	if len(labels) == 0 {
		return name
	}
	var pairs []string
	for k, v := range labels {
		pairs = append(pairs, fmt.Sprintf("%s=%q", k, v))
	}
	sort.Strings(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

// seriesOf lists the series of name in families, for error messages.
func seriesOf(families map[string]*dto.MetricFamily, name string) string {
	var b strings.Builder
	for _, m := range families[name].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		fmt.Fprintf(&b, "  %s\n", seriesName(name, labels))
	}
	return b.String()
}

// labelNames returns the sorted label names of a series.
func labelNames(m *dto.Metric) []string {
	names := []string{}
	for _, l := range m.GetLabel() {
		names = append(names, l.GetName())
	}
	sort.Strings(names)
	return names
}

// labelValue returns the value of a series' label.
func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
