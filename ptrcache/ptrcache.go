// Package ptrcache is rptr's in-process cache of record lookups, positive
// and negative, kept coherent with Redis by invalidations rather than by
// guessing with TTLs.
//
// The cache does not listen to Redis itself: whoever does (see
// ptrstore.Store.Track) calls Invalidate for a changed key and Flush when it
// cannot vouch for the cache any more (FLUSHDB, a lost or new tracking
// connection). A safety TTL bounds the damage of an invalidation that never
// arrives, and an entry never outlives the key's own expiry.
package ptrcache

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin/pkg/cache"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/rptr-dns/rptr/ptrstore"
)

// Source is where the cache reads records it does not hold.
type Source interface {
	Lookup(ctx context.Context, addr netip.Addr) (ptrstore.Record, error)
}

// Defaults for New.
const (
	DefaultSize      = 250_000
	DefaultSafetyTTL = 10 * time.Minute
)

// entry is a cached lookup: a record, or the error that stands for its
// absence (ptrstore.ErrNotFound or a *ptrstore.InvalidError).
type entry struct {
	addr    netip.Addr // the hash is only a hint; this is the identity
	rec     ptrstore.Record
	err     error
	expires time.Time
}

// Stats counts what the cache did.
type Stats struct {
	Hits, Misses, Evictions, Invalidations, Flushes uint64
}

// Metrics are counters the cache adds to besides its Stats; nil ones are
// skipped.
type Metrics struct {
	Hits, Misses, Evictions, Invalidations, Flushes prometheus.Counter
}

// count adds one to n and to m when m is set.
func count(n *atomic.Uint64, m prometheus.Counter) {
	n.Add(1)
	if m != nil {
		m.Inc()
	}
}

// Cache is a bounded cache of lookups in front of a Source. It is safe for
// concurrent use.
type Cache struct {
	src       Source
	size      int
	safetyTTL time.Duration
	seed      maphash.Seed

	entries atomic.Pointer[cache.Cache[*entry]] // replaced whole by Flush
	// gen changes on every invalidation and flush; a lookup that saw it
	// change while it read from the source does not keep its result, which
	// may predate the change.
	gen    atomic.Uint64
	flight singleflight.Group
	// coherent is set while invalidations arrive; without them the cache
	// could not know of changes, so it is bypassed.
	coherent atomic.Bool

	hits, misses, evictions, invalidations, flushes atomic.Uint64
	metrics                                         Metrics
}

// New returns a cache of about size entries in front of src. Entries live
// at most safetyTTL.
func New(src Source, size int, safetyTTL time.Duration, m Metrics) *Cache {
	c := &Cache{src: src, size: size, safetyTTL: safetyTTL, seed: maphash.MakeSeed(), metrics: m}
	c.entries.Store(cache.New[*entry](size))
	return c
}

func (c *Cache) key(addr netip.Addr) uint64 { return maphash.Comparable(c.seed, addr) }

// Lookup returns addr's record from the cache, or from the source when the
// cache does not hold it. Concurrent misses for one address share one read
// of the source. Source errors other than a record's absence or invalidity
// are returned and not cached.
func (c *Cache) Lookup(ctx context.Context, addr netip.Addr) (ptrstore.Record, error) {
	if !c.coherent.Load() {
		return c.src.Lookup(ctx, addr)
	}
	if e, ok := c.entries.Load().Get(c.key(addr)); ok && e.addr == addr && time.Now().Before(e.expires) {
		count(&c.hits, c.metrics.Hits)
		return e.rec, e.err
	}
	return c.miss(ctx, addr)
}

// miss reads addr through the single flight of its address. It is kept
// apart from Lookup so that a hit runs in a small stack frame: each query
// runs on a fresh goroutine, and growing its stack costs more than the hit.
//
//go:noinline
func (c *Cache) miss(ctx context.Context, addr netip.Addr) (ptrstore.Record, error) {
	count(&c.misses, c.metrics.Misses)
	// The flight is of one address in one generation: a lookup that starts
	// after an invalidation must not share a read made before it.
	gen := c.gen.Load()
	key := make([]byte, 0, 24)
	key = binary.BigEndian.AppendUint64(addr.AppendTo(key), gen)
	v, err, _ := c.flight.Do(string(key), func() (any, error) {
		return c.fill(ctx, c.key(addr), addr, gen)
	})
	if v == nil {
		return ptrstore.Record{}, err
	}
	e := v.(*entry)
	return e.rec, e.err
}

// fill reads addr from the source and caches what it read when that is
// safe. Its error is the source's failure; an absent or invalid record is
// part of the entry.
func (c *Cache) fill(ctx context.Context, k uint64, addr netip.Addr, gen uint64) (any, error) {
	entries := c.entries.Load()
	rec, err := c.src.Lookup(ctx, addr)
	var invalid *ptrstore.InvalidError
	if err != nil && !errors.Is(err, ptrstore.ErrNotFound) && !errors.As(err, &invalid) {
		return nil, err
	}
	e := &entry{addr: addr, rec: rec, err: err, expires: time.Now().Add(c.safetyTTL)}
	if !rec.ExpiresAt.IsZero() && rec.ExpiresAt.Before(e.expires) {
		e.expires = rec.ExpiresAt
	}
	if entries.Add(k, e) {
		count(&c.evictions, c.metrics.Evictions)
	}
	// Checked after adding, so that an invalidation racing with the add
	// either removes the entry itself or is seen here.
	if c.gen.Load() != gen {
		entries.Remove(k)
	}
	return e, nil
}

// SetCoherent says whether changes are being reported. The cache starts
// incoherent and then passes every lookup to the source; turning it either
// way drops every entry.
func (c *Cache) SetCoherent(on bool) {
	c.drop()
	c.coherent.Store(on)
}

// Coherent reports whether the cache is in use.
func (c *Cache) Coherent() bool { return c.coherent.Load() }

// Invalidate drops addr's entry, because its key changed.
func (c *Cache) Invalidate(addr netip.Addr) {
	c.gen.Add(1)
	count(&c.invalidations, c.metrics.Invalidations)
	c.entries.Load().Remove(c.key(addr))
}

// Flush drops every entry.
func (c *Cache) Flush() {
	count(&c.flushes, c.metrics.Flushes)
	c.drop()
}

func (c *Cache) drop() {
	c.gen.Add(1)
	c.entries.Store(cache.New[*entry](c.size))
}

// Len returns the number of entries.
func (c *Cache) Len() int { return c.entries.Load().Len() }

// Stats returns the cache's counters.
func (c *Cache) Stats() Stats {
	return Stats{
		Hits: c.hits.Load(), Misses: c.misses.Load(), Evictions: c.evictions.Load(),
		Invalidations: c.invalidations.Load(), Flushes: c.flushes.Load(),
	}
}
