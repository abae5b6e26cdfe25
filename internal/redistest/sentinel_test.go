package redistest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestSentinel(t *testing.T) {
	t.Parallel()
	opts := SentinelOptions{Name: "rptr", Password: "data-pw", SentinelPassword: "sentinel-pw"}
	s, err := StartSentinel(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	const db = 2
	opt, err := redis.ParseFailoverURL(s.URL(db))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewFailoverClient(opt)
	defer c.Close()
	ctx := context.Background()
	// Many writes just before the failover, so that a replica promoted
	// before it has caught up would lose some.
	before := make([]string, 1000)
	pipe := c.Pipeline()
	for i := range before {
		before[i] = fmt.Sprint("before", i)
		pipe.Set(ctx, before[i], "1", 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}

	first := s.Master
	for round, write := range []string{"after1", "after2"} {
		old := s.Master
		if err := s.Failover(); err != nil {
			t.Fatalf("failover %d: %v", round+1, err)
		}
		if s.Master == old || s.Replica != old {
			t.Fatalf("failover %d: master %s, replica %s; want the old master %s as replica", round+1, s.Master.Addr, s.Replica.Addr, old.Addr)
		}
		// The client learns of the new master from the sentinels.
		if err := c.Set(ctx, write, "1", 0).Err(); err != nil {
			t.Fatalf("SET after failover %d: %v", round+1, err)
		}
		direct := s.Master.Client(db)
		got, err := direct.Get(ctx, write).Result()
		direct.Close()
		if err != nil || got != "1" {
			t.Fatalf("GET %s on the new master %s = %q, %v", write, s.Master.Addr, got, err)
		}
		if got, err := c.Get(ctx, write).Result(); err != nil || got != "1" {
			t.Fatalf("GET %s through the failover client = %q, %v", write, got, err)
		}
		if n, err := c.Exists(ctx, before...).Result(); err != nil || n != int64(len(before)) {
			t.Fatalf("after failover %d, %d of %d keys written before are there (%v)", round+1, n, len(before), err)
		}
	}
	if s.Master != first {
		t.Errorf("two failovers did not bring back the first master")
	}
	sc := s.Client(db)
	defer sc.Close()
	if got, err := sc.Get(ctx, "after2").Result(); err != nil || got != "1" {
		t.Errorf("GET through Client = %q, %v", got, err)
	}

	// A restarted sentinel must get its short timing again.
	n := s.Sentinels[2]
	if err := n.Restart(); err != nil {
		t.Fatal(err)
	}
	nc := n.Client(0) // a plain client, for Do
	defer nc.Close()
	// go-redis speaks RESP3, in which the reply is a map.
	timing, err := nc.Do(ctx, "sentinel", "debug").Result()
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := timing.(map[any]any); !ok || fmt.Sprint(m["INFO-PERIOD"]) != "1000" {
		t.Errorf("SENTINEL DEBUG after Restart = %v, want INFO-PERIOD 1000", timing)
	}
}

func TestStartSentinelRefusesSpaces(t *testing.T) {
	for _, opts := range []SentinelOptions{{Name: "my master"}, {Password: "a b"}, {SentinelPassword: `a"b`}} {
		if s, err := StartSentinel(opts); err == nil {
			s.Stop()
			t.Errorf("StartSentinel(%+v) succeeded", opts)
		}
	}
}

func TestSentinelURL(t *testing.T) {
	s := &Sentinel{Name: "rptr", Sentinels: []*Server{{Addr: "127.0.0.1:7001"}, {Addr: "127.0.0.1:7002"}, {Addr: "127.0.0.1:7003"}}}
	if got, want := s.URL(0), "redis://127.0.0.1:7001/0?master_name=rptr&addr=127.0.0.1:7002&addr=127.0.0.1:7003"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	s.opts = SentinelOptions{Password: "d&t a", SentinelPassword: "s@nt:nel"}
	opt, err := redis.ParseFailoverURL(s.URL(5))
	if err != nil {
		t.Fatal(err)
	}
	if opt.MasterName != "rptr" || opt.DB != 5 || !slices.Equal(opt.SentinelAddrs, s.SentinelAddrs()) ||
		opt.Password != s.opts.Password || opt.SentinelPassword != s.opts.SentinelPassword ||
		opt.Username != "" || opt.SentinelUsername != "" {
		t.Errorf("URL %s parses to %+v", s.URL(5), opt)
	}
}

func TestConfQuote(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:    `"plain"`,
		`a "b" \c`: `"a \"b\" \\c"`,
	} {
		if got := confQuote(in); got != want {
			t.Errorf("confQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
