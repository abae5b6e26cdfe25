package ptrstore

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotFound means no key exists for the address.
var ErrNotFound = errors.New("no record")

// DefaultURL is the Redis the store connects to when none is configured.
const DefaultURL = "redis://127.0.0.1:6379/0"

// Config says how to reach Redis and where the records are.
type Config struct {
	// Redis holds the connection options, usually from ParseURL.
	Redis *redis.Options
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

// ParseURL parses a redis:// or rediss:// URL into connection options.
func ParseURL(url string) (*redis.Options, error) {
	return redis.ParseURL(url)
}

// Store reads PTR records from Redis. It is safe for concurrent use.
type Store struct {
	client  redis.UniversalClient
	opts    *redis.Options // for the tracking connection
	prefix  string
	timeout time.Duration
	observe func(ctx context.Context, took time.Duration, err error)
}

// Open returns a store for cfg. It does not connect: connections are made
// on first use, so a Redis that is down does not stop the caller starting.
func Open(cfg Config) *Store {
	opts := *cfg.Redis
	// Without this, go-redis ignores the deadline of the context, and a slow
	// Redis would hold a query past the plugin's lookup timeout.
	opts.ContextTimeoutEnabled = true
	return &Store{client: redis.NewClient(&opts), opts: &opts, prefix: cfg.Prefix, timeout: cfg.Timeout, observe: cfg.Observe}
}

// Close closes the store's connections.
func (s *Store) Close() error { return s.client.Close() }

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error { return s.client.Ping(ctx).Err() }

// Lookup returns the record of addr. It returns ErrNotFound when there is no
// key, an *InvalidError when the key holds something that is not a valid
// record, and any other error when Redis could not be asked.
//
// The value, whichever form it has, and the key's remaining lifetime are read
// in one round trip, in one MULTI/EXEC so that they belong together: GET fails
// with WRONGTYPE on a hash and HMGET on a string, which tells the forms apart
// without a TYPE command.
func (s *Store) Lookup(ctx context.Context, addr netip.Addr) (Record, error) {
	if s.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	start := time.Now()
	rec, err := s.lookup(ctx, addr, start)
	if s.observe != nil {
		var invalid *InvalidError
		if errors.Is(err, ErrNotFound) || errors.As(err, &invalid) {
			s.observe(ctx, time.Since(start), nil)
		} else {
			s.observe(ctx, time.Since(start), err)
		}
	}
	return rec, err
}

func (s *Store) lookup(ctx context.Context, addr netip.Addr, now time.Time) (Record, error) {
	key := Key(s.prefix, addr)
	var (
		get  *redis.StringCmd
		hget *redis.SliceCmd
		pttl *redis.DurationCmd
	)
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, key)
		hget = p.HMGet(ctx, key, FieldPTR, FieldTTL, FieldDisabled)
		pttl = p.PTTL(ctx, key)
		return nil
	})
	if err != nil && !isWrongType(err) && !errors.Is(err, redis.Nil) {
		return Record{}, err
	}
	if err := pttl.Err(); err != nil {
		return Record{}, err
	}
	life := pttl.Val()
	if life == -2 { // the key does not exist
		return Record{}, ErrNotFound
	}

	var rec Record
	switch {
	case get.Err() == nil:
		rec, err = DecodeString(get.Val())
	case isWrongType(get.Err()) && hget.Err() == nil:
		rec, err = DecodeHash(hashFields(hget.Val()))
	case isWrongType(get.Err()) && isWrongType(hget.Err()):
		err = errors.New("key holds neither a string nor a hash")
	case errors.Is(get.Err(), redis.Nil):
		// The key went away between the commands' checks; it cannot inside
		// MULTI/EXEC, but a missing key is the right reading if it did.
		return Record{}, ErrNotFound
	default:
		if get.Err() != nil && !isWrongType(get.Err()) {
			return Record{}, get.Err()
		}
		return Record{}, hget.Err()
	}
	if err != nil {
		return Record{}, &InvalidError{Key: key, Reason: err.Error()}
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
