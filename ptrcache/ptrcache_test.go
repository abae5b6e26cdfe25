package ptrcache

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/rptr-dns/rptr/ptrstore"
)

var (
	_ Source = (*fakeSource)(nil)
	_ Source = sourceFunc(nil)
)

// Addresses the tests look up. mapped is v4 as an IPv4-mapped IPv6 address:
// a different key in Redis, so a different entry.
var (
	v4     = netip.MustParseAddr("192.0.2.1")
	v4b    = netip.MustParseAddr("192.0.2.2")
	v6     = netip.MustParseAddr("2001:db8::1")
	mapped = netip.MustParseAddr("::ffff:192.0.2.1")
)

var errBackend = errors.New("dial tcp 127.0.0.1:6379: connection refused")

// answer is what a fakeSource returns for an address.
type answer struct {
	rec ptrstore.Record
	err error
}

func record(name string) answer { return answer{rec: ptrstore.Record{Name: name}} }

// fakeSource answers from a map, ErrNotFound for addresses it does not
// know, and counts its calls per address. It reads its answer when called
// and, when release is set, returns it only once release is closed: like a
// Redis reply that is on its way while the test changes the key.
type fakeSource struct {
	release chan struct{}

	mu      sync.Mutex
	answers map[netip.Addr]answer
	calls   map[netip.Addr]int
}

func newFakeSource() *fakeSource {
	return &fakeSource{answers: make(map[netip.Addr]answer), calls: make(map[netip.Addr]int)}
}

func (s *fakeSource) set(addr netip.Addr, a answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[addr] = a
}

func (s *fakeSource) callsTo(addr netip.Addr) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[addr]
}

func (s *fakeSource) Lookup(_ context.Context, addr netip.Addr) (ptrstore.Record, error) {
	s.mu.Lock()
	s.calls[addr]++
	a, ok := s.answers[addr]
	s.mu.Unlock()
	if s.release != nil {
		<-s.release
	}
	if !ok {
		return ptrstore.Record{}, ptrstore.ErrNotFound
	}
	return a.rec, a.err
}

// sourceFunc is a Source made of a function, for sources that answer every
// address.
type sourceFunc func(context.Context, netip.Addr) (ptrstore.Record, error)

func (f sourceFunc) Lookup(ctx context.Context, addr netip.Addr) (ptrstore.Record, error) {
	return f(ctx, addr)
}

func newMetrics() Metrics {
	counter := func(name string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: name})
	}
	return Metrics{
		Hits: counter("hits_total"), Misses: counter("misses_total"), Evictions: counter("evictions_total"),
		Invalidations: counter("invalidations_total"), Flushes: counter("flushes_total"),
	}
}

func counterValue(t testing.TB, c prometheus.Counter) uint64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatalf("reading counter: %v", err)
	}
	return uint64(m.GetCounter().GetValue())
}

// checkStats checks c's Stats and that the counters of m, which c was made
// with, agree with them.
func checkStats(t testing.TB, c *Cache, m Metrics, want Stats) {
	t.Helper()
	if got := c.Stats(); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
	got := Stats{
		Hits: counterValue(t, m.Hits), Misses: counterValue(t, m.Misses), Evictions: counterValue(t, m.Evictions),
		Invalidations: counterValue(t, m.Invalidations), Flushes: counterValue(t, m.Flushes),
	}
	if got != want {
		t.Errorf("metrics = %+v, want %+v", got, want)
	}
}

// checkLookup looks addr up in c and checks that the answer is want.
func checkLookup(t testing.TB, c *Cache, addr netip.Addr, want answer) {
	t.Helper()
	rec, err := c.Lookup(context.Background(), addr)
	// errors.Is compares *InvalidError by identity: the very error the
	// source returned, not just one of its type. Absence is cached as such,
	// so a wrapped ErrNotFound comes back as ErrNotFound.
	sameErr := errors.Is(err, want.err) || (errors.Is(want.err, ptrstore.ErrNotFound) && errors.Is(err, ptrstore.ErrNotFound))
	if rec != want.rec || !sameErr {
		t.Errorf("Lookup(%v) = %+v, %v; want %+v, %v", addr, rec, err, want.rec, want.err)
	}
}

func checkCalls(t testing.TB, src *fakeSource, addr netip.Addr, want int) {
	t.Helper()
	if got := src.callsTo(addr); got != want {
		t.Errorf("source called %d times for %v, want %d", got, addr, want)
	}
}

func TestLookupCaches(t *testing.T) {
	invalid := &ptrstore.InvalidError{Key: "rptr:ptr:192.0.2.1", Reason: "host name is empty"}
	tests := []struct {
		name      string
		answer    answer
		wantCalls int // after two lookups
		wantLen   int
		wantStats Stats
	}{
		{"record", record("host.example.com."), 1, 1, Stats{Hits: 1, Misses: 1}},
		{"not found", answer{err: ptrstore.ErrNotFound}, 1, 1, Stats{Hits: 1, Misses: 1}},
		{"invalid", answer{err: invalid}, 1, 1, Stats{Hits: 1, Misses: 1}},
		{"wrapped not found", answer{err: fmt.Errorf("reading: %w", ptrstore.ErrNotFound)}, 1, 1, Stats{Hits: 1, Misses: 1}},
		{"backend failure", answer{err: errBackend}, 2, 0, Stats{Misses: 2}},
		{"timeout", answer{err: context.DeadlineExceeded}, 2, 0, Stats{Misses: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newFakeSource()
			src.set(v4, tt.answer)
			m := newMetrics()
			c := newCoherent(src, 100, time.Hour, m)
			for range 2 {
				checkLookup(t, c, v4, tt.answer)
			}
			checkCalls(t, src, v4, tt.wantCalls)
			if got := c.Len(); got != tt.wantLen {
				t.Errorf("Len() = %d, want %d", got, tt.wantLen)
			}
			checkStats(t, c, m, tt.wantStats)
		})
	}
}

func TestLookupAfterFailureCaches(t *testing.T) {
	src := newFakeSource()
	src.set(v4, answer{err: errBackend})
	c := newCoherent(src, 100, time.Hour, Metrics{})
	checkLookup(t, c, v4, answer{err: errBackend})
	want := record("host.example.com.")
	src.set(v4, want)
	checkLookup(t, c, v4, want)
	checkLookup(t, c, v4, want)
	checkCalls(t, src, v4, 2)
}

func TestInvalidate(t *testing.T) {
	src := newFakeSource()
	addrs := []netip.Addr{v4, mapped, v6}
	for _, a := range addrs {
		src.set(a, record("old-"+a.String()+".example."))
	}
	m := newMetrics()
	c := newCoherent(src, 100, time.Hour, m)
	for _, a := range addrs {
		checkLookup(t, c, a, record("old-"+a.String()+".example."))
	}

	src.set(v4, record("new.example."))
	c.Invalidate(v4)
	if got := c.Len(); got != 2 {
		t.Errorf("Len() after Invalidate = %d, want 2", got)
	}
	checkLookup(t, c, v4, record("new.example."))
	checkCalls(t, src, v4, 2)
	// The entry read after the invalidation is kept.
	checkLookup(t, c, v4, record("new.example."))
	checkCalls(t, src, v4, 2)
	for _, a := range addrs[1:] {
		checkLookup(t, c, a, record("old-"+a.String()+".example."))
		checkCalls(t, src, a, 1)
	}
	checkStats(t, c, m, Stats{Hits: 3, Misses: 4, Invalidations: 1})

	// An address the cache does not hold is only counted.
	c.Invalidate(v4b)
	if got := c.Len(); got != 3 {
		t.Errorf("Len() after Invalidate of an absent address = %d, want 3", got)
	}
	checkStats(t, c, m, Stats{Hits: 3, Misses: 4, Invalidations: 2})
}

func TestFlush(t *testing.T) {
	src := newFakeSource()
	addrs := []netip.Addr{v4, mapped, v6, v4b}
	src.set(v4, record("host.example."))
	src.set(v6, answer{err: &ptrstore.InvalidError{Key: "k", Reason: "r"}})
	// mapped and v4b are not found.
	m := newMetrics()
	c := newCoherent(src, 100, time.Hour, m)
	for _, a := range addrs {
		c.Lookup(context.Background(), a)
	}
	c.Flush()
	if got := c.Len(); got != 0 {
		t.Errorf("Len() after Flush = %d, want 0", got)
	}
	for range 2 {
		for _, a := range addrs {
			c.Lookup(context.Background(), a)
		}
	}
	for _, a := range addrs {
		checkCalls(t, src, a, 2)
	}
	checkStats(t, c, m, Stats{Hits: 4, Misses: 8, Flushes: 1})
}

// sameShard returns n addresses whose keys in c fall in one shard of
// CoreDNS's plugin/pkg/cache, which picks the shard from the key's low 8
// bits.
func sameShard(c *Cache, n int) []netip.Addr {
	a := netip.MustParseAddr("10.0.0.0")
	shard := c.key(a) & 255
	var addrs []netip.Addr
	for ; len(addrs) < n; a = a.Next() {
		if c.key(a)&255 == shard {
			addrs = append(addrs, a)
		}
	}
	return addrs
}

func TestStats(t *testing.T) {
	src := sourceFunc(func(context.Context, netip.Addr) (ptrstore.Record, error) {
		return ptrstore.Record{Name: "host.example."}, nil
	})
	m := newMetrics()
	// Size 0 gives every shard its minimum of 4 entries, so the fifth
	// address of a shard evicts one.
	c := newCoherent(src, 0, time.Hour, m)
	addrs := sameShard(c, 5)
	lookup := func(addrs ...netip.Addr) func() {
		return func() {
			for _, a := range addrs {
				c.Lookup(context.Background(), a)
			}
		}
	}
	steps := []struct {
		name    string
		do      func()
		want    Stats
		wantLen int
	}{
		{"four misses fill the shard", lookup(addrs[:4]...), Stats{Misses: 4}, 4},
		{"hits", lookup(addrs[:4]...), Stats{Hits: 4, Misses: 4}, 4},
		{"fifth miss evicts", lookup(addrs[4]), Stats{Hits: 4, Misses: 5, Evictions: 1}, 4},
		{"hit on the fifth", lookup(addrs[4]), Stats{Hits: 5, Misses: 5, Evictions: 1}, 4},
		{"invalidate", func() { c.Invalidate(addrs[4]) }, Stats{Hits: 5, Misses: 5, Evictions: 1, Invalidations: 1}, 3},
		{"refill without eviction", lookup(addrs[4]), Stats{Hits: 5, Misses: 6, Evictions: 1, Invalidations: 1}, 4},
		{"flush", c.Flush, Stats{Hits: 5, Misses: 6, Evictions: 1, Invalidations: 1, Flushes: 1}, 0},
		{"misses after flush", lookup(addrs[:2]...), Stats{Hits: 5, Misses: 8, Evictions: 1, Invalidations: 1, Flushes: 1}, 2},
	}
	for _, s := range steps {
		s.do()
		if !t.Run(s.name, func(t *testing.T) {
			checkStats(t, c, m, s.want)
			if got := c.Len(); got != s.wantLen {
				t.Errorf("Len() = %d, want %d", got, s.wantLen)
			}
		}) {
			break
		}
	}
}

func TestNilMetrics(t *testing.T) {
	src := newFakeSource()
	c := newCoherent(src, 0, time.Hour, Metrics{Hits: newMetrics().Hits})
	for _, a := range sameShard(c, 5) {
		c.Lookup(context.Background(), a)
	}
	c.Lookup(context.Background(), v4)
	c.Lookup(context.Background(), v4)
	c.Invalidate(v4)
	c.Flush()
	if got, want := c.Stats(), (Stats{Hits: 1, Misses: 6, Evictions: 1, Invalidations: 1, Flushes: 1}); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
}

// TestEntryLifetime checks that an entry lives until the record's expiry or
// the safety TTL, whichever comes first, and not a nanosecond longer. It
// runs on synctest's fake clock.
func TestEntryLifetime(t *testing.T) {
	const ttl = 50 * time.Millisecond
	tests := []struct {
		name      string
		safetyTTL time.Duration
		expiresIn time.Duration // 0: the key has no expiry
		err       error
		lifetime  time.Duration
	}{
		{"record expiry first", time.Hour, ttl, nil, ttl},
		{"safety TTL first", ttl, time.Hour, nil, ttl},
		{"no record expiry", ttl, 0, nil, ttl},
		{"same expiry", ttl, ttl, nil, ttl},
		{"not found", ttl, 0, ptrstore.ErrNotFound, ttl},
		{"invalid", ttl, 0, &ptrstore.InvalidError{Key: "k", Reason: "r"}, ttl},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a := answer{err: tt.err}
				if tt.err == nil {
					a = record("host.example.")
					if tt.expiresIn > 0 {
						a.rec.ExpiresAt = time.Now().Add(tt.expiresIn)
					}
				}
				src := newFakeSource()
				src.set(v4, a)
				c := newCoherent(src, 100, tt.safetyTTL, Metrics{})
				checkLookup(t, c, v4, a)
				time.Sleep(tt.lifetime - 1)
				checkLookup(t, c, v4, a)
				checkCalls(t, src, v4, 1)
				time.Sleep(time.Nanosecond) // synctest's fake clock: exactly to the expiry
				checkLookup(t, c, v4, a)
				checkCalls(t, src, v4, 2)
			})
		})
	}
}

func TestExpiredRecordServedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFakeSource()
		a := record("host.example.")
		a.rec.ExpiresAt = time.Now().Add(-time.Second)
		src.set(v4, a)
		c := newCoherent(src, 100, time.Hour, Metrics{})
		// The caller is told the truth it read; it is the caller's job to
		// serve it with a TTL of 0. The cache does not keep it.
		checkLookup(t, c, v4, a)
		checkLookup(t, c, v4, a)
		checkCalls(t, src, v4, 2)
	})
}

func TestAddressFamiliesAreDistinct(t *testing.T) {
	src := newFakeSource()
	addrs := []netip.Addr{v4, mapped, v6, netip.MustParseAddr("::192.0.2.1")}
	for _, a := range addrs {
		src.set(a, record("h-"+a.StringExpanded()+".example."))
	}
	c := newCoherent(src, 100, time.Hour, Metrics{})
	for range 2 {
		for _, a := range addrs {
			checkLookup(t, c, a, record("h-"+a.StringExpanded()+".example."))
		}
	}
	for _, a := range addrs {
		checkCalls(t, src, a, 1)
	}
	if got := c.Len(); got != len(addrs) {
		t.Errorf("Len() = %d, want %d", got, len(addrs))
	}
}

type result struct {
	rec ptrstore.Record
	err error
}

// lookupAsync starts a lookup of addr in c and returns where its result
// will arrive.
func lookupAsync(c *Cache, addr netip.Addr) <-chan result {
	ch := make(chan result, 1)
	go func() {
		rec, err := c.Lookup(context.Background(), addr)
		ch <- result{rec, err}
	}()
	return ch
}

func TestSingleflight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFakeSource()
		src.release = make(chan struct{})
		want := record("host.example.")
		src.set(v6, want)
		m := newMetrics()
		c := newCoherent(src, 100, time.Hour, m)

		const n = 50
		results := make([]<-chan result, n)
		for i := range results {
			results[i] = lookupAsync(c, v6)
		}
		// Every lookup is now blocked: one in the source, the others
		// waiting for it.
		synctest.Wait()
		checkCalls(t, src, v6, 1)
		close(src.release)
		for i, ch := range results {
			if r := <-ch; r.rec != want.rec || r.err != nil {
				t.Errorf("lookup %d = %+v, %v; want %+v, nil", i, r.rec, r.err, want.rec)
			}
		}
		checkLookup(t, c, v6, want)
		checkCalls(t, src, v6, 1)
		checkStats(t, c, m, Stats{Hits: 1, Misses: n})
	})
}

func TestSingleflightSharesFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFakeSource()
		src.release = make(chan struct{})
		src.set(v4, answer{err: errBackend})
		c := newCoherent(src, 100, time.Hour, Metrics{})
		results := []<-chan result{lookupAsync(c, v4), lookupAsync(c, v4), lookupAsync(c, v4)}
		synctest.Wait()
		close(src.release)
		for i, ch := range results {
			if r := <-ch; !errors.Is(r.err, errBackend) {
				t.Errorf("lookup %d: error %v, want %v", i, r.err, errBackend)
			}
		}
		checkCalls(t, src, v4, 1)
		// Not cached: the next lookup asks again.
		c.Lookup(context.Background(), v4)
		checkCalls(t, src, v4, 2)
	})
}

func TestSingleflightPerAddress(t *testing.T) {
	pairs := []struct {
		name string
		a, b netip.Addr
	}{
		{"two IPv4", v4, v4b},
		{"IPv4 and IPv4-mapped", v4, mapped},
		{"IPv4 and IPv6", v4, v6},
		{"IPv4-mapped and IPv4-compatible", mapped, netip.MustParseAddr("::192.0.2.1")},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				src := newFakeSource()
				src.release = make(chan struct{})
				src.set(p.a, record("a.example."))
				src.set(p.b, record("b.example."))
				c := newCoherent(src, 100, time.Hour, Metrics{})
				ra, rb := lookupAsync(c, p.a), lookupAsync(c, p.b)
				synctest.Wait()
				// Both are in the source at once: neither waits for the
				// other's read.
				checkCalls(t, src, p.a, 1)
				checkCalls(t, src, p.b, 1)
				close(src.release)
				if r := <-ra; r.rec.Name != "a.example." {
					t.Errorf("Lookup(%v) = %+v, %v; want a.example.", p.a, r.rec, r.err)
				}
				if r := <-rb; r.rec.Name != "b.example." {
					t.Errorf("Lookup(%v) = %+v, %v; want b.example.", p.b, r.rec, r.err)
				}
			})
		})
	}
}

// TestFillRace checks the guard against keeping a read that an
// invalidation overtook: the source reads the old record, the key changes
// and is invalidated, and only then does the read return.
func TestFillRace(t *testing.T) {
	old, changed := record("old.example."), record("new.example.")
	tests := []struct {
		name string
		// during runs while the fill is blocked in the source.
		during   func(c *Cache, src *fakeSource)
		wantNext answer
		wantLen  int // once the fill is done
	}{
		{"no change", func(*Cache, *fakeSource) {}, old, 1},
		{"invalidate", func(c *Cache, src *fakeSource) { src.set(v4, changed); c.Invalidate(v4) }, changed, 0},
		{"flush", func(c *Cache, src *fakeSource) { src.set(v4, changed); c.Flush() }, changed, 0},
		{"invalidate, key deleted", func(c *Cache, src *fakeSource) { src.set(v4, answer{err: ptrstore.ErrNotFound}); c.Invalidate(v4) }, answer{err: ptrstore.ErrNotFound}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				src := newFakeSource()
				src.release = make(chan struct{})
				src.set(v4, old)
				c := newCoherent(src, 100, time.Hour, Metrics{})
				first := lookupAsync(c, v4)
				synctest.Wait()
				tt.during(c, src)
				close(src.release)
				// The read that was in flight is what its caller gets.
				if r := <-first; r.rec != old.rec || r.err != nil {
					t.Errorf("first Lookup = %+v, %v; want %+v, nil", r.rec, r.err, old.rec)
				}
				if got := c.Len(); got != tt.wantLen {
					t.Errorf("Len() after the fill = %d, want %d", got, tt.wantLen)
				}
				checkLookup(t, c, v4, tt.wantNext)
				checkCalls(t, src, v4, 2-tt.wantLen)
			})
		})
	}
}

// TestLookupAfterInvalidate checks that a lookup that starts after an
// invalidation has returned does not get a read that began before it, by
// joining a fill that was already in flight.
func TestLookupAfterInvalidate(t *testing.T) {
	old, changed := record("old.example."), record("new.example.")
	for _, change := range []struct {
		name string
		do   func(c *Cache)
	}{
		{"invalidate", func(c *Cache) { c.Invalidate(v4) }},
		{"flush", func(c *Cache) { c.Flush() }},
	} {
		t.Run(change.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				src := newFakeSource()
				src.release = make(chan struct{})
				src.set(v4, old)
				c := newCoherent(src, 100, time.Hour, Metrics{})
				first := lookupAsync(c, v4)
				synctest.Wait()
				src.set(v4, changed)
				change.do(c)
				second := lookupAsync(c, v4)
				synctest.Wait()
				close(src.release)
				<-first
				if r := <-second; r.rec != changed.rec || r.err != nil {
					t.Errorf("Lookup started after the change = %+v, %v; want %+v, nil", r.rec, r.err, changed.rec)
				}
			})
		})
	}
}

func TestBound(t *testing.T) {
	const size, n = 1000, 100_000
	// plugin/pkg/cache has 256 shards of max(size/256, 4) entries each,
	// and a shard evicts only when it is full: 1024 for a size of 1000.
	const bound = 256 * max(size/256, 4)
	src := sourceFunc(func(context.Context, netip.Addr) (ptrstore.Record, error) {
		return ptrstore.Record{Name: "host.example."}, nil
	})
	m := newMetrics()
	c := newCoherent(src, size, time.Hour, m)
	a := netip.MustParseAddr("10.0.0.0")
	for i := range n {
		if _, err := c.Lookup(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		a = a.Next()
		if i%1000 == 0 && c.Len() > bound {
			t.Fatalf("Len() = %d after %d addresses, want at most %d", c.Len(), i+1, bound)
		}
	}
	l := c.Len()
	if l > bound {
		t.Errorf("Len() = %d, want at most %d", l, bound)
	}
	s := c.Stats()
	if s.Evictions == 0 {
		t.Error("no evictions")
	}
	// Every miss added an entry, and every entry added to a full shard
	// evicted one.
	if uint64(l)+s.Evictions != n {
		t.Errorf("Len() %d + Evictions %d = %d, want %d", l, s.Evictions, uint64(l)+s.Evictions, n)
	}
	checkStats(t, c, m, Stats{Misses: n, Evictions: s.Evictions})
	t.Logf("size %d: %d entries, %d evictions", size, l, s.Evictions)
}

// TestConcurrent looks up, invalidates, evicts and flushes random
// addresses from several goroutines at once, for the race detector, and
// checks that no lookup gets another address's answer.
func TestConcurrent(t *testing.T) {
	src := newFakeSource()
	var addrs []netip.Addr
	for i := range 1024 {
		a := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		if i%2 == 1 {
			a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)})
		}
		addrs = append(addrs, a)
		switch i % 8 {
		case 0:
			src.set(a, answer{err: ptrstore.ErrNotFound})
		case 1:
			src.set(a, answer{err: errBackend})
		case 2:
			src.set(a, answer{err: &ptrstore.InvalidError{Key: a.String(), Reason: "r"}})
		default:
			src.set(a, record("h-"+a.StringExpanded()+".example."))
		}
	}
	m := newMetrics()
	// 256 shards of 4: the addresses overflow some of them.
	c := newCoherent(src, 0, time.Hour, m)
	// At least 200ms and, however slow the machine, enough operations
	// that every path is taken: one flush per 1000 operations of the
	// first worker leaves time for shards to fill and overflow.
	const minOps = 4000
	deadline := time.Now().Add(200 * time.Millisecond)
	var lookups atomic.Uint64
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(1, uint64(w)))
			for i := 0; i < minOps || time.Now().Before(deadline); i++ {
				a := addrs[rng.IntN(len(addrs))]
				switch {
				case w == 0 && i%1000 == 999:
					c.Flush()
				case rng.IntN(100) < 10:
					c.Invalidate(a)
				default:
					lookups.Add(1)
					rec, err := c.Lookup(context.Background(), a)
					src.mu.Lock()
					want := src.answers[a]
					src.mu.Unlock()
					if rec != want.rec || !errors.Is(err, want.err) {
						t.Errorf("Lookup(%v) = %+v, %v; want %+v, %v", a, rec, err, want.rec, want.err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	s := c.Stats()
	if s.Hits+s.Misses != lookups.Load() {
		t.Errorf("Hits %d + Misses %d != %d lookups", s.Hits, s.Misses, lookups.Load())
	}
	if s.Hits == 0 || s.Evictions == 0 || s.Invalidations == 0 || s.Flushes == 0 {
		t.Errorf("Stats() = %+v: the test did not exercise every path", s)
	}
	checkStats(t, c, m, s)
	t.Logf("%d lookups: %+v", lookups.Load(), s)
}

func BenchmarkLookupHit(b *testing.B) {
	for _, a := range []struct {
		name string
		addr netip.Addr
	}{{"v4", v4}, {"v6", v6}} {
		b.Run(a.name, func(b *testing.B) {
			src := newFakeSource()
			src.set(a.addr, record("host-000042.example.com."))
			c := newCoherent(src, DefaultSize, DefaultSafetyTTL, newMetrics())
			ctx := context.Background()
			c.Lookup(ctx, a.addr)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Lookup(ctx, a.addr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkLookupHitParallel(b *testing.B) {
	src := sourceFunc(func(context.Context, netip.Addr) (ptrstore.Record, error) {
		return ptrstore.Record{Name: "host-000042.example.com."}, nil
	})
	c := newCoherent(src, DefaultSize, DefaultSafetyTTL, newMetrics())
	addrs := make([]netip.Addr, 1024)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		c.Lookup(context.Background(), addrs[i])
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for i := 0; pb.Next(); i++ {
			if _, err := c.Lookup(ctx, addrs[i%len(addrs)]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkLookupMissParallel(b *testing.B) {
	src := sourceFunc(func(context.Context, netip.Addr) (ptrstore.Record, error) {
		return ptrstore.Record{Name: "host-000042.example.com."}, nil
	})
	c := newCoherent(src, DefaultSize, DefaultSafetyTTL, newMetrics())
	var next atomic.Uint32
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			var a [4]byte
			binary.BigEndian.PutUint32(a[:], next.Add(1))
			if _, err := c.Lookup(ctx, netip.AddrFrom4(a)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// newCoherent returns a cache that is told changes are reported, as the
// tracker does once it listens.
func newCoherent(src Source, size int, safetyTTL time.Duration, m Metrics) *Cache {
	c := New(src, Config{Size: size, SafetyTTL: safetyTTL, Metrics: m})
	c.SetCoherent(true)
	return c
}

// TestIncoherentBypasses: without reported changes the cache holds nothing
// and every lookup reads the source; turning coherence off drops entries.
func TestIncoherentBypasses(t *testing.T) {
	src := newFakeSource()
	a := netip.MustParseAddr("192.0.2.1")
	src.set(a, record("a.example."))
	c := New(src, Config{Size: 100, SafetyTTL: time.Hour})
	for range 3 {
		if r, err := c.Lookup(context.Background(), a); err != nil || r.Name != "a.example." {
			t.Fatalf("Lookup = %v, %v", r, err)
		}
	}
	if n := src.callsTo(a); n != 3 || c.Len() != 0 {
		t.Errorf("incoherent: %d source calls, %d entries; want 3 and 0", n, c.Len())
	}
	c.SetCoherent(true)
	c.Lookup(context.Background(), a)
	c.Lookup(context.Background(), a)
	if n := src.callsTo(a); n != 4 {
		t.Errorf("coherent: %d source calls in all, want 4", n)
	}
	c.SetCoherent(false)
	if c.Len() != 0 {
		t.Errorf("%d entries after turning coherence off", c.Len())
	}
}

// TestStale: once changes stop being reported, lookups read the source; when
// it fails, the cache answers from what it held, until the key's expiry and
// the end of the stale window, and without asking the failing source again.
func TestStale(t *testing.T) {
	ctx := context.Background()
	src := newFakeSource()
	expiring := netip.MustParseAddr("192.0.2.3")
	never := netip.MustParseAddr("192.0.2.4")
	src.set(v4, record("a.example."))
	src.set(expiring, answer{rec: ptrstore.Record{Name: "soon.example.", ExpiresAt: time.Now().Add(100 * time.Millisecond)}})
	const window = 400 * time.Millisecond
	c := New(src, Config{Size: 100, SafetyTTL: time.Hour, Stale: window})
	c.SetCoherent(true)
	for _, a := range []netip.Addr{v4, v4b, expiring} { // v4b: a cached absence
		c.Lookup(ctx, a)
	}

	c.SetCoherent(false)
	lost := time.Now()
	// The source answers: its answer, not the cache's.
	src.set(v4, record("b.example."))
	if r, err := c.Lookup(ctx, v4); err != nil || r.Name != "b.example." {
		t.Fatalf("source up: Lookup = %v, %v; want b.example. from the source", r, err)
	}
	// The source fails: what the cache held, absences included.
	src.set(v4, answer{err: errBackend})
	src.set(v4b, answer{err: errBackend})
	src.set(never, answer{err: errBackend})
	if r, err := c.Lookup(ctx, v4); err != nil || r.Name != "a.example." {
		t.Errorf("source down: Lookup = %v, %v; want a.example. from the cache", r, err)
	}
	if _, err := c.Lookup(ctx, v4b); !errors.Is(err, ptrstore.ErrNotFound) {
		t.Errorf("source down: Lookup of a cached absence = %v, want ErrNotFound", err)
	}
	if _, err := c.Lookup(ctx, never); !errors.Is(err, errBackend) {
		t.Errorf("source down: Lookup of an address never cached = %v, want the source's error", err)
	}
	calls := src.callsTo(v4)
	c.Lookup(ctx, v4)
	if src.callsTo(v4) != calls {
		t.Error("a stale answer asked the source that was failing")
	}
	if n := c.Stats().Stale; n != 3 {
		t.Errorf("Stats().Stale = %d, want 3", n)
	}
	// Told again that changes are not reported: the window does not move.
	c.SetCoherent(false)

	// The key's expiry ends its entry even within the window.
	time.Sleep(time.Until(lost.Add(150 * time.Millisecond)))
	src.set(expiring, answer{err: errBackend})
	if _, err := c.Lookup(ctx, expiring); !errors.Is(err, errBackend) {
		t.Errorf("after the key's expiry: Lookup = %v, want the source's error", err)
	}
	// The window ends: nothing held is served, and it is dropped.
	time.Sleep(time.Until(lost.Add(window + 50*time.Millisecond)))
	if _, err := c.Lookup(ctx, v4); !errors.Is(err, errBackend) {
		t.Errorf("after the window: Lookup = %v, want the source's error", err)
	}
	if c.Len() != 0 {
		t.Errorf("%d entries after the window, want 0", c.Len())
	}

	// Coherent again: a fresh start.
	src.set(v4, record("c.example."))
	c.SetCoherent(true)
	if r, err := c.Lookup(ctx, v4); err != nil || r.Name != "c.example." {
		t.Errorf("coherent again: Lookup = %v, %v; want c.example.", r, err)
	}
}

// TestStaleRecovers: a source that answers again clears the failing state,
// so that changes made meanwhile are read rather than the stale entry.
func TestStaleRecovers(t *testing.T) {
	ctx := context.Background()
	src := newFakeSource()
	src.set(v4, record("a.example."))
	c := New(src, Config{Size: 100, SafetyTTL: time.Hour, Stale: time.Hour})
	c.SetCoherent(true)
	c.Lookup(ctx, v4)
	c.SetCoherent(false)
	src.set(v4, answer{err: errBackend})
	src.set(v6, answer{err: errBackend})
	c.Lookup(ctx, v4) // stale, and the source is marked failing
	src.set(v4, record("b.example."))
	src.set(v6, record("six.example."))
	// A miss reaches the source, which answers: failing is over.
	if r, err := c.Lookup(ctx, v6); err != nil || r.Name != "six.example." {
		t.Fatalf("Lookup(v6) = %v, %v", r, err)
	}
	if r, err := c.Lookup(ctx, v4); err != nil || r.Name != "b.example." {
		t.Errorf("Lookup(v4) = %v, %v; want b.example. from the source that answers again", r, err)
	}
}

// TestStaleProbes: while the source fails, stale answers come without
// asking it, but only for staleProbe after its last failure: then it is
// asked again, and its answer wins once it is back.
func TestStaleProbes(t *testing.T) {
	ctx := context.Background()
	src := newFakeSource()
	src.set(v4, record("old.example."))
	c := New(src, Config{Size: 100, SafetyTTL: time.Hour, Stale: time.Hour})
	c.SetCoherent(true)
	c.Lookup(ctx, v4)
	c.SetCoherent(false)
	src.set(v4, answer{err: errBackend})
	c.Lookup(ctx, v4) // fails, stale
	src.set(v4, record("new.example."))
	if r, _ := c.Lookup(ctx, v4); r.Name != "old.example." {
		t.Errorf("within staleProbe of the failure: %q, want the stale old.example.", r.Name)
	}
	time.Sleep(staleProbe + 50*time.Millisecond)
	if r, err := c.Lookup(ctx, v4); err != nil || r.Name != "new.example." {
		t.Errorf("after staleProbe: %v, %v; want new.example. from the source", r, err)
	}
}

// TestStaleKeepsSafetyTTL: an entry past its safety TTL is not served
// stale either.
func TestStaleKeepsSafetyTTL(t *testing.T) {
	ctx := context.Background()
	src := newFakeSource()
	src.set(v4, record("a.example."))
	c := New(src, Config{Size: 100, SafetyTTL: 50 * time.Millisecond, Stale: time.Hour})
	c.SetCoherent(true)
	c.Lookup(ctx, v4)
	c.SetCoherent(false)
	time.Sleep(60 * time.Millisecond)
	src.set(v4, answer{err: errBackend})
	if _, err := c.Lookup(ctx, v4); !errors.Is(err, errBackend) {
		t.Errorf("past the safety TTL: %v, want the source's error", err)
	}
}
