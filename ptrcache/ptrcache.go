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
	"math/rand/v2"
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

// entry is a cached lookup: a record, or the absence of one (no key, or an
// invalid record). It holds as few pointers as it can (the name, and the
// error of an invalid record): a large cache of pointer-rich entries makes
// every garbage collection trace them all, which showed as a longer latency
// tail under load. The map holds pointers to entries, not entries, so that
// a hit copies one word: a query's goroutine starts with a small stack, and
// growing it costs more than the lookup.
type entry struct {
	name    string                 // the record's name
	invalid *ptrstore.InvalidError // set when the record is invalid
	addr    [16]byte               // the hash is only a hint; this is the identity
	expires int64                  // Unix nanoseconds: the entry's end
	keyExp  int64                  // Unix nanoseconds: the key's expiry; 0 for none
	ttl     uint32
	flags   uint8
}

const (
	flagIPv4 uint8 = 1 << iota
	flagFound
	flagHasTTL
	flagDisabled
)

func addrBytes(addr netip.Addr) ([16]byte, uint8) {
	if addr.Is4() {
		return addr.As16(), flagIPv4
	}
	return addr.As16(), 0
}

// is reports whether e holds addr's lookup.
func (e *entry) is(addr netip.Addr) bool {
	b, f := addrBytes(addr)
	return e.addr == b && e.flags&flagIPv4 == f
}

// newEntry packs a lookup's result: rec when err is nil, else the absence
// of a record, invalid when the record is invalid.
func newEntry(addr netip.Addr, rec ptrstore.Record, err error, invalid *ptrstore.InvalidError, expires time.Time) *entry {
	e := &entry{expires: expires.UnixNano()}
	var f uint8
	e.addr, f = addrBytes(addr)
	e.flags |= f
	e.invalid = invalid
	if err == nil {
		e.flags |= flagFound
		e.name, e.ttl = rec.Name, rec.TTL
		if rec.HasTTL {
			e.flags |= flagHasTTL
		}
		if rec.Disabled {
			e.flags |= flagDisabled
		}
		if !rec.ExpiresAt.IsZero() {
			e.keyExp = rec.ExpiresAt.UnixNano()
		}
	}
	return e
}

// result unpacks e into what Lookup returns.
func (e *entry) result() (ptrstore.Record, error) {
	switch {
	case e.flags&flagFound != 0:
		rec := ptrstore.Record{Name: e.name, TTL: e.ttl, HasTTL: e.flags&flagHasTTL != 0, Disabled: e.flags&flagDisabled != 0}
		if e.keyExp != 0 {
			rec.ExpiresAt = time.Unix(0, e.keyExp)
		}
		return rec, nil
	case e.invalid != nil:
		return ptrstore.Record{}, e.invalid
	}
	return ptrstore.Record{}, ptrstore.ErrNotFound
}

// Stats counts what the cache did.
type Stats struct {
	Hits, Misses, Evictions, Invalidations, Flushes, Stale uint64
}

// Metrics are counters the cache adds to besides its Stats; nil ones are
// skipped.
type Metrics struct {
	Hits, Misses, Evictions, Invalidations, Flushes, Stale prometheus.Counter
}

// Config says how the cache behaves.
type Config struct {
	// Size is about how many entries the cache holds.
	Size int
	// SafetyTTL is the longest an entry lives.
	SafetyTTL time.Duration
	// Stale is how long after changes stop being reported the cache may
	// still answer from what it held, for lookups that the source fails.
	// 0 drops everything the moment changes stop being reported.
	Stale time.Duration
	// Metrics are counted besides Stats.
	Metrics Metrics
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
	stale     time.Duration
	seed      uint64

	entries atomic.Pointer[cache.Cache[*entry]] // replaced whole by Flush
	// gen changes on every invalidation and flush; a lookup that saw it
	// change while it read from the source does not keep its result, which
	// may predate the change.
	gen    atomic.Uint64
	flight singleflight.Group
	// coherent is set while invalidations arrive; without them the cache
	// could not know of changes, so it is bypassed.
	coherent atomic.Bool
	// staleUntil, while the cache is not coherent, is when the entries it
	// held when changes stopped being reported may no longer be served
	// (Unix nanoseconds); 0 when there are none to serve.
	staleUntil atomic.Int64
	// failedAt is when the source last failed a lookup (Unix nanoseconds),
	// 0 when it answered since: for staleProbe after a failure, stale
	// entries are served without asking it again.
	failedAt atomic.Int64

	hits, misses, evictions, invalidations, flushes, staleHits atomic.Uint64
	metrics                                                    Metrics
}

// New returns a cache in front of src.
func New(src Source, cfg Config) *Cache {
	c := &Cache{src: src, size: cfg.Size, safetyTTL: cfg.SafetyTTL, stale: cfg.Stale, seed: rand.Uint64(), metrics: cfg.Metrics}
	c.entries.Store(cache.New[*entry](cfg.Size))
	return c
}

// key hashes addr for the sharded map. It mixes the address's bytes with
// the seed by hand: maphash.Comparable needs a deeper stack, and growing a
// query goroutine's stack costs more than the lookup.
func (c *Cache) key(addr netip.Addr) uint64 {
	b := addr.As16()
	h := c.seed ^ binary.BigEndian.Uint64(b[:8])
	h = mix(h) ^ binary.BigEndian.Uint64(b[8:])
	if addr.Is4() {
		h ^= 0x9e3779b97f4a7c15
	}
	return mix(h)
}

// mix is the finalizer of SplitMix64: every input bit reaches every output
// bit, so the low bits that pick a shard are as good as any.
func mix(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}

// Lookup returns addr's record from the cache, or from the source when the
// cache does not hold it. Concurrent misses for one address share one read
// of the source. Source errors other than a record's absence or invalidity
// are returned and not cached.
func (c *Cache) Lookup(ctx context.Context, addr netip.Addr) (ptrstore.Record, error) {
	if !c.coherent.Load() {
		return c.incoherent(ctx, addr)
	}
	if e, ok := c.entries.Load().Get(c.key(addr)); ok && e.is(addr) && time.Now().UnixNano() < e.expires {
		count(&c.hits, c.metrics.Hits)
		return e.result()
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
	return e.result()
}

// fill reads addr from the source and caches what it read when that is
// safe. Its error is the source's failure; an absent or invalid record is
// part of the entry.
func (c *Cache) fill(ctx context.Context, k uint64, addr netip.Addr, gen uint64) (any, error) {
	entries := c.entries.Load()
	rec, err := c.src.Lookup(ctx, addr)
	invalid, failure := classify(err)
	if failure {
		return nil, err
	}
	expires := time.Now().Add(c.safetyTTL)
	if !rec.ExpiresAt.IsZero() && rec.ExpiresAt.Before(expires) {
		expires = rec.ExpiresAt
	}
	e := newEntry(addr, rec, err, invalid, expires)
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

// classify tells the source's failure to answer from an answer: no
// record, or an invalid one, which it returns.
func classify(err error) (invalid *ptrstore.InvalidError, failure bool) {
	if ptrstore.Failed(err) {
		return nil, true
	}
	errors.As(err, &invalid)
	return invalid, false
}

// staleProbe is how long after the source failed a lookup stale entries
// are served without asking it: while Redis is down, a stale answer does
// not wait for the lookup timeout, and Redis is still asked about once
// per staleProbe, so that answers follow it as soon as it is back.
const staleProbe = time.Second

// incoherent answers a lookup while changes are not reported: from the
// source, or, within the stale window and when the source fails, from what
// the cache held when changes stopped being reported. An entry is never
// served past its own end: its key's expiry, or the safety TTL.
//
//go:noinline
func (c *Cache) incoherent(ctx context.Context, addr netip.Addr) (ptrstore.Record, error) {
	until := c.staleUntil.Load()
	if until == 0 {
		return c.src.Lookup(ctx, addr)
	}
	now := time.Now().UnixNano()
	if now >= until {
		// The window is over: nothing held may be served any more.
		if c.staleUntil.CompareAndSwap(until, 0) {
			c.drop()
		}
		return c.src.Lookup(ctx, addr)
	}
	e, ok := c.entries.Load().Get(c.key(addr))
	ok = ok && e.is(addr) && now < e.expires
	if ok && now-c.failedAt.Load() < int64(staleProbe) {
		count(&c.staleHits, c.metrics.Stale)
		return e.result()
	}
	rec, err := c.src.Lookup(ctx, addr)
	if _, failure := classify(err); !failure {
		c.failedAt.Store(0)
		return rec, err
	}
	c.failedAt.Store(time.Now().UnixNano())
	if ok {
		count(&c.staleHits, c.metrics.Stale)
		return e.result()
	}
	return rec, err
}

// SetCoherent says whether changes are being reported. The cache starts
// incoherent and then passes every lookup to the source. Turning coherent
// drops every entry; turning incoherent does too, unless stale answers are
// allowed: the entries are then kept for the stale window.
func (c *Cache) SetCoherent(on bool) {
	was := c.coherent.Load()
	switch {
	case on:
		c.drop()
		c.staleUntil.Store(0)
		c.failedAt.Store(0)
	case !was:
		// Still incoherent: the stale window runs from the first moment.
		return
	case c.stale > 0:
		// No fill may land from now on: lookups bypass the map.
		c.gen.Add(1)
		c.failedAt.Store(0)
		c.staleUntil.Store(time.Now().Add(c.stale).UnixNano())
	default:
		c.drop()
	}
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
		Invalidations: c.invalidations.Load(), Flushes: c.flushes.Load(), Stale: c.staleHits.Load(),
	}
}
