package ptrstore

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Invalidator is told what changed in Redis.
type Invalidator interface {
	// Invalidate is called when the key of addr changed or went away.
	Invalidate(addr netip.Addr)
	// Flush is called when every key may have changed: FLUSHDB or
	// FLUSHALL, or a tracking connection that was lost or is new, since
	// changes made while none was listening are unknown.
	Flush()
}

// The invalidation channel of Redis server-assisted client-side caching.
const invalidateChannel = "__redis__:invalidate"

// trackPing is how long the tracking connection may be silent before it is
// pinged; a connection that does not answer a ping in as long again is
// dropped and made anew.
const trackPing = 2 * time.Second

// Track tells inv of every change to the store's records until ctx ends,
// through Redis's server-assisted client-side caching in broadcast mode
// (CLIENT TRACKING ... BCAST PREFIX <prefix>ptr:) on a dedicated connection:
// Redis then reports every write to a key under the prefix, by anyone. The
// connection is made again when it breaks, and inv is flushed each time one
// is ready to report changes, so nothing that happened while none was
// listening is missed. up, when not nil, is told when a tracking
// connection starts listening (true, nil) and when it stops or fails to
// start (false, and why).
func (s *Store) Track(ctx context.Context, inv Invalidator, up func(listening bool, err error)) {
	if up == nil {
		up = func(bool, error) {}
	}
	opts := *s.opts
	// Invalidations arrive as Pub/Sub messages on __redis__:invalidate, to
	// the connection that subscribed to it and redirected tracking to
	// itself before subscribing (RESP2 allows no other command after).
	opts.Protocol = 2
	opts.PoolSize = 1
	opts.OnConnect = func(ctx context.Context, cn *redis.Conn) error {
		id, err := cn.ClientID(ctx).Result()
		if err != nil {
			return err
		}
		return cn.Do(ctx, "CLIENT", "TRACKING", "on", "REDIRECT", strconv.FormatInt(id, 10),
			"BCAST", "PREFIX", s.prefix+"ptr:").Err()
	}
	client := redis.NewClient(&opts)
	defer client.Close()

	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		listened, err := s.listen(ctx, client, inv, up)
		up(false, err)
		inv.Flush()
		if listened {
			backoff = 50 * time.Millisecond
		} else if backoff < 2*time.Second {
			backoff *= 2
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
	}
}

// listen runs one tracking connection until it fails or ctx ends; it
// reports whether the connection got as far as listening, and why it ended.
func (s *Store) listen(ctx context.Context, client *redis.Client, inv Invalidator, up func(bool, error)) (bool, error) {
	ps := client.Subscribe(ctx, invalidateChannel)
	defer ps.Close()
	listening, pinged := false, false
	for ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(ctx, trackPing)
		var netErr interface{ Timeout() bool }
		switch {
		case err != nil && errors.As(err, &netErr) && netErr.Timeout() && listening && !pinged:
			// Quiet for a while: make sure the connection is alive.
			if err := ps.Ping(ctx); err != nil {
				return listening, err
			}
			pinged = true
			continue
		case err != nil:
			// A broken connection, an unanswered ping, or a message that is
			// no list of keys: FLUSHDB and FLUSHALL send a null one, which
			// go-redis reports as an error. Each means: flush.
			if listening && ctx.Err() == nil && isNullInvalidation(err) {
				inv.Flush()
				continue
			}
			return listening, err
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && m.Channel == invalidateChannel {
				// From here on every change is reported: whatever the
				// cache learnt before may be stale.
				listening = true
				inv.Flush()
				up(true, nil)
			}
		case *redis.Message:
			if len(m.PayloadSlice) == 0 && m.Payload == "" {
				inv.Flush()
				continue
			}
			for _, key := range m.PayloadSlice {
				if addr, ok := KeyAddr(s.prefix, key); ok {
					inv.Invalidate(addr)
				}
			}
		}
	}
	return listening, ctx.Err()
}

// isNullInvalidation reports whether err is go-redis's reading of the null
// invalidation message that FLUSHDB and FLUSHALL send.
func isNullInvalidation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "unsupported pubsub message payload: <nil>")
}
