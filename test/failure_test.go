package test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/rptr-dns/rptr/internal/corednstest"
	"github.com/rptr-dns/rptr/internal/redistest"
)

// metric returns the sum of all series of the metric name scraped from the
// prometheus plugin at addr.
func metric(t *testing.T, addr, name string) float64 {
	t.Helper()
	var sum float64
	for _, m := range scrape(t, addr)[name].GetMetric() {
		sum += sampleValue(m)
	}
	return sum
}

func TestInvalidRecordsAreAbsentLoggedAndCounted(t *testing.T) {
	prefix := prefixFor(t)
	s := corednstest.Start(t, coredns, fmt.Sprintf(`.:{dns} {
    prometheus 127.0.0.1:{metrics}
    rptr 10.9.0.0/16 {
        redis %s
        prefix %s
    }
}
`, rdb.URL(0), prefix), "metrics")
	metrics := fmt.Sprintf("127.0.0.1:%d", s.Ports["metrics"])
	c := rdb.Client(0)
	defer c.Close()
	ctx := context.Background()

	invalid := []struct {
		addr string
		cmd  []any
	}{
		{"10.9.0.1", []any{"SET", prefix + "ptr:10.9.0.1", "not a host name"}},
		{"10.9.0.2", []any{"SET", prefix + "ptr:10.9.0.2", ""}},
		{"10.9.0.3", []any{"SET", prefix + "ptr:10.9.0.3", "bad\xffutf8.example"}},
		{"10.9.0.4", []any{"HSET", prefix + "ptr:10.9.0.4", "ttl", "300"}},
		{"10.9.0.5", []any{"HSET", prefix + "ptr:10.9.0.5", "ptr", "ok.example", "ttl", "soon"}},
		{"10.9.0.6", []any{"HSET", prefix + "ptr:10.9.0.6", "ptr", "ok.example", "disabled", "maybe"}},
		{"10.9.0.7", []any{"RPUSH", prefix + "ptr:10.9.0.7", "ok.example"}},
		{"10.9.0.8", []any{"SADD", prefix + "ptr:10.9.0.8", "ok.example"}},
		{"10.9.0.9", []any{"SET", prefix + "ptr:10.9.0.9", strings.Repeat("a", 64) + ".example"}},
	}
	for _, in := range invalid {
		if err := c.Do(ctx, in.cmd...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	before := metric(t, metrics, "coredns_rptr_invalid_records_total")
	for _, in := range invalid {
		name, _ := dns.ReverseAddr(in.addr)
		r := query(t, s, "udp", name, dns.TypePTR)
		if r.Rcode != dns.RcodeNameError || len(r.Answer) != 0 || len(r.Ns) != 1 {
			t.Errorf("%s: rcode %s, answer %v, authority %v; want NXDOMAIN with SOA", in.addr, dns.RcodeToString[r.Rcode], r.Answer, r.Ns)
		}
	}
	if got := metric(t, metrics, "coredns_rptr_invalid_records_total") - before; got != float64(len(invalid)) {
		t.Errorf("coredns_rptr_invalid_records_total rose by %v, want %d", got, len(invalid))
	}
	out := s.Output()
	for _, in := range invalid {
		if !strings.Contains(out, prefix+"ptr:"+in.addr) {
			t.Errorf("no log line names the key of %s; log:\n%s", in.addr, out)
		}
	}
}

func TestRedisDownIsServfailNeverNXDOMAIN(t *testing.T) {
	s := corednstest.Start(t, coredns, `.:{dns} {
    prometheus 127.0.0.1:{metrics}
    rptr 10.9.0.0/16 {
        redis redis://127.0.0.1:{closed}/0
        fallthrough
    }
    whoami
}
`, "metrics", "closed")
	for _, net := range []string{"udp", "tcp"} {
		start := time.Now()
		r := query(t, s, net, "1.0.9.10.in-addr.arpa.", dns.TypePTR)
		if r.Rcode != dns.RcodeServerFailure {
			t.Errorf("%s: rcode %s, want SERVFAIL", net, dns.RcodeToString[r.Rcode])
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("%s: SERVFAIL took %v", net, took)
		}
	}
	// Names that need no lookup are still answered.
	if r := query(t, s, "udp", "9.10.in-addr.arpa.", dns.TypeSOA); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("apex SOA with Redis down: %v", r)
	}
	if got := metric(t, fmt.Sprintf("127.0.0.1:%d", s.Ports["metrics"]), "coredns_rptr_redis_errors_total"); got < 2 {
		t.Errorf("coredns_rptr_redis_errors_total = %v, want at least 2", got)
	}
}

// readyStatus returns the HTTP status of the ready plugin at addr.
func readyStatus(addr string) int {
	resp, err := http.Get("http://" + addr + "/ready")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitReady polls /ready until it returns want, for up to 5 seconds.
func waitReady(t *testing.T, addr string, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for readyStatus(addr) != want {
		if time.Now().After(deadline) {
			t.Fatalf("/ready did not return %d within 5s (last %d)", want, readyStatus(addr))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startWithReady starts a server of 10.9.0.0/16 from the Redis at url, with
// the ready plugin, and returns it and the ready plugin's address.
func startWithReady(t *testing.T, url string) (*corednstest.Server, string) {
	t.Helper()
	s := corednstest.Start(t, coredns, fmt.Sprintf(`.:{dns} {
    ready 127.0.0.1:{ready} {
        monitor continuously
    }
    rptr 10.9.0.0/16 {
        redis %s
    }
}
`, url), "ready")
	return s, fmt.Sprintf("127.0.0.1:%d", s.Ports["ready"])
}

// TestReadyFollowsRedis: the ready plugin reports rptr ready while Redis
// answers, not ready while it is down, and ready again when it returns,
// with a log line for each change.
func TestReadyFollowsRedis(t *testing.T) {
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	s, ready := startWithReady(t, srv.URL(0))
	waitReady(t, ready, http.StatusOK)
	srv.Kill()
	waitReady(t, ready, http.StatusServiceUnavailable)
	waitLog(t, s, "Redis does not answer")
	if r := query(t, s, "udp", "1.0.9.10.in-addr.arpa.", dns.TypePTR); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("with Redis down: %s, want SERVFAIL", dns.RcodeToString[r.Rcode])
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	waitReady(t, ready, http.StatusOK)
	waitLog(t, s, "Redis answers again")
}

// TestSlowRedisBoundedByTimeout: a Redis that accepts connections but never
// answers holds a query no longer than the configured timeout.
func TestSlowRedisBoundedByTimeout(t *testing.T) {
	addr := redistest.Silent(t)
	s := corednstest.Start(t, coredns, fmt.Sprintf(`.:{dns} {
    rptr 10.9.0.0/16 {
        redis redis://%s/0
        timeout 200ms
    }
}
`, addr))
	start := time.Now()
	r := query(t, s, "udp", "1.0.9.10.in-addr.arpa.", dns.TypePTR)
	if took := time.Since(start); r.Rcode != dns.RcodeServerFailure || took > time.Second {
		t.Errorf("silent Redis: %s after %v; want SERVFAIL after about 200ms", dns.RcodeToString[r.Rcode], took)
	}
}
