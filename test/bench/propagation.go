package main

import (
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/miekg/dns"
	"github.com/redis/go-redis/v9"

	"github.com/rptr-dns/rptr/internal/corednstest"
	"github.com/rptr-dns/rptr/reverse"
)

// change is one kind of change an operator makes with redis-cli, as a
// setup that leaves the record answered (and cached), the change itself,
// and the answer that must follow.
type change struct {
	name   string
	setup  func(c *redis.Client, key string) error
	apply  func(c *redis.Client, key string) (effective time.Time, err error)
	before string
	after  string
}

var changes = []change{
	{"SET (new name)",
		func(c *redis.Client, key string) error { return c.Set(ctx, key, "old.example.com", 0).Err() },
		func(c *redis.Client, key string) (time.Time, error) {
			err := c.Set(ctx, key, "new.example.com", 0).Err()
			return time.Now(), err
		}, "old.example.com.", "new.example.com."},
	{"SET (new record)",
		func(c *redis.Client, key string) error { return c.Del(ctx, key).Err() },
		func(c *redis.Client, key string) (time.Time, error) {
			err := c.Set(ctx, key, "new.example.com", 0).Err()
			return time.Now(), err
		}, "NXDOMAIN", "new.example.com."},
	{"HSET (disable)",
		func(c *redis.Client, key string) error {
			c.Del(ctx, key)
			return c.HSet(ctx, key, "ptr", "old.example.com").Err()
		},
		func(c *redis.Client, key string) (time.Time, error) {
			err := c.HSet(ctx, key, "disabled", "1").Err()
			return time.Now(), err
		}, "old.example.com.", "NXDOMAIN"},
	{"DEL",
		func(c *redis.Client, key string) error { return c.Set(ctx, key, "old.example.com", 0).Err() },
		func(c *redis.Client, key string) (time.Time, error) {
			err := c.Del(ctx, key).Err()
			return time.Now(), err
		}, "old.example.com.", "NXDOMAIN"},
	{"EXPIRE firing",
		func(c *redis.Client, key string) error { return c.Set(ctx, key, "old.example.com", 0).Err() },
		func(c *redis.Client, key string) (time.Time, error) {
			// The key lives 20ms more; latency counts from its expiry.
			err := c.PExpire(ctx, key, 20*time.Millisecond).Err()
			return time.Now().Add(20 * time.Millisecond), err
		}, "old.example.com.", "NXDOMAIN"},
	{"FLUSHDB",
		func(c *redis.Client, key string) error { return c.Set(ctx, key, "old.example.com", 0).Err() },
		func(c *redis.Client, key string) (time.Time, error) {
			err := c.FlushDB(ctx).Err()
			return time.Now(), err
		}, "old.example.com.", "NXDOMAIN"},
}

// answerOf asks name's PTR and returns the target or the rcode.
func answerOf(s *corednstest.Server, name string) (string, error) {
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypePTR)
	r, err := s.Exchange("udp", m)
	if err != nil {
		return "", err
	}
	if len(r.Answer) == 0 {
		return dns.RcodeToString[r.Rcode], nil
	}
	return r.Answer[0].(*dns.PTR).Ptr, nil
}

func propagation(e *env) error {
	s, err := e.start("rptr", fmt.Sprintf(".:{dns} {\n    rptr 10.0.0.0/8 {\n        redis %s\n    }\n}\n", e.redis.URL(0)))
	if err != nil {
		return err
	}
	c := e.redis.Client(0)
	defer c.Close()
	n := *rounds * 100
	fmt.Printf("Machine: %s. Cache on (the default); %d changes of each kind, each made with a Redis client and then polled through the DNS server until the answer shows it.\n\n", machine(), n)
	fmt.Println("| change | p50 | p99 | max | target p99 | met |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | --- |")
	for _, ch := range changes {
		var lat []time.Duration
		for i := range n {
			addr := netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)})
			key, name := "rptr:ptr:"+addr.String(), reverse.AddrName(addr)
			if err := ch.setup(c, key); err != nil {
				return err
			}
			// The answer before the change, read until it shows, so that
			// the server holds it in its cache.
			if err := waitAnswer(s, name, ch.before, 2*time.Second); err != nil {
				return fmt.Errorf("%s, before: %w", ch.name, err)
			}
			effective, err := ch.apply(c, key)
			if err != nil {
				return err
			}
			if err := waitAnswer(s, name, ch.after, 5*time.Second); err != nil {
				return fmt.Errorf("%s, after: %w", ch.name, err)
			}
			lat = append(lat, max(0, time.Since(effective)))
		}
		p99 := percentile(lat, 99)
		met := "yes"
		if p99 > 100*time.Millisecond {
			met = "**no**"
		}
		fmt.Printf("| %s | %v | %v | %v | 100ms | %s |\n", ch.name, percentile(lat, 50).Round(time.Microsecond),
			p99.Round(time.Microsecond), percentile(lat, 100).Round(time.Microsecond), met)
		fmt.Fprintf(os.Stderr, "%s done\n", ch.name)
	}
	return nil
}

// waitAnswer polls name until it answers want.
func waitAnswer(s *corednstest.Server, name, want string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		got, err := answerOf(s, name)
		if err == nil && got == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s answers %q (%v), want %q after %v", name, got, err, want, limit)
		}
		time.Sleep(200 * time.Microsecond)
	}
}
