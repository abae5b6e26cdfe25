package ptrstore

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rptr-dns/rptr/internal/redistest"
)

// recorder is an Invalidator that records what it is told.
type recorder struct {
	mu          sync.Mutex
	invalidated []netip.Addr
	flushes     int
	up          bool
	ups         int // times a tracking connection started listening
}

func (r *recorder) Invalidate(a netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.invalidated = append(r.invalidated, a)
}

func (r *recorder) Flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flushes++
}

func (r *recorder) setUp(up bool, _ error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.up = up
	if up {
		r.ups++
	}
}

func (r *recorder) listenings() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ups
}

func (r *recorder) state() ([]netip.Addr, int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]netip.Addr(nil), r.invalidated...), r.flushes, r.up
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTrack(t *testing.T) {
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	opts, err := ParseRedis(ModeServer, srv.URL(0))
	if err != nil {
		t.Fatal(err)
	}
	s := Open(Config{Redis: opts, Prefix: "trk:"})
	defer s.Close()
	c := srv.Client(0)
	defer c.Close()

	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Track(ctx, rec, rec.setUp); close(done) }()
	defer func() { cancel(); <-done }()

	waitFor(t, "the tracking connection", func() bool { _, f, up := rec.state(); return up && f >= 1 })
	a := netip.MustParseAddr("192.0.2.10")
	invalidatedAt := func(n int) func() bool {
		return func() bool { inv, _, _ := rec.state(); return len(inv) >= n && inv[n-1] == a }
	}

	ctxb := context.Background()
	// Writes by another client to a tracked key, and to keys outside the prefix.
	c.Set(ctxb, "other:ptr:192.0.2.10", "x", 0)
	c.Set(ctxb, "trk:ptr:192.0.2.10", "one.example", 0)
	waitFor(t, "the invalidation of a SET", invalidatedAt(1))
	c.HSet(ctxb, "trk:ptr:192.0.2.10x", "ptr", "x") // not canonical: never reported
	c.Del(ctxb, "trk:ptr:192.0.2.10")
	waitFor(t, "the invalidation of a DEL", invalidatedAt(2))
	c.Set(ctxb, "trk:ptr:192.0.2.10", "two.example", 50*time.Millisecond)
	waitFor(t, "the invalidation of a SET EX", invalidatedAt(3))
	waitFor(t, "the invalidation of the expiry", invalidatedAt(4))
	if inv, _, _ := rec.state(); len(inv) != 4 {
		t.Errorf("invalidations %v, want 4 of %s", inv, a)
	}

	// FLUSHDB sends a null invalidation: flush.
	_, flushes, _ := rec.state()
	c.FlushDB(ctxb)
	waitFor(t, "the flush of FLUSHDB", func() bool { _, f, _ := rec.state(); return f > flushes })

	// A killed tracking connection: reported down, made anew and flushed,
	// and later changes are still reported.
	_, flushes, _ = rec.state()
	ups := rec.listenings()
	if err := c.Do(ctxb, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the flush of a new connection", func() bool { _, f, _ := rec.state(); return f >= flushes+1 && rec.listenings() > ups })
	c.Set(ctxb, "trk:ptr:192.0.2.10", "three.example", 0)
	waitFor(t, "an invalidation after reconnecting", invalidatedAt(5))

	// A Redis restart: down, then flushed and listening again on a new
	// connection.
	ups = rec.listenings()
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "listening after a restart", func() bool { return rec.listenings() > ups })
	c.Set(ctxb, "trk:ptr:192.0.2.10", "four.example", 0)
	waitFor(t, "an invalidation after the restart", invalidatedAt(6))
}

// TestTrackStopsAtOnce: with Redis hung (it accepts connections and never
// answers), Track still returns at once when its context ends, so that a
// reload or shutdown does not wait for a read timeout.
func TestTrackStopsAtOnce(t *testing.T) {
	addr := redistest.Silent(t)
	r, err := ParseRedis(ModeServer, "redis://"+addr+"/0")
	if err != nil {
		t.Fatal(err)
	}
	s := Open(Config{Redis: r, Prefix: "x:"})
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Track(ctx, &recorder{}, nil) }()
	time.Sleep(200 * time.Millisecond) // connected, waiting for CLIENT ID's reply
	start := time.Now()
	cancel()
	<-done
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("Track returned %v after its context ended", took)
	}
}

// TestSameServer: tracking that reaches another server than lookups is
// told to move.
func TestSameServer(t *testing.T) {
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	r, err := ParseRedis(ModeServer, srv.URL(0))
	if err != nil {
		t.Fatal(err)
	}
	s := Open(Config{Redis: r, Prefix: "x:"})
	defer s.Close()
	ctx := context.Background()
	var laddr atomic.Pointer[string]
	if err := s.sameServer(ctx, &laddr); err != nil {
		t.Errorf("before tracking connects: %v", err)
	}
	here := srv.Addr
	laddr.Store(&here)
	if err := s.sameServer(ctx, &laddr); err != nil {
		t.Errorf("same server: %v", err)
	}
	elsewhere := "127.0.0.1:1"
	laddr.Store(&elsewhere)
	if err := s.sameServer(ctx, &laddr); !errors.Is(err, ErrMastersChanged) || !strings.Contains(err.Error(), "tracking reached 127.0.0.1:1, lookups reach "+srv.Addr) {
		t.Errorf("another server: %v, want ErrMastersChanged naming both", err)
	}
}
