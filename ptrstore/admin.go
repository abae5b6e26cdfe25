package ptrstore

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"
)

// Admin reads and writes records for operators' tools (rptrctl), with the
// same keys and values the plugin reads. It is safe for concurrent use.
type Admin struct {
	client  redis.UniversalClient
	prefix  string
	cluster bool
}

// NewAdmin returns an Admin of the records under prefix in r. It does not
// connect until first used.
func NewAdmin(r Redis, prefix string) *Admin {
	return &Admin{client: r.client(), prefix: prefix, cluster: r.Cluster != nil}
}

// Close closes the Admin's connections.
func (a *Admin) Close() error { return a.client.Close() }

// Ping checks that Redis answers.
func (a *Admin) Ping(ctx context.Context) error { return a.client.Ping(ctx).Err() }

// Key returns the key of addr's record.
func (a *Admin) Key(addr netip.Addr) string { return Key(a.prefix, addr) }

// Result is the record of one key as read, or why there is none: ErrNotFound,
// an *InvalidError, or a failure to read.
type Result struct {
	Key    string
	Addr   netip.Addr // invalid when the key's address text is not canonical
	Record Record
	Err    error
}

// GetMany reads the records of addrs in one round trip.
func (a *Admin) GetMany(ctx context.Context, addrs []netip.Addr) ([]Result, error) {
	keys := make([]string, len(addrs))
	for i, addr := range addrs {
		keys[i] = a.Key(addr)
	}
	res, err := a.read(ctx, keys)
	for i := range res {
		res[i].Addr = addrs[i]
	}
	return res, err
}

// read reads the records at keys, each as the plugin would.
func (a *Admin) read(ctx context.Context, keys []string) ([]Result, error) {
	start := time.Now()
	cmds, err := readKeys(ctx, a.client, a.cluster, keys)
	res := make([]Result, len(keys))
	for i, k := range keys {
		res[i].Key = k
		res[i].Addr, _ = KeyAddr(a.prefix, k)
		res[i].Record, res[i].Err = cmds[i].decode(start)
	}
	// One lookup's WRONGTYPE or nil is another's answer: only a failure of
	// the round trip itself fails the whole read.
	if err != nil && isRoundTripFailure(err) {
		return res, err
	}
	return res, nil
}

// isRoundTripFailure tells an error of the connection from the reply of a
// command (redis.Nil, WRONGTYPE), which a pipeline also returns.
func isRoundTripFailure(err error) bool {
	return !errors.Is(err, redis.Nil) && !isWrongType(err)
}

// Write is a record to store at an address. ExpireIn, when not zero, is
// how long the key lives; it is relative, so that the expiry follows
// Redis's clock rather than the writer's. Zero leaves the key without
// expiry.
type Write struct {
	Addr     netip.Addr
	Record   Record
	ExpireIn time.Duration
}

// Value returns how rec is stored: the string form (the name without its
// trailing dot) when it has neither a TTL nor the disabled flag, else the
// fields of the hash form.
func Value(rec Record) (str string, hash []any) {
	name := strings.TrimSuffix(rec.Name, ".")
	if !rec.HasTTL && !rec.Disabled {
		return name, nil
	}
	hash = []any{FieldPTR, name}
	if rec.HasTTL {
		hash = append(hash, FieldTTL, strconv.FormatUint(uint64(rec.TTL), 10))
	}
	if rec.Disabled {
		hash = append(hash, FieldDisabled, "1")
	}
	return "", hash
}

// queueWrite queues the commands that replace addr's key with w, whatever
// the key held (DEL first: HSET onto a string fails, and stale hash fields
// must go).
func (a *Admin) queueWrite(ctx context.Context, p redis.Pipeliner, w Write) {
	key := a.Key(w.Addr)
	str, hash := Value(w.Record)
	p.Del(ctx, key)
	if hash == nil {
		p.Set(ctx, key, str, 0)
	} else {
		p.HSet(ctx, key, hash...)
	}
	if w.ExpireIn > 0 {
		p.PExpire(ctx, key, w.ExpireIn)
	}
}

// writeParallel is how many keys a cluster write sends at once.
const writeParallel = 64

// Put writes every record of ws and returns how many it wrote. Each key
// is replaced in one MULTI/EXEC, so that no reader sees it half written;
// outside a cluster the whole batch is one transaction and one round trip,
// written whole or not at all. In a cluster, whose transactions cannot
// span slots, each key is its own transaction, sent writeParallel at a
// time: when one fails, others may have been written, and the count says
// how many.
func (a *Admin) Put(ctx context.Context, ws []Write) (int, error) {
	if !a.cluster {
		_, err := a.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for _, w := range ws {
				a.queueWrite(ctx, p, w)
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		return len(ws), nil
	}
	var written atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(writeParallel)
	for _, w := range ws {
		g.Go(func() error {
			_, err := a.client.TxPipelined(gctx, func(p redis.Pipeliner) error {
				a.queueWrite(gctx, p, w)
				return nil
			})
			if err == nil {
				written.Add(1)
			}
			return err
		})
	}
	err := g.Wait()
	return int(written.Load()), err
}

// Delete deletes the keys of addrs and returns how many existed.
func (a *Admin) Delete(ctx context.Context, addrs ...netip.Addr) (int64, error) {
	var n int64
	for _, addr := range addrs {
		// One DEL per key: a cluster refuses a DEL across slots.
		d, err := a.client.Del(ctx, a.Key(addr)).Result()
		if err != nil {
			return n, err
		}
		n += d
	}
	return n, nil
}

// DeleteKey deletes one key, whatever it is named.
func (a *Admin) DeleteKey(ctx context.Context, key string) error {
	return a.client.Del(ctx, key).Err()
}

// updateTries is how often SetDisabled starts over when the key changes
// under it before it gives up.
const updateTries = 10

// ErrKeepsChanging is SetDisabled giving up on a key that others keep
// writing.
var ErrKeepsChanging = errors.New("the key kept changing while it was updated")

// SetDisabled sets or clears the disabled flag of addr's record and
// returns the record as it was. Only the flag changes: in the hash form,
// the disabled field alone (other fields, the TTL and the expiry stay); a
// string that is disabled becomes the hash form with its expiry carried
// over as the remaining lifetime Redis reported. It is one optimistic
// transaction: a write by someone else in between makes it start over, up
// to updateTries times. It returns ErrNotFound or the *InvalidError of the
// key when there is no valid record to change.
func (a *Admin) SetDisabled(ctx context.Context, addr netip.Addr, disabled bool) (Record, error) {
	key := a.Key(addr)
	var was Record
	for range updateTries {
		err := a.client.Watch(ctx, func(tx *redis.Tx) error {
			start := time.Now()
			var cmds lookupCmds
			if _, err := tx.Pipelined(ctx, func(p redis.Pipeliner) error {
				cmds = queueLookup(ctx, p, key)
				return nil
			}); err != nil && isRoundTripFailure(err) {
				return err
			}
			rec, err := cmds.decode(start)
			if err != nil {
				return err
			}
			was = rec
			if rec.Disabled == disabled {
				return nil
			}
			hash := isWrongType(cmds.get.Err())
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				switch {
				case hash && disabled:
					p.HSet(ctx, key, FieldDisabled, "1")
				case hash:
					p.HDel(ctx, key, FieldDisabled)
				default:
					// A string is never disabled: this disables it.
					rec.Disabled = true
					a.queueWrite(ctx, p, Write{Addr: addr, Record: rec, ExpireIn: cmds.pttl.Val()})
				}
				return nil
			})
			return err
		}, key)
		if !errors.Is(err, redis.TxFailedErr) {
			return was, err
		}
	}
	return was, ErrKeepsChanging
}

// scanCount is the COUNT hint of each SCAN: how many keys Redis looks at per
// call.
const scanCount = 1000

// Scan calls fn with every key under the prefix's ptr: namespace that
// matches pattern (a glob after "<prefix>ptr:", "*" for all), and its
// record as the plugin would read it, in batches; it uses SCAN, never KEYS,
// so that a large keyspace does not block Redis. In a cluster it scans
// every master. fn's error stops the scan.
func (a *Admin) Scan(ctx context.Context, pattern string, fn func([]Result) error) error {
	match := globEscape(a.prefix+"ptr:") + pattern
	scan := func(ctx context.Context, c redis.Cmdable) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, match, scanCount).Result()
			if err != nil {
				return err
			}
			if len(keys) > 0 {
				res, err := a.read(ctx, keys)
				if err != nil {
					return err
				}
				if err := fn(res); err != nil {
					return err
				}
			}
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	}
	if cc, ok := a.client.(*redis.ClusterClient); ok {
		// The masters are scanned at once; fn is called for one at a time.
		var mu sync.Mutex
		inner := fn
		fn = func(res []Result) error {
			mu.Lock()
			defer mu.Unlock()
			return inner(res)
		}
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			return scan(ctx, c)
		})
	}
	return scan(ctx, a.client)
}

// ErrMoveRaced means a key being copied across cluster slots changed or
// went away during the copy: the copy and the key were both left as they
// are.
var ErrMoveRaced = errors.New("the key changed while it was copied across cluster slots; the copy and the key were both left as they are")

// MoveKey renames the key from to the key to, with its value and expiry,
// unless to exists: then it touches nothing and returns false. It returns
// ErrNotFound when from does not exist.
//
// Outside a cluster, and in a cluster when both keys hash to the same slot
// (a prefix with a hash tag, such as "{rptr}:"), this is one RENAMENX:
// atomic, and exact to the millisecond of expiry. A cluster refuses that
// across slots; the key is then copied with DUMP, PTTL and RESTORE
// (without REPLACE, so an existing to is never overwritten) and from is
// deleted only if it still holds what was copied, else ErrMoveRaced. The
// copy's expiry is late by the round trip in between.
func (a *Admin) MoveKey(ctx context.Context, from, to string) (bool, error) {
	moved, err := a.client.RenameNX(ctx, from, to).Result()
	switch {
	case err == nil:
		return moved, nil
	case strings.HasPrefix(err.Error(), "ERR no such key"):
		return false, ErrNotFound
	case !a.cluster || !strings.HasPrefix(err.Error(), "CROSSSLOT"):
		return false, err
	}

	var (
		dump *redis.StringCmd
		pttl *redis.DurationCmd
	)
	if _, err := a.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		dump = p.Dump(ctx, from)
		pttl = p.PTTL(ctx, from)
		return nil
	}); err != nil && !errors.Is(err, redis.Nil) {
		return false, err
	}
	payload, err := dump.Result()
	if errors.Is(err, redis.Nil) {
		return false, ErrNotFound
	}
	if err != nil {
		return false, err
	}
	// RESTORE takes 0 for no expiry; PTTL says -1. A key expiring within the
	// millisecond keeps the shortest expiry there is.
	life := pttl.Val()
	switch {
	case life < 0:
		life = 0
	case life < time.Millisecond:
		life = time.Millisecond
	}
	if err := a.client.Restore(ctx, to, life, payload).Err(); err != nil {
		if strings.HasPrefix(err.Error(), "BUSYKEY") {
			return false, nil
		}
		return false, err
	}
	err = a.client.Watch(ctx, func(tx *redis.Tx) error {
		now, err := tx.Dump(ctx, from).Result()
		if errors.Is(err, redis.Nil) || (err == nil && now != payload) {
			return ErrMoveRaced
		}
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, from)
			return nil
		})
		return err
	}, from)
	if errors.Is(err, redis.TxFailedErr) {
		err = ErrMoveRaced
	}
	return err == nil, err
}

// globEscape escapes the characters that SCAN's MATCH reads as a pattern,
// so that a prefix such as "{tenant}[1]:" matches only itself.
func globEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[]\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
