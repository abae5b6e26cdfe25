package test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/redis/go-redis/v9"

	"github.com/rptr-dns/rptr/internal/corednstest"
	"github.com/rptr-dns/rptr/internal/redistest"
)

// reloadClientName names the Redis connections of the rptr instance of each
// reload, so that a connection left behind by a replaced instance shows.
const reloadClientName = "rptr-gen-"

// reloadCorefile is the Corefile of reload gen: each one serves another TTL
// and another synthesized name, and names its Redis connections after gen.
func reloadCorefile(redisURL string, gen int) string {
	return fmt.Sprintf(`.:{dns} {
    prometheus 127.0.0.1:{metrics}
    pprof 127.0.0.1:{pprof}
    rptr 10.0.0.0/24 {
        redis %s?client_name=%s%d
        cache 1000
        ttl %d
        synthesize gen%d-{ip}.example.com.
    }
}
`, redisURL, reloadClientName, gen, reloadTTL(gen), gen)
}

func reloadTTL(gen int) uint32 { return uint32(100 + gen) }

// TestReload changes the Corefile and reloads it with SIGUSR1 (the same
// restart the reload plugin makes when the file changes) ten times, and checks that each change is
// served without a restart and that the replaced instances are gone: the
// process's goroutines do not grow with the number of reloads, and Redis
// keeps the connections of the newest instance only.
func TestReload(t *testing.T) {
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	c := srv.Client(0)
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "rptr:ptr:10.0.0.1", "stored.example.com", 0).Err(); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	s, err := corednstest.Launch(dir, nil, coredns, reloadCorefile(srv.URL(0), 0), "metrics", "pprof")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	metrics := fmt.Sprintf("127.0.0.1:%d", s.Ports["metrics"])
	pprof := fmt.Sprintf("127.0.0.1:%d", s.Ports["pprof"])

	const reloads = 10
	var (
		goroutines2, clients1 int
		slowest               time.Duration
	)
	for gen := 1; gen <= reloads; gen++ {
		rewriteCorefile(t, dir, s, reloadCorefile(srv.URL(0), gen))
		start := time.Now()
		if err := s.Signal(syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		// Caddy logs this once the old instance's shutdown callbacks,
		// rptr's stop among them, have returned.
		waitLogCount(t, s, "Reloading complete", gen)
		slowest = max(slowest, time.Since(start))
		checkReloaded(t, s, gen)
		// The new instance's tracking connection is up.
		waitLogCount(t, s, "reports changes to rptr:ptr:* keys", gen+1)
		clients := redisClientsOf(t, c, gen)
		switch gen {
		case 1:
			clients1 = clients
		case 2:
			goroutines2 = settledGoroutines(t, metrics)
		case reloads:
			// A lookup and a ping at the same moment may open one more
			// pool connection; leaks show as connections of older
			// generations, which redisClientsOf checks.
			if clients > clients1+1 {
				t.Errorf("after %d reloads rptr holds %d Redis connections, after 1 it held %d:\n%s", reloads, clients, clients1, clientList(t, c))
			}
			checkGoroutines(t, metrics, pprof, goroutines2)
		}
	}
	// Stopping an instance closes its tracking connection at once, rather
	// than when its next read times out (2 s): a reload is quick.
	if slowest > 1500*time.Millisecond {
		t.Errorf("the slowest of %d reloads took %v, want well under a second", reloads, slowest)
	}
	if t.Failed() {
		t.Logf("CoreDNS log:\n%s", s.Output())
	}
}

// rewriteCorefile writes corefile over the one s runs from, in dir, with the
// placeholders s was started with filled in.
func rewriteCorefile(t *testing.T, dir string, s *corednstest.Server, corefile string) {
	t.Helper()
	_, port, _ := strings.Cut(s.Addr, ":")
	text := strings.ReplaceAll(corefile, "{dns}", port)
	for name, p := range s.Ports {
		text = strings.ReplaceAll(text, "{"+name+"}", strconv.Itoa(p))
	}
	if err := os.WriteFile(filepath.Join(dir, "Corefile"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitLogCount waits up to 10 seconds for the server to have logged text n
// times.
func waitLogCount(t *testing.T, s *corednstest.Server, text string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(s.Output(), text) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%q logged %d times, want %d; log:\n%s", text, strings.Count(s.Output(), text), n, s.Output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkReloaded checks that s serves the settings of reload gen: the TTL of
// a stored record and the synthesized name.
func checkReloaded(t *testing.T, s *corednstest.Server, gen int) {
	t.Helper()
	r := query(t, s, "udp", "1.0.0.10.in-addr.arpa.", dns.TypePTR)
	if len(r.Answer) != 1 || r.Answer[0].Header().Ttl != reloadTTL(gen) {
		t.Errorf("reload %d: stored PTR %v, want TTL %d", gen, r.Answer, reloadTTL(gen))
	}
	want := fmt.Sprintf("gen%d-10-0-0-9.example.com.", gen)
	if got := ptrOf(t, s, "9.0.0.10.in-addr.arpa."); got != want {
		t.Errorf("reload %d: synthesized PTR %s, want %s", gen, got, want)
	}
}

// redisClientsOf waits up to 5 seconds until Redis holds no connection of
// the rptr instances before gen, and returns the number of connections
// beyond c's own.
func redisClientsOf(t *testing.T, c *redis.Client, gen int) int {
	t.Helper()
	ctx := context.Background()
	current := reloadClientName + strconv.Itoa(gen)
	deadline := time.Now().Add(5 * time.Second)
	for {
		list := clientList(t, c)
		stale := 0
		for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
			name := clientField(line, "name")
			if strings.HasPrefix(name, reloadClientName) && name != current {
				stale++
			}
		}
		if stale == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after reload %d, %d Redis connections of earlier instances are still open:\n%s", gen, stale, list)
		}
		time.Sleep(50 * time.Millisecond)
	}
	info, err := c.Info(ctx, "clients").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "connected_clients:"); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			return n - int(c.PoolStats().TotalConns)
		}
	}
	t.Fatalf("no connected_clients in INFO clients:\n%s", info)
	return 0
}

func clientList(t *testing.T, c *redis.Client) string {
	t.Helper()
	list, err := c.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// clientField returns the value of field in a line of CLIENT LIST.
func clientField(line, field string) string {
	for _, kv := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(kv, field+"="); ok {
			return v
		}
	}
	return ""
}

// goroutines returns go_goroutines of the server's /metrics.
func goroutines(t *testing.T, metrics string) int {
	t.Helper()
	return int(metric(t, metrics, "go_goroutines"))
}

// settledGoroutines returns the fewest goroutines seen in a second: some of
// a replaced instance's goroutines end after the reload, and a scrape may
// catch them.
func settledGoroutines(t *testing.T, metrics string) int {
	t.Helper()
	least := goroutines(t, metrics)
	for range 10 {
		time.Sleep(100 * time.Millisecond)
		least = min(least, goroutines(t, metrics))
	}
	return least
}

// checkGoroutines waits up to 5 seconds for the goroutines to come down to
// about base, the count after 2 reloads, and reports the goroutines of the
// process when they do not.
func checkGoroutines(t *testing.T, metrics, pprof string, base int) {
	t.Helper()
	const tolerance = 3
	deadline := time.Now().Add(5 * time.Second)
	n := goroutines(t, metrics)
	for n > base+tolerance {
		if time.Now().After(deadline) {
			t.Errorf("goroutines grow with reloads: %d now, %d after 2 reloads; goroutines:\n%s", n, base, goroutineDump(t, pprof))
			return
		}
		time.Sleep(100 * time.Millisecond)
		n = goroutines(t, metrics)
	}
	t.Logf("goroutines: %d after 2 reloads, %d now", base, n)
}

// goroutineDump returns the goroutine profile of the pprof plugin at addr.
func goroutineDump(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
