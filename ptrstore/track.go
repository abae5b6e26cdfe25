package ptrstore

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Invalidator is told what changed in Redis.
type Invalidator interface {
	// Invalidate is called when the key of addr changed or went away.
	Invalidate(addr netip.Addr)
	// Flush is called when every key may have changed: FLUSHDB or
	// FLUSHALL, or a tracking connection that starts listening, since
	// changes made while none was listening are unknown.
	Flush()
}

// The invalidation channel of Redis server-assisted client-side caching.
const invalidateChannel = "__redis__:invalidate"

// trackPing is how long the tracking connection may be silent before it is
// pinged; a connection that does not answer a ping in as long again is
// dropped and made anew.
const trackPing = 2 * time.Second

// followEvery is how often tracking checks that it listens to the servers
// that lookups read: the master that sentinels name, or the masters of a
// cluster. Changes written to a new master before the check sees it are
// covered by the flush that follows.
const followEvery = time.Second

// Track tells inv of every change to the store's records until ctx ends,
// through Redis's server-assisted client-side caching in broadcast mode
// (CLIENT TRACKING ... BCAST PREFIX <prefix>ptr:) on a dedicated connection
// to every master: Redis then reports every write to a key under the
// prefix, by anyone. A broken connection is made again, a failover or a
// change of cluster masters moves tracking to the new masters, and inv is
// flushed each time a connection is ready to report changes, so nothing
// that happened while none was listening is missed.
//
// up, when not nil, is told when tracking starts listening to every master
// (true, nil) and when it stops or fails to start (false, and why). From
// up(false) on, inv hears of no changes until the next up(true): it must
// not vouch for what it holds meanwhile.
func (s *Store) Track(ctx context.Context, inv Invalidator, up func(listening bool, err error)) {
	if up == nil {
		up = func(bool, error) {}
	}
	switch {
	case s.redis.Cluster != nil:
		s.trackCluster(ctx, inv, up)
	case s.redis.Sentinel != nil:
		o := *s.redis.Sentinel
		var laddr atomic.Pointer[string]
		o.Protocol, o.PoolSize, o.OnConnect = 2, 1, s.startTracking(&laddr)
		o.Dialer = closingDialer(ctx, o.DialTimeout, o.TLSConfig)
		s.trackServer(ctx, redis.NewFailoverClient(&o), inv, up, func(ctx context.Context) error {
			return s.sameServer(ctx, &laddr)
		})
	default:
		o := *s.redis.Server
		s.trackServer(ctx, s.trackingClient(ctx, o), inv, up, nil)
	}
}

// trackingClient returns a client for the tracking connection to one
// server.
func (s *Store) trackingClient(ctx context.Context, o redis.Options) *redis.Client {
	o.Protocol, o.PoolSize, o.OnConnect = 2, 1, s.startTracking(nil)
	if o.Network != "unix" {
		o.Dialer = closingDialer(ctx, o.DialTimeout, o.TLSConfig)
	}
	return redis.NewClient(&o)
}

// closingDialer dials TCP, with TLS when cfg is set, and closes what it
// dialed when ctx ends. go-redis does not interrupt a read, or the setup of
// a connection, when a context ends: without this, stopping tracking would
// wait for a hung Redis's read timeout.
func closingDialer(ctx context.Context, timeout time.Duration, cfg *tls.Config) func(context.Context, string, string) (net.Conn, error) {
	return func(dctx context.Context, network, addr string) (net.Conn, error) {
		dctx, cancel := context.WithCancel(dctx)
		defer cancel()
		defer context.AfterFunc(ctx, cancel)()
		d := &net.Dialer{Timeout: cmp.Or(timeout, 5*time.Second)}
		var (
			c   net.Conn
			err error
		)
		if cfg == nil {
			c, err = d.DialContext(dctx, network, addr)
		} else {
			c, err = (&tls.Dialer{NetDialer: d, Config: cfg}).DialContext(dctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		return &closingConn{Conn: c, stop: context.AfterFunc(ctx, func() { c.Close() })}, nil
	}
}

// closingConn is a connection that ctx closes; closing it first releases
// that.
type closingConn struct {
	net.Conn
	stop func() bool
}

func (c *closingConn) Close() error {
	c.stop()
	return c.Conn.Close()
}

// startTracking returns the OnConnect hook of a tracking connection. When
// laddr is set, it is given the server's address as the server sees it.
//
// Invalidations arrive as Pub/Sub messages on __redis__:invalidate, to the
// connection that subscribed to it and redirected tracking to itself
// before subscribing (RESP2 allows no other command after).
func (s *Store) startTracking(laddr *atomic.Pointer[string]) func(context.Context, *redis.Conn) error {
	return func(ctx context.Context, cn *redis.Conn) error {
		id, err := cn.ClientID(ctx).Result()
		if err != nil {
			return err
		}
		if laddr != nil {
			a, err := serverAddr(ctx, cn)
			if err != nil {
				return err
			}
			laddr.Store(&a)
		}
		return cn.Do(ctx, "CLIENT", "TRACKING", "on", "REDIRECT", strconv.FormatInt(id, 10),
			"BCAST", "PREFIX", s.prefix+"ptr:").Err()
	}
}

// serverAddr returns the address of the server at the other end of c, as
// the server sees it: the laddr field of CLIENT INFO.
func serverAddr(ctx context.Context, c redis.Cmdable) (string, error) {
	info, err := c.ClientInfo(ctx).Result()
	if err != nil {
		return "", err
	}
	return info.LAddr, nil
}

// ErrMastersChanged ends tracking connections to servers that are no
// longer the masters, after a failover or a change of cluster masters;
// tracking starts again on the new masters.
var ErrMastersChanged = errors.New("masters changed")

// sameServer checks that the tracking connection, whose server's address
// is laddr, and the store's lookups reach the same server: after a
// failover, the old master would report no changes written to the new one.
func (s *Store) sameServer(ctx context.Context, laddr *atomic.Pointer[string]) error {
	tracked := laddr.Load()
	if tracked == nil {
		return nil
	}
	current, err := serverAddr(ctx, s.client)
	if err != nil || current == *tracked {
		// Lookups failing is not tracking's to judge.
		return nil
	}
	return fmt.Errorf("%w: tracking reached %s, lookups reach %s", ErrMastersChanged, *tracked, current)
}

// trackServer keeps a tracking connection of client listening until ctx
// ends. follow, when set, is called every followEvery while it listens;
// an error from it ends the connection and makes a new one.
func (s *Store) trackServer(ctx context.Context, client *redis.Client, inv Invalidator, up func(bool, error), follow func(context.Context) error) {
	defer client.Close()
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		listened, err := s.listen(ctx, client, inv, up, follow)
		up(false, err)
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

// listen runs one tracking connection until it fails, follow fails or ctx
// ends; it reports whether the connection got as far as listening, and why
// it ended.
func (s *Store) listen(ctx context.Context, client *redis.Client, inv Invalidator, up func(bool, error), follow func(context.Context) error) (bool, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	var following sync.WaitGroup
	defer func() {
		cancel(nil)
		following.Wait()
	}()
	if follow != nil {
		following.Add(1)
		go func() {
			defer following.Done()
			t := time.NewTicker(followEvery)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				if err := follow(ctx); err != nil {
					cancel(err)
					return
				}
			}
		}()
	}
	ps := client.Subscribe(ctx, invalidateChannel)
	defer ps.Close()
	// A receive waits on the socket, not on ctx: closing the connection is
	// what ends it at once when ctx ends (on shutdown or reload, say).
	defer context.AfterFunc(ctx, func() { ps.Close() })()
	listening, pinged := false, false
	for ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(ctx, trackPing)
		var netErr interface{ Timeout() bool }
		switch {
		case ctx.Err() != nil:
			return listening, context.Cause(ctx)
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
			if listening && isNullInvalidation(err) {
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
	return listening, context.Cause(ctx)
}

// isNullInvalidation reports whether err is go-redis's reading of the null
// invalidation message that FLUSHDB and FLUSHALL send.
func isNullInvalidation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "unsupported pubsub message payload: <nil>")
}

// trackCluster tracks every master of a cluster, each on a connection of
// its own (tracking reports only the writes of the server it runs on), and
// starts over on the new masters when they change.
func (s *Store) trackCluster(ctx context.Context, inv Invalidator, up func(bool, error)) {
	cc := s.client.(*redis.ClusterClient)
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		masters, node, err := clusterMasters(ctx, cc)
		if err != nil {
			up(false, fmt.Errorf("cluster masters: %w", err))
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond

		nctx, cancel := context.WithCancel(ctx)
		all := &allListening{up: up, listening: map[string]bool{}, n: len(masters)}
		var wg sync.WaitGroup
		for _, addr := range masters {
			o := node
			o.Addr = addr
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.trackServer(nctx, s.trackingClient(nctx, o), inv, all.node(addr), nil)
			}()
		}
		// Watch for a failover or a master added or removed.
		err = nil
		for err == nil && ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-time.After(followEvery):
				now, _, lerr := clusterMasters(ctx, cc)
				if lerr == nil && !slices.Equal(now, masters) {
					err = fmt.Errorf("%w: %v to %v", ErrMastersChanged, masters, now)
				}
			}
		}
		if err != nil {
			// Said before the connections end, so that their ends are
			// known for what they are.
			all.fail(err)
		}
		cancel()
		wg.Wait()
	}
}

// clusterMasters returns the sorted addresses of the masters that serve
// slots, and the options of a connection to one of them (all but the
// address are every node's).
func clusterMasters(ctx context.Context, cc *redis.ClusterClient) ([]string, redis.Options, error) {
	ctx, cancel := context.WithTimeout(ctx, trackPing)
	defer cancel()
	// CLUSTER SLOTS, as go-redis reads the slot map itself: one ACL right
	// for both, and Redis 6 has no CLUSTER SHARDS.
	//lint:ignore SA1019 see above
	slots, err := cc.ClusterSlots(ctx).Result()
	if err != nil {
		return nil, redis.Options{}, err
	}
	var masters []string
	for _, sl := range slots {
		if len(sl.Nodes) == 0 {
			return nil, redis.Options{}, fmt.Errorf("slots %d-%d have no master", sl.Start, sl.End)
		}
		masters = append(masters, sl.Nodes[0].Addr)
	}
	slices.Sort(masters)
	masters = slices.Compact(masters)
	if len(masters) == 0 {
		return nil, redis.Options{}, errors.New("no slots are served")
	}
	c, err := cc.MasterForKey(ctx, "")
	if err != nil {
		return nil, redis.Options{}, err
	}
	return masters, *c.Options(), nil
}

// allListening reports up(true) when every one of n masters listens, and
// up(false) when one stops.
type allListening struct {
	up        func(bool, error)
	mu        sync.Mutex
	listening map[string]bool
	n         int
}

// fail reports up(false, err), in turn with the masters' reports.
func (a *allListening) fail(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.up(false, err)
}

func (a *allListening) node(addr string) func(bool, error) {
	return func(listening bool, err error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.listening[addr] = listening
		if !listening {
			if err != nil {
				err = fmt.Errorf("master %s: %w", addr, err)
			}
			a.up(false, err)
			return
		}
		for _, l := range a.listening {
			if !l {
				return
			}
		}
		if len(a.listening) == a.n {
			a.up(true, nil)
		}
	}
}
