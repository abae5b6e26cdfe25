package test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/rptr-dns/rptr/internal/corednstest"
	"github.com/rptr-dns/rptr/internal/redistest"
)

// startRedis starts a redis-server of the test's own, for tests that stop,
// pause or restart it.
func startRedis(t *testing.T) *redistest.Server {
	t.Helper()
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

// timed sends one PTR question and returns the answer's target (or its
// rcode) and how long it took.
func timed(t *testing.T, s *corednstest.Server, name string) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	got := ptrOf(t, s, name)
	return got, time.Since(start)
}

// TestRedisDownAtStartup: CoreDNS starts with Redis down, is not ready,
// answers SERVFAIL (never NXDOMAIN) with a log line naming the key, and
// serves records once Redis is back, without a restart.
func TestRedisDownAtStartup(t *testing.T) {
	srv := startRedis(t)
	srv.Kill()
	s, ready := startWithReady(t, srv.URL(0))
	waitReady(t, ready, http.StatusServiceUnavailable)
	if got := ptrOf(t, s, "1.0.9.10.in-addr.arpa."); got != "SERVFAIL" {
		t.Errorf("Redis down at startup: %s, want SERVFAIL", got)
	}
	waitLog(t, s, "cannot read rptr:ptr:10.9.0.1 from Redis at "+srv.Addr+", query answered SERVFAIL: ")

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	c := srv.Client(0)
	defer c.Close()
	if err := c.Set(context.Background(), "rptr:ptr:10.9.0.1", "late.example.net", 0).Err(); err != nil {
		t.Fatal(err)
	}
	waitReady(t, ready, http.StatusOK)
	eventually(t, s, "1.0.9.10.in-addr.arpa.", "late.example.net.", "Redis came up")
}

// TestOnErrorFallthrough: with on_error fallthrough, a query that Redis
// cannot answer goes to the next plugin, and one that needs no Redis does
// not.
func TestOnErrorFallthrough(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db.10.9")
	zone := `$ORIGIN 9.10.in-addr.arpa.
@ 60 IN SOA ns.example. hostmaster.example. 1 7200 3600 1209600 300
@ 60 IN NS ns.example.
1.0 60 IN PTR from-next-plugin.example.
`
	if err := os.WriteFile(db, []byte(zone), 0o644); err != nil {
		t.Fatal(err)
	}
	s := corednstest.Start(t, coredns, fmt.Sprintf(`.:{dns} {
    rptr 10.9.0.0/16 {
        redis redis://127.0.0.1:{closed}/0
        on_error fallthrough
    }
    file %s 9.10.in-addr.arpa.
}
`, db), "closed")
	if got := ptrOf(t, s, "1.0.9.10.in-addr.arpa."); got != "from-next-plugin.example." {
		t.Errorf("Redis down with on_error fallthrough: %s, want the next plugin's answer", got)
	}
	waitLog(t, s, "cannot read rptr:ptr:10.9.0.1 from Redis at 127.0.0.1:"+strconv.Itoa(s.Ports["closed"])+", query passed to the next plugin: ")
	if r := query(t, s, "udp", "9.10.in-addr.arpa.", dns.TypeSOA); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || !r.Authoritative {
		t.Errorf("apex SOA with Redis down: %v, want rptr's own answer", r)
	}
}

// TestStaleWindow: with stale on, what the cache held when Redis went away
// is served (positive and negative) for the window and no longer; misses
// get SERVFAIL within the timeout; a paused Redis delays a stale answer by
// at most the timeout; a Redis back up empty serves no deleted record.
func TestStaleWindow(t *testing.T) {
	srv := startRedis(t)
	const window = 4 * time.Second
	s := corednstest.Start(t, coredns, fmt.Sprintf(`.:{dns} {
    rptr 10.9.0.0/16 {
        redis %s
        timeout 200ms
        stale %v
    }
}
`, srv.URL(0), window))
	c := srv.Client(0)
	defer c.Close()
	ctx := context.Background()
	const (
		stored = "1.0.9.10.in-addr.arpa."
		absent = "2.0.9.10.in-addr.arpa."
		never  = "3.0.9.10.in-addr.arpa."
	)
	waitLog(t, s, "cache on")

	// A pause: the first query waits for the timeout, then gets the stale
	// answer; while Redis stays paused, the answers come at once.
	c.Set(ctx, "rptr:ptr:10.9.0.1", "before.example.net", 0)
	eventually(t, s, stored, "before.example.net.", "SET")
	srv.Pause()
	waitLog(t, s, "cache paused")
	for i := range 3 {
		got, took := timed(t, s, stored)
		if got != "before.example.net." || took > 500*time.Millisecond {
			t.Errorf("paused Redis, query %d: %s after %v; want the stale answer within the timeout", i, got, took)
		}
	}
	if got, took := timed(t, s, never); got != "SERVFAIL" || took > 500*time.Millisecond {
		t.Errorf("paused Redis, a miss: %s after %v; want SERVFAIL within the timeout", got, took)
	}
	srv.Resume()
	// Back: tracking listens again, and changes show.
	waitLogCount(t, s, "cache on", 2)
	c.Set(ctx, "rptr:ptr:10.9.0.1", "after.example.net", 0)
	eventually(t, s, stored, "after.example.net.", "Redis resumed and the record changed")

	// Down: the cached record and the cached absence are served, for the
	// window only.
	if got := ptrOf(t, s, absent); got != "NXDOMAIN" {
		t.Fatalf("absent record: %s", got)
	}
	srv.Kill()
	down := time.Now()
	waitLog(t, s, "Redis does not answer")
	if got := ptrOf(t, s, stored); got != "after.example.net." {
		t.Errorf("Redis down, within the window: %s, want the cached record", got)
	}
	if got := ptrOf(t, s, absent); got != "NXDOMAIN" {
		t.Errorf("Redis down, within the window, cached absence: %s, want NXDOMAIN", got)
	}
	if got := ptrOf(t, s, never); got != "SERVFAIL" {
		t.Errorf("Redis down, never cached: %s, want SERVFAIL", got)
	}
	time.Sleep(time.Until(down.Add(window + 500*time.Millisecond)))
	for _, name := range []string{stored, absent} {
		if got := ptrOf(t, s, name); got != "SERVFAIL" {
			t.Errorf("Redis down, after the window: %s answers %s, want SERVFAIL", name, got)
		}
	}

	// Back up empty: the record is gone, and not served from before.
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	eventually(t, s, stored, "NXDOMAIN", "Redis restarted empty")
	waitLog(t, s, "Redis answers again")
}

// TestStaleEndsWhenRedisReturns: a Redis restarted empty within the stale
// window stops what the cache held from being served: the new tracking
// connection flushes it.
func TestStaleEndsWhenRedisReturns(t *testing.T) {
	srv := startRedis(t)
	s := corednstest.Start(t, coredns, fmt.Sprintf(`.:{dns} {
    rptr 10.9.0.0/16 {
        redis %s
        stale 1h
    }
}
`, srv.URL(0)))
	c := srv.Client(0)
	defer c.Close()
	waitLog(t, s, "cache on")
	c.Set(context.Background(), "rptr:ptr:10.9.0.1", "old.example.net", 0)
	eventually(t, s, "1.0.9.10.in-addr.arpa.", "old.example.net.", "SET")
	srv.Kill()
	waitLog(t, s, "cache paused")
	if got := ptrOf(t, s, "1.0.9.10.in-addr.arpa."); got != "old.example.net." {
		t.Fatalf("Redis down: %s, want the stale record", got)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	eventually(t, s, "1.0.9.10.in-addr.arpa.", "NXDOMAIN", "Redis restarted empty")
}

// TestOutageUnderLoadStaysBounded: queries for addresses the cache does not
// hold keep coming while Redis is paused. Each waits at most the timeout,
// so goroutines stay bounded by the query rate times the timeout; when
// Redis returns, goroutines and Redis connections fall back and answers
// come again.
func TestOutageUnderLoadStaysBounded(t *testing.T) {
	srv := startRedis(t)
	const timeout = 200 * time.Millisecond
	s := corednstest.Start(t, coredns, fmt.Sprintf(`.:{dns} {
    prometheus 127.0.0.1:{metrics}
    rptr 10.0.0.0/8 {
        redis %s
        timeout %v
    }
}
`, srv.URL(0), timeout), "metrics")
	metrics := fmt.Sprintf("127.0.0.1:%d", s.Ports["metrics"])
	waitLog(t, s, "cache on")
	baseline := metric(t, metrics, "go_goroutines")
	heapBaseline := metric(t, metrics, "go_memstats_heap_inuse_bytes")

	srv.Pause()
	const rate = 2000 // queries per second
	var (
		sent, servfail atomic.Int64
		wg             sync.WaitGroup
	)
	stop := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			load(s.Addr, rate/4, uint64(w), stop, &sent, &servfail)
		}()
	}
	peak, heapPeak := 0.0, 0.0
	for range 10 {
		time.Sleep(500 * time.Millisecond)
		peak = max(peak, metric(t, metrics, "go_goroutines"))
		heapPeak = max(heapPeak, metric(t, metrics, "go_memstats_heap_inuse_bytes"))
	}
	close(stop)
	wg.Wait()
	// Each query holds a goroutine for at most the timeout (and a few more
	// for the batch it waits in); twice that, and some slack, is the bound.
	if bound := baseline + 2*rate*timeout.Seconds() + 200; peak > bound {
		t.Errorf("goroutines peaked at %v under load with Redis paused (baseline %v), want at most %v", peak, baseline, bound)
	}
	// A waiting query holds a goroutine's stack and its request: a few
	// kilobytes, so a few megabytes in all.
	if heapPeak > heapBaseline+64<<20 {
		t.Errorf("heap peaked at %.0f MiB under load with Redis paused (baseline %.0f MiB)", heapPeak/(1<<20), heapBaseline/(1<<20))
	}
	if servfail.Load() < sent.Load()/2 {
		t.Errorf("%d of %d queries got SERVFAIL while Redis was paused, want most", servfail.Load(), sent.Load())
	}

	srv.Resume()
	deadline := time.Now().Add(10 * time.Second)
	for metric(t, metrics, "go_goroutines") > baseline+20 {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines stay at %v after the outage, baseline %v", metric(t, metrics, "go_goroutines"), baseline)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c := srv.Client(0)
	defer c.Close()
	c.Set(context.Background(), "rptr:ptr:10.1.2.3", "back.example.net", 0)
	eventually(t, s, "3.2.1.10.in-addr.arpa.", "back.example.net.", "Redis resumed")
	info, err := c.Info(context.Background(), "clients").Result()
	if err != nil {
		t.Fatal(err)
	}
	// rptr's lookups, readiness ping and tracking use a handful; go-redis's
	// pool holds at most 10 per CPU.
	if n := infoField(info, "connected_clients"); n > 30 {
		t.Errorf("%d clients connected to Redis after the outage, want a handful", n)
	}
}

// load sends PTR queries for random addresses in 10.0.0.0/8 over UDP at
// about perSecond until stop closes, counting what it sent and the SERVFAIL
// answers it got.
func load(addr string, perSecond int, seed uint64, stop chan struct{}, sent, servfail *atomic.Int64) {
	r := rand.New(rand.NewPCG(seed, 7))
	c := &dns.Client{Net: "udp", Timeout: time.Second}
	t := time.NewTicker(time.Second / time.Duration(perSecond))
	defer t.Stop()
	var inflight sync.WaitGroup
	defer inflight.Wait()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		m := new(dns.Msg)
		m.SetQuestion(fmt.Sprintf("%d.%d.%d.10.in-addr.arpa.", r.IntN(256), r.IntN(256), r.IntN(256)), dns.TypePTR)
		sent.Add(1)
		inflight.Add(1)
		go func() {
			defer inflight.Done()
			if resp, _, err := c.Exchange(m, addr); err == nil && resp.Rcode == dns.RcodeServerFailure {
				servfail.Add(1)
			}
		}()
	}
}

// infoField returns an integer field of an INFO reply, or -1.
func infoField(info, name string) int {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			n, err := strconv.Atoi(v)
			if err == nil {
				return n
			}
		}
	}
	return -1
}

// TestUserWithoutReadRights: an ACL user that may connect but not read the
// records gets SERVFAIL, never NXDOMAIN, and a log line that says why.
func TestUserWithoutReadRights(t *testing.T) {
	srv := startRedis(t)
	c := srv.Client(0)
	defer c.Close()
	ctx := context.Background()
	if err := c.Do(ctx, "ACL", "SETUSER", "noread", "on", ">pw", "~*", "+ping", "+client|id", "+client|tracking", "+client|info", "+subscribe").Err(); err != nil {
		t.Fatal(err)
	}
	c.Set(ctx, "rptr:ptr:10.9.0.1", "hidden.example.net", 0)
	url := strings.Replace(srv.URL(0), "redis://", "redis://noread:pw@", 1)
	s := corednstest.Start(t, coredns, fmt.Sprintf(`.:{dns} {
    rptr 10.9.0.0/16 {
        redis %s
    }
}
`, url))
	for _, name := range []string{"1.0.9.10.in-addr.arpa.", "2.0.9.10.in-addr.arpa."} {
		if got := ptrOf(t, s, name); got != "SERVFAIL" {
			t.Errorf("user without read rights: %s answers %s, want SERVFAIL", name, got)
		}
	}
	waitLog(t, s, "cannot read rptr:ptr:10.9.0.1 from Redis at "+srv.Addr+", query answered SERVFAIL: NOPERM")
}
