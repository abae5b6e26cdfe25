package ptrstore

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rptr-dns/rptr/internal/redistest"
)

var testRedis *redistest.Server

func TestMain(m *testing.M) {
	s, err := redistest.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testRedis = s
	code := m.Run()
	s.Stop()
	os.Exit(code)
}

// newStore returns a store with a prefix of its own and a client to write
// records with.
func newStore(t *testing.T) (*Store, *redis.Client, string) {
	t.Helper()
	opts, err := ParseRedis(ModeServer, testRedis.URL(0))
	if err != nil {
		t.Fatal(err)
	}
	prefix := "t-" + t.Name() + ":"
	s := Open(Config{Redis: opts, Prefix: prefix})
	c := testRedis.Client(0)
	t.Cleanup(func() { s.Close(); c.Close() })
	return s, c, prefix
}

func TestLookup(t *testing.T) {
	s, c, prefix := newStore(t)
	ctx := context.Background()
	v4 := netip.MustParseAddr("192.0.2.10")
	v6 := netip.MustParseAddr("2001:db8::25")
	key := func(a string) string { return Key(prefix, netip.MustParseAddr(a)) }

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Set(ctx, prefix+"ptr:192.0.2.10", "mail.example.com", 0).Err())
	must(c.HSet(ctx, prefix+"ptr:2001:db8::25", "ptr", "v6.example.com.", "ttl", "300", "disabled", "0").Err())
	must(c.HSet(ctx, key("192.0.2.11"), "ptr", "off.example.com", "disabled", "true").Err())
	must(c.Set(ctx, key("192.0.2.12"), "lease.example.com", time.Hour).Err())
	must(c.Set(ctx, key("192.0.2.13"), "bad name", 0).Err())
	must(c.HSet(ctx, key("192.0.2.14"), "ttl", "300").Err())
	must(c.RPush(ctx, key("192.0.2.15"), "a").Err())
	must(c.HSet(ctx, key("192.0.2.16"), "ptr", "x.example", "ttl", "-5").Err())
	must(c.SAdd(ctx, key("192.0.2.17"), "a").Err())
	must(c.Set(ctx, key("192.0.2.18"), "b\xfcrgerhaus.example", 0).Err())

	r, err := s.Lookup(ctx, v4)
	if err != nil || r != (Record{Name: "mail.example.com."}) {
		t.Errorf("string record: %+v, %v", r, err)
	}
	r, err = s.Lookup(ctx, v6)
	if err != nil || r != (Record{Name: "v6.example.com.", TTL: 300, HasTTL: true}) {
		t.Errorf("hash record: %+v, %v", r, err)
	}
	r, err = s.Lookup(ctx, netip.MustParseAddr("192.0.2.11"))
	if err != nil || !r.Disabled {
		t.Errorf("disabled record: %+v, %v", r, err)
	}
	r, err = s.Lookup(ctx, netip.MustParseAddr("192.0.2.12"))
	if left := time.Until(r.ExpiresAt); err != nil || left < 59*time.Minute || left > time.Hour {
		t.Errorf("expiring record: %+v (%v left), %v", r, left, err)
	}
	if _, err := s.Lookup(ctx, netip.MustParseAddr("192.0.2.99")); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing key: %v, want ErrNotFound", err)
	}
	for _, a := range []string{"192.0.2.13", "192.0.2.14", "192.0.2.15", "192.0.2.16", "192.0.2.17", "192.0.2.18"} {
		_, err := s.Lookup(ctx, netip.MustParseAddr(a))
		var inv *InvalidError
		if !errors.As(err, &inv) || inv.Key != key(a) {
			t.Errorf("%s: %v, want an InvalidError naming %s", a, err, key(a))
		}
	}
}

func TestLookupRedisDown(t *testing.T) {
	opts, err := ParseRedis(ModeServer, "redis://127.0.0.1:1/0")
	if err != nil {
		t.Fatal(err)
	}
	s := Open(Config{Redis: opts, Prefix: DefaultPrefix})
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = s.Lookup(ctx, netip.MustParseAddr("192.0.2.1"))
	var inv *InvalidError
	if err == nil || errors.Is(err, ErrNotFound) || errors.As(err, &inv) {
		t.Errorf("Lookup with Redis down = %v, want a connection error", err)
	}
}

func TestKeyAddr(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want string
	}{
		{"rptr:ptr:192.0.2.10", "192.0.2.10"},
		{"rptr:ptr:2001:db8::1", "2001:db8::1"},
		{"rptr:ptr:2001:0db8::1", ""},
		{"rptr:ptr:2001:DB8::1", ""},
		{"rptr:ptr:010.0.0.1", ""},
		{"rptr:ptr:fe80::1%eth0", ""},
		{"other:ptr:192.0.2.10", ""},
		{"rptr:ptr:", ""},
	} {
		a, ok := KeyAddr("rptr:", tc.key)
		if (tc.want == "") == ok || (ok && a.String() != tc.want) {
			t.Errorf("KeyAddr(%q) = %v, %v; want %q", tc.key, a, ok, tc.want)
		}
		if ok && Key("rptr:", a) != tc.key {
			t.Errorf("Key(KeyAddr(%q)) = %q", tc.key, Key("rptr:", a))
		}
	}
}

// TestLookupTimeout: a Redis that accepts connections but never answers
// holds a lookup no longer than the configured timeout.
func TestLookupTimeout(t *testing.T) {
	addr := redistest.Silent(t)
	opts, err := ParseRedis(ModeServer, "redis://"+addr+"/0")
	if err != nil {
		t.Fatal(err)
	}
	s := Open(Config{Redis: opts, Prefix: DefaultPrefix, Timeout: 200 * time.Millisecond})
	defer s.Close()
	start := time.Now()
	_, err = s.Lookup(context.Background(), netip.MustParseAddr("192.0.2.1"))
	if took := time.Since(start); err == nil || took > time.Second {
		t.Errorf("Lookup against a silent server: %v after %v; want an error within about 200ms", err, took)
	}
}

// TestConcurrentLookupsShareBatches: many lookups at once, of every kind of
// record, each get their own answer, whatever batch they ride in.
func TestConcurrentLookupsShareBatches(t *testing.T) {
	s, c, prefix := newStore(t)
	ctx := context.Background()
	const n = 600
	for i := range n {
		a := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		key := Key(prefix, a)
		switch i % 4 {
		case 0:
			c.Set(ctx, key, fmt.Sprintf("h%d.example", i), 0)
		case 1:
			c.HSet(ctx, key, "ptr", fmt.Sprintf("h%d.example", i), "ttl", "60")
		case 2: // no record
		case 3:
			c.RPush(ctx, key, "x")
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
			rec, err := s.Lookup(ctx, a)
			var inv *InvalidError
			ok := false
			switch i % 4 {
			case 0:
				ok = err == nil && rec.Name == fmt.Sprintf("h%d.example.", i) && !rec.HasTTL
			case 1:
				ok = err == nil && rec.Name == fmt.Sprintf("h%d.example.", i) && rec.TTL == 60
			case 2:
				ok = errors.Is(err, ErrNotFound)
			case 3:
				ok = errors.As(err, &inv) && inv.Key == Key(prefix, a)
			}
			if !ok {
				errs <- fmt.Sprintf("%v: %+v, %v", a, rec, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	s.Close()
	if _, err := s.Lookup(ctx, netip.MustParseAddr("10.1.0.0")); err == nil {
		t.Error("Lookup after Close succeeded")
	}
}
