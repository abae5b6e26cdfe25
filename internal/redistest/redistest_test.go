package redistest

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestStartWithPassword(t *testing.T) {
	t.Parallel()
	s, err := Start("--requirepass", "a pw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	if got, want := s.URL(3), "redis://:a%20pw@"+s.Addr+"/3"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	opt, err := redis.ParseURL(s.URL(3))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	anon := redis.NewClient(&redis.Options{Addr: s.Addr, DB: 3})
	defer anon.Close()
	if err := anon.Get(ctx, "k").Err(); err == nil {
		t.Error("GET without the password succeeded")
	}
}

func TestPauseResume(t *testing.T) {
	t.Parallel()
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	// The context's deadline bounds the wait only with
	// ContextTimeoutEnabled; otherwise ReadTimeout (3 s) would.
	c := redis.NewClient(&redis.Options{Addr: s.Addr, ContextTimeoutEnabled: true, MaxRetries: -1})
	defer c.Close()
	ping := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		return c.Ping(ctx).Err()
	}
	if err := ping(); err != nil {
		t.Fatalf("PING before Pause: %v", err)
	}
	if err := s.Pause(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := ping(); err == nil {
		t.Fatal("PING answered while paused")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("PING on a paused server took %v, want the context's 300ms", d)
	}
	if err := s.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := ping(); err != nil {
		t.Fatalf("PING after Resume: %v", err)
	}

	// A paused server must still die, or Stop would hang the test.
	if err := s.Pause(); err != nil {
		t.Fatal(err)
	}
	killed := make(chan struct{})
	go func() { s.Kill(); close(killed) }()
	select {
	case <-killed:
	case <-time.After(5 * time.Second):
		t.Fatal("Kill of a paused server did not return within 5s")
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := ping(); err != nil {
		t.Fatalf("PING after Restart: %v", err)
	}
}
