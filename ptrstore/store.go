package ptrstore

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotFound means no key exists for the address.
var ErrNotFound = errors.New("no record")

// DefaultURL is the Redis the store connects to when none is configured.
const DefaultURL = "redis://127.0.0.1:6379/0"

// Config says how to reach Redis and where the records are.
type Config struct {
	// Redis says how to reach Redis, usually from ParseRedis.
	Redis Redis
	// Prefix is prepended to every key.
	Prefix string
	// Timeout bounds each Redis round trip of Lookup; 0 leaves it to the
	// caller's context.
	Timeout time.Duration
	// Observe, when set, is told of every Redis round trip of Lookup: how
	// long it took and its error, if Redis failed to answer. ctx is the
	// lookup's.
	Observe func(ctx context.Context, took time.Duration, err error)
}

// Store reads PTR records from Redis. It is safe for concurrent use.
type Store struct {
	client  redis.UniversalClient
	redis   Redis // for the tracking connections
	cluster bool  // a cluster runs no transaction across slots
	prefix  string
	timeout time.Duration
	observe func(ctx context.Context, took time.Duration, err error)

	queue chan *request // lookups waiting for a batch
	stop  chan struct{} // closed by Close
	once  sync.Once
}

// Open returns a store for cfg. It does not connect: connections are made
// on first use, so a Redis that is down does not stop the caller starting.
func Open(cfg Config) *Store {
	s := &Store{client: cfg.Redis.client(), redis: cfg.Redis, cluster: cfg.Redis.Cluster != nil,
		prefix: cfg.Prefix, timeout: cfg.Timeout, observe: cfg.Observe,
		queue: make(chan *request, 4*maxBatch), stop: make(chan struct{})}
	for range batchWorkers {
		go s.work()
	}
	return s
}

// Close stops the store's workers and closes its connections.
func (s *Store) Close() error {
	s.once.Do(func() { close(s.stop) })
	return s.client.Close()
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error { return s.client.Ping(ctx).Err() }

// Lookup returns the record of addr. It returns ErrNotFound when there is no
// key, an *InvalidError when the key holds something that is not a valid
// record, and any other error when Redis could not be asked.
//
// The value, whichever form it has, and the key's remaining lifetime are read
// in one MULTI/EXEC, so that they belong together: GET fails with WRONGTYPE
// on a hash and HMGET on a string, which tells the forms apart without a TYPE
// command. Concurrent lookups share round trips: a few workers each take
// what is queued (up to maxBatch lookups) and send it as one transaction,
// which saves Redis and the plugin a write and a read per lookup.
func (s *Store) Lookup(ctx context.Context, addr netip.Addr) (Record, error) {
	if s.timeout > 0 {
		// The bound covers the wait for a batch as well as the round trip.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	select {
	case <-s.stop:
		return Record{}, redis.ErrClosed
	default:
	}
	r := &request{ctx: ctx, addr: addr, done: make(chan struct{})}
	select {
	case s.queue <- r:
	case <-ctx.Done():
		return Record{}, ctx.Err()
	case <-s.stop:
		return Record{}, redis.ErrClosed
	}
	select {
	case <-r.done:
		return r.rec, r.err
	case <-ctx.Done():
		return Record{}, ctx.Err()
	case <-s.stop:
		return Record{}, redis.ErrClosed
	}
}

// request is one lookup waiting for its batch.
type request struct {
	ctx  context.Context
	addr netip.Addr
	rec  Record
	err  error
	done chan struct{}
}

// Batching: how many workers send batches at once, and how many lookups
// one batch holds at most. One worker batches best: while its batch is on
// the wire, the lookups that arrive meanwhile gather into the next one
// (measured: 31k lookups/s unbatched, 55k with one worker, less with more,
// Redis on its own core).
const (
	batchWorkers = 1
	maxBatch     = 256
)

// work sends the queued lookups in batches until the store closes.
func (s *Store) work() {
	batch := make([]*request, 0, maxBatch)
	for {
		select {
		case r := <-s.queue:
			batch = append(batch[:0], r)
		case <-s.stop:
			return
		}
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-s.queue:
				batch = append(batch, r)
			default:
				break more
			}
		}
		s.lookupBatch(batch)
	}
}

// lookupBatch reads the records of batch in one round trip and hands each
// request its result.
func (s *Store) lookupBatch(batch []*request) {
	ctx := context.Background()
	if s.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	// Lookups whose caller gave up while they waited are not sent.
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			close(r.done)
			continue
		}
		live = append(live, r)
	}
	batch = live
	if len(batch) == 0 {
		return
	}
	keys := make([]string, len(batch))
	for i, r := range batch {
		keys[i] = Key(s.prefix, r.addr)
	}
	// The error of the whole batch is ignored: each command carries its
	// own, and one lookup's WRONGTYPE or nil is another's answer.
	start := time.Now()
	cmds, _ := readKeys(ctx, s.client, s.cluster, keys)
	took := time.Since(start)
	for i, r := range batch {
		r.rec, r.err = cmds[i].decode(start)
		if s.observe != nil {
			if Failed(r.err) {
				s.observe(r.ctx, took, r.err)
			} else {
				s.observe(r.ctx, took, nil)
			}
		}
		close(r.done)
	}
}

// Failed reports whether err is a failure to read a record, as opposed to
// an answer: a record (nil), no record (ErrNotFound) or an invalid one
// (*InvalidError).
func Failed(err error) bool {
	var invalid *InvalidError
	return err != nil && !errors.Is(err, ErrNotFound) && !errors.As(err, &invalid)
}

// readKeys reads the records at keys in one round trip: one MULTI/EXEC,
// so that each value and its key's lifetime belong together, or, in a
// cluster, a pipeline, since the keys lie in many slots, which no
// transaction spans (go-redis sends each node its share; a lookup that
// races a write may then mix the value before it and the lifetime after,
// and the write's invalidation drops whatever a cache kept of it). Its
// error is the round trip's; each lookup's is in its commands.
func readKeys(ctx context.Context, c redis.UniversalClient, cluster bool, keys []string) ([]lookupCmds, error) {
	cmds := make([]lookupCmds, len(keys))
	queue := func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = queueLookup(ctx, p, k)
		}
		return nil
	}
	var err error
	if cluster {
		_, err = c.Pipelined(ctx, queue)
	} else {
		_, err = c.TxPipelined(ctx, queue)
	}
	return cmds, err
}

// lookupCmds are the commands of one lookup.
type lookupCmds struct {
	key  string
	get  *redis.StringCmd
	hget *redis.SliceCmd
	pttl *redis.DurationCmd
}

func queueLookup(ctx context.Context, p redis.Pipeliner, key string) lookupCmds {
	return lookupCmds{
		key:  key,
		get:  p.Get(ctx, key),
		hget: p.HMGet(ctx, key, FieldPTR, FieldTTL, FieldDisabled),
		pttl: p.PTTL(ctx, key),
	}
}

// decode turns the replies into a record; now is when they were asked for.
func (c lookupCmds) decode(now time.Time) (Record, error) {
	if err := c.pttl.Err(); err != nil {
		// A failed round trip fails every command, PTTL included.
		return Record{}, err
	}
	life := c.pttl.Val()
	if life == -2 { // the key does not exist
		return Record{}, ErrNotFound
	}

	var (
		rec Record
		err error
	)
	switch {
	case c.get.Err() == nil:
		rec, err = DecodeString(c.get.Val())
	case isWrongType(c.get.Err()) && c.hget.Err() == nil:
		rec, err = DecodeHash(hashFields(c.hget.Val()))
	case isWrongType(c.get.Err()) && isWrongType(c.hget.Err()):
		err = errors.New("key holds neither a string nor a hash")
	case errors.Is(c.get.Err(), redis.Nil):
		// The key went away between the commands' checks; it cannot inside
		// MULTI/EXEC, but a missing key is the right reading if it did.
		return Record{}, ErrNotFound
	default:
		if c.get.Err() != nil && !isWrongType(c.get.Err()) {
			return Record{}, c.get.Err()
		}
		return Record{}, c.hget.Err()
	}
	if err != nil {
		return Record{}, &InvalidError{Key: c.key, Reason: err.Error()}
	}
	// PTTL is -1 for a key without expiry; 0 for one that expires within
	// the millisecond, which must not read as "never".
	if life >= 0 {
		rec.ExpiresAt = now.Add(life)
	}
	return rec, nil
}

// hashFields turns HMGET's reply into pointers, nil for absent fields.
func hashFields(vals []any) (ptr, ttl, disabled *string) {
	field := func(i int) *string {
		if i >= len(vals) {
			return nil
		}
		s, ok := vals[i].(string)
		if !ok {
			return nil
		}
		return &s
	}
	return field(0), field(1), field(2)
}

func isWrongType(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "WRONGTYPE")
}
