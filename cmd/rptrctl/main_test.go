package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/rptr-dns/rptr/internal/redistest"
)

// rdb is the redis-server the tests share; each test uses its own prefix.
var rdb *redistest.Server

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		// Fuzzing needs no Redis, and each fuzz worker process would start
		// one of its own.
		os.Exit(m.Run())
	}
	var err error
	if rdb, err = redistest.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	rdb.Stop()
	os.Exit(code)
}

// env is one test's view of rptrctl: its prefix in the shared Redis.
type env struct {
	t      *testing.T
	prefix string
	redis  *redis.Client
}

func newEnv(t *testing.T) *env {
	c := rdb.Client(0)
	t.Cleanup(func() { c.Close() })
	return &env{t: t, prefix: "ctl-" + strings.ReplaceAll(t.Name(), "/", "-") + ":", redis: c}
}

// ctl runs rptrctl against the test's Redis and prefix, with stdin, and
// returns what it wrote and its exit code.
func (e *env) ctl(stdin string, args ...string) (stdout, stderr string, code int) {
	e.t.Helper()
	var out, errOut bytes.Buffer
	all := append([]string{"--redis", rdb.URL(0), "--prefix", e.prefix}, args...)
	code = run(context.Background(), all, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), code
}

// must runs rptrctl and fails the test unless it exits with want.
func (e *env) must(want int, args ...string) string {
	e.t.Helper()
	out, errOut, code := e.ctl("", args...)
	if code != want {
		e.t.Fatalf("rptrctl %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errOut)
	}
	return out
}

// key returns the test's key of the address text.
func (e *env) key(ip string) string { return e.prefix + "ptr:" + ip }
