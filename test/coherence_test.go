package test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/redis/go-redis/v9"

	"github.com/rptr-dns/rptr/internal/corednstest"
	"github.com/rptr-dns/rptr/internal/redistest"
)

// ptrOf returns the PTR target of name, or the rcode when there is none.
func ptrOf(t *testing.T, s *corednstest.Server, name string) string {
	t.Helper()
	r := query(t, s, "udp", name, dns.TypePTR)
	if len(r.Answer) == 0 {
		return dns.RcodeToString[r.Rcode]
	}
	return r.Answer[0].(*dns.PTR).Ptr
}

// eventually polls name until its answer is want, for at most 2 seconds,
// and returns how long that took.
func eventually(t *testing.T, s *corednstest.Server, name, want, after string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got := ptrOf(t, s, name)
		if got == want {
			return time.Since(start)
		}
		if time.Since(start) > 2*time.Second {
			t.Fatalf("after %s: %s answers %s, want %s", after, name, got, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestCoherence changes records with the cache on, in every way the README
// names, and checks that answers follow; each change must show within
// 2 seconds here (the benchmark in test/bench measures the real latency).
// Its Redis is its own, because the test restarts it.
func TestCoherence(t *testing.T) {
	for _, cache := range []string{"cache 1000", "cache 0"} {
		t.Run(cache, func(t *testing.T) {
			srv, err := redistest.Start()
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Stop()
			s := corednstest.Start(t, coredns, fmt.Sprintf(`.:{dns} {
    rptr 10.0.0.0/24 {
        redis %s
        %s
    }
}
`, srv.URL(0), cache))
			c := srv.Client(0)
			defer c.Close()
			testCoherence(t, s, srv, c, cache == "cache 0")
		})
	}
}

func testCoherence(t *testing.T, s *corednstest.Server, srv *redistest.Server, c *redis.Client, strict bool) {
	ctx := context.Background()
	const key, name = "rptr:ptr:10.0.0.7", "7.0.0.10.in-addr.arpa."
	do := func(cmd ...any) string {
		t.Helper()
		if err := c.Do(ctx, cmd...).Err(); err != nil && err != redis.Nil {
			t.Fatal(err)
		}
		return fmt.Sprint(cmd...)
	}
	check := func(after, want string) {
		t.Helper()
		if strict && after != "a restart" && after != "the key expired" {
			// Without a cache every query reads Redis: the first answer
			// after the change must show it.
			if got := ptrOf(t, s, name); got != want {
				t.Errorf("after %s: %s without a cache, want %s", after, got, want)
			}
			return
		}
		eventually(t, s, name, want, after)
	}
	check("nothing", "NXDOMAIN")
	// Prime the cache with the negative answer, then change the record.
	ptrOf(t, s, name)
	check(do("SET", key, "first.example.com"), "first.example.com.")
	check(do("SET", key, "second.example.com"), "second.example.com.")
	check(do("DEL", key), "NXDOMAIN")
	check(do("HSET", key, "ptr", "third.example.com"), "third.example.com.")
	check(do("HSET", key, "disabled", "1"), "NXDOMAIN")
	check(do("HSET", key, "disabled", "0"), "third.example.com.")
	check(do("HSET", key, "ptr", "fourth.example.com"), "fourth.example.com.")
	check(do("PEXPIRE", key, "300"), "fourth.example.com.")
	check("the key expired", "NXDOMAIN")
	check(do("SET", key, "fifth.example.com"), "fifth.example.com.")
	check(do("FLUSHDB"), "NXDOMAIN")
	check(do("SET", key, "sixth.example.com"), "sixth.example.com.")
	check(do("FLUSHALL"), "NXDOMAIN")

	// The tracking connection is killed: changes made meanwhile still show.
	check(do("SET", key, "seventh.example.com"), "seventh.example.com.")
	do("CLIENT", "KILL", "TYPE", "pubsub")
	check(do("SET", key, "eighth.example.com"), "eighth.example.com.")
	check(do("DEL", key), "NXDOMAIN")

	// Redis restarts empty: the old record is gone, new ones show.
	check(do("SET", key, "ninth.example.com"), "ninth.example.com.")
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	check("a restart", "NXDOMAIN")
	check(do("SET", key, "tenth.example.com"), "tenth.example.com.")
}

// TestNoTrackingNoCache: a Redis user that may not use client tracking gets
// a clear log line, and rptr answers from Redis on every query, so changes
// still show at once.
func TestNoTrackingNoCache(t *testing.T) {
	c := rdb.Client(0)
	defer c.Close()
	ctx := context.Background()
	prefix := prefixFor(t)
	if err := c.Do(ctx, "ACL", "SETUSER", "notrack", "on", ">pw", "resetkeys", "%R~"+prefix+"*", "nocommands",
		"+get", "+hmget", "+pttl", "+multi", "+exec", "+ping", "+hello").Err(); err != nil {
		t.Fatal(err)
	}
	s := corednstest.Start(t, coredns, fmt.Sprintf(`.:{dns} {
    rptr 10.0.0.0/24 {
        redis redis://notrack:pw@%s/0
        prefix %s
    }
}
`, rdb.Addr, prefix))
	waitLog(t, s, "cache off, every lookup reads Redis: client tracking failed")
	key, name := prefix+"ptr:10.0.0.8", "8.0.0.10.in-addr.arpa."
	for _, v := range []string{"one.example.com", "two.example.com", "three.example.com"} {
		if err := c.Set(ctx, key, v, 0).Err(); err != nil {
			t.Fatal(err)
		}
		if got := ptrOf(t, s, name); got != v+"." {
			t.Errorf("after SET %s: %s", v, got)
		}
	}
}
