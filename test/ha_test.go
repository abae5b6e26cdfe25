package test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/redis/go-redis/v9"

	"github.com/rptr-dns/rptr/internal/corednstest"
	"github.com/rptr-dns/rptr/internal/redistest"
	"github.com/rptr-dns/rptr/reverse"
)

// spreadRecords writes n records for random addresses in 10.0.0.0/8 and
// returns them, name by reverse name.
func spreadRecords(t *testing.T, c redis.Cmdable, n int, seed uint64) map[string]string {
	t.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, 11))
	records := map[string]string{}
	for len(records) < n {
		a := netip.AddrFrom4([4]byte{10, byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
		host := fmt.Sprintf("h%d.example.net", len(records))
		if err := c.Set(ctx, "rptr:ptr:"+a.String(), host, 0).Err(); err != nil {
			t.Fatal(err)
		}
		records[reverse.AddrName(a)] = host + "."
	}
	return records
}

// checkAll queries every name of records and fails the test for each wrong
// answer.
func checkAll(t *testing.T, s *corednstest.Server, records map[string]string, when string) {
	t.Helper()
	for name, want := range records {
		if got := ptrOf(t, s, name); got != want {
			t.Errorf("%s: %s answers %s, want %s", when, name, got, want)
		}
	}
}

// aclWith creates, on every server of c, the README's least-privilege user
// with the extra rights the mode needs, and returns the user's URL
// credentials.
func aclWith(t *testing.T, nodes []*redis.Client, extra ...any) string {
	t.Helper()
	acl := append(readmeACL(t), extra...)
	for _, n := range nodes {
		if err := n.Do(context.Background(), acl...).Err(); err != nil {
			t.Fatalf("%v: %v", acl, err)
		}
	}
	return "rptr:s3cret-from-env@"
}

// TestCluster: records spread over every master of a 3-master cluster are
// served, and changes to any of them show through the cache, with the
// README's least-privilege user plus cluster|slots.
func TestCluster(t *testing.T) {
	cl := redistest.NewCluster(t, 3)
	c := cl.Client()
	defer c.Close()
	ctx := context.Background()

	var nodes []*redis.Client
	for _, n := range cl.Nodes {
		nc := n.Client(0)
		defer nc.Close()
		nodes = append(nodes, nc)
	}
	creds := aclWith(t, nodes, "+cluster|slots")
	url := strings.Replace(cl.URL(), "redis://", "redis://"+creds, 1)

	records := spreadRecords(t, c, 300, 1)
	for i, n := range nodes {
		if size := n.DBSize(ctx).Val(); size == 0 {
			t.Fatalf("master %d holds none of the records", i)
		}
	}
	s := corednstest.Start(t, coredns, fmt.Sprintf(`.:{dns} {
    rptr 10.0.0.0/8 {
        redis cluster %s
    }
}
`, url))
	waitLog(t, s, "cache on: Redis Cluster")
	checkAll(t, s, records, "cluster")
	checkAll(t, s, records, "cluster, from the cache")

	// Every change shows, whichever master holds the key.
	changed := 0
	for name := range records {
		a, err := reverse.Parse(name)
		if err != nil {
			t.Fatal(err)
		}
		host := fmt.Sprintf("changed%d.example.net", changed)
		if changed%3 == 0 {
			c.Del(ctx, "rptr:ptr:"+a.Addr().String())
			records[name] = "NXDOMAIN"
		} else {
			c.Set(ctx, "rptr:ptr:"+a.Addr().String(), host, 0)
			records[name] = host + "."
		}
		if changed++; changed == 60 {
			break
		}
	}
	for name, want := range records {
		eventually(t, s, name, want, "a change in the cluster")
	}
	if strings.Contains(s.Output(), "tracking failed") {
		t.Errorf("tracking failed:\n%s", s.Output())
	}
}

// TestSentinelFailover: behind three sentinels, a SENTINEL FAILOVER while
// queries run gives no wrong answer (at most SERVFAIL, within the timeout),
// and records written to the new master are served through the cache.
func TestSentinelFailover(t *testing.T) {
	sn, err := redistest.StartSentinel(redistest.SentinelOptions{Name: "dns", Password: "data-pw", SentinelPassword: "sentinel-pw"})
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Stop()
	c := sn.Client(0)
	defer c.Close()
	ctx := context.Background()

	// The README's least-privilege user, plus client|info, on both data
	// nodes (ACL SETUSER is not replicated).
	var nodes []*redis.Client
	for _, n := range []*redistest.Server{sn.Master, sn.Replica} {
		nc := n.Client(0)
		defer nc.Close()
		nodes = append(nodes, nc)
	}
	aclWith(t, nodes, "+client|info")
	url := strings.Replace(sn.URL(0), "password=data-pw", "username=rptr&password=s3cret-from-env", 1)

	records := spreadRecords(t, c, 50, 2)
	s := corednstest.Start(t, coredns, fmt.Sprintf(`.:{dns} {
    rptr 10.0.0.0/8 {
        redis sentinel %s
        timeout 500ms
    }
}
`, url))
	waitLog(t, s, "cache on: Redis master \"dns\"")
	checkAll(t, s, records, "before the failover")

	// Queries run through the failover; each must be right, or SERVFAIL
	// within the timeout.
	stop := make(chan struct{})
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		wrong    []string
		servfail int
	)
	names := make([]string, 0, len(records))
	for name := range records {
		names = append(names, name)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		cl := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			name := names[i%len(names)]
			m := new(dns.Msg)
			m.SetQuestion(name, dns.TypePTR)
			start := time.Now()
			r, _, err := cl.Exchange(m, s.Addr)
			took := time.Since(start)
			mu.Lock()
			switch {
			case err != nil:
				wrong = append(wrong, fmt.Sprintf("%s: %v", name, err))
			case r.Rcode == dns.RcodeServerFailure && took < 1500*time.Millisecond:
				servfail++
			case len(r.Answer) != 1 || r.Answer[0].(*dns.PTR).Ptr != records[name]:
				wrong = append(wrong, fmt.Sprintf("%s: %s %v after %v", name, dns.RcodeToString[r.Rcode], r.Answer, took))
			}
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	old := sn.Master.Addr
	if err := sn.Failover(); err != nil {
		t.Fatal(err)
	}
	if sn.Master.Addr == old {
		t.Fatalf("the master is still %s after the failover", old)
	}
	// A record written to the new master, and a changed one, are served.
	if err := c.Set(ctx, "rptr:ptr:10.255.255.1", "after-failover.example.net", 0).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, s, "1.255.255.10.in-addr.arpa.", "after-failover.example.net.", "a write after the failover")
	changedName := names[0]
	a, _ := reverse.Parse(changedName)
	mu.Lock()
	records[changedName] = "changed-after-failover.example.net."
	mu.Unlock()
	c.Set(ctx, "rptr:ptr:"+a.Addr().String(), "changed-after-failover.example.net", 0)
	waitChange := time.Now()
	for ptrOf(t, s, changedName) != "changed-after-failover.example.net." {
		if time.Since(waitChange) > 5*time.Second {
			t.Fatalf("a record changed on the new master is not served after 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	for _, w := range wrong {
		// The change above races with the query loop: the old name may
		// still be read by a query sent before the write.
		if !strings.HasPrefix(w, changedName) {
			t.Errorf("during the failover: %s", w)
		}
	}
	t.Logf("SERVFAIL answers during the failover: %d", servfail)
	checkAll(t, s, records, "after the failover")
}

// TestTLS: rptr reads records over TLS with a client certificate, checked
// against a CA that the test generates, and tracking works over TLS too.
// Without the client certificate, lookups get SERVFAIL and a log line.
func TestTLS(t *testing.T) {
	srv, files := redistest.NewTLS(t, true)
	c := srv.Client(0)
	defer c.Close()
	ctx := context.Background()
	c.Set(ctx, "rptr:ptr:10.9.0.1", "secure.example.net", 0)

	s := corednstest.Start(t, coredns, fmt.Sprintf(`.:{dns} {
    rptr 10.9.0.0/16 {
        redis rediss://%s/0
        tls %s %s %s
    }
}
`, srv.Addr, files.ClientCert, files.ClientKey, files.CA))
	eventually(t, s, "1.0.9.10.in-addr.arpa.", "secure.example.net.", "start over TLS")
	waitLog(t, s, "cache on")
	c.Set(ctx, "rptr:ptr:10.9.0.1", "changed.example.net", 0)
	eventually(t, s, "1.0.9.10.in-addr.arpa.", "changed.example.net.", "a change over TLS")

	// The server name checked is the URL's host unless tls_servername says
	// otherwise; the certificate holds 127.0.0.1 and localhost.
	named := corednstest.Start(t, coredns, fmt.Sprintf(`.:{dns} {
    rptr 10.9.0.0/16 {
        redis redis://%s/0
        tls %s %s %s
        tls_servername localhost
    }
}
`, srv.Addr, files.ClientCert, files.ClientKey, files.CA))
	eventually(t, named, "1.0.9.10.in-addr.arpa.", "changed.example.net.", "tls_servername")

	bad := corednstest.Start(t, coredns, fmt.Sprintf(`.:{dns} {
    rptr 10.9.0.0/16 {
        redis redis://%s/0
        tls %s
        tls_servername wrong.example
    }
}
`, srv.Addr, files.CA))
	if got := ptrOf(t, bad, "1.0.9.10.in-addr.arpa."); got != "SERVFAIL" {
		t.Errorf("wrong server name, no client certificate: %s, want SERVFAIL", got)
	}
	waitLog(t, bad, "cannot read rptr:ptr:10.9.0.1 from Redis at "+srv.Addr+", query answered SERVFAIL: ")
	waitLog(t, bad, "certificate")
}

// TestClusterMasterAdded: a master joins the cluster and takes slots, keys
// and all. rptr starts tracking it, so that records changed on it show
// through the cache like any other.
func TestClusterMasterAdded(t *testing.T) {
	cl := redistest.NewCluster(t, 3)
	c := cl.Client()
	defer c.Close()
	ctx := context.Background()
	s := corednstest.Start(t, coredns, fmt.Sprintf(`.:{dns} {
    rptr 10.0.0.0/8 {
        redis cluster %s
    }
}
`, cl.URL()))
	waitLog(t, s, "cache on: Redis Cluster")

	// Cached absences, spread over every slot range.
	var addrs []netip.Addr
	for i := range 200 {
		a := netip.AddrFrom4([4]byte{10, 20, byte(i), 1})
		addrs = append(addrs, a)
		if got := ptrOf(t, s, reverse.AddrName(a)); got != "NXDOMAIN" {
			t.Fatalf("%s: %s before any record", a, got)
		}
	}
	added, err := cl.AddMaster(4096)
	if err != nil {
		t.Fatal(err)
	}
	waitLog(t, s, "cache restarts, tracking follows the masters: masters changed: [")
	waitLogCount(t, s, "cache on: Redis Cluster", 2)

	moved := 0
	for _, a := range addrs {
		key := "rptr:ptr:" + a.String()
		m, err := c.MasterForKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if m.Options().Addr != added.Addr {
			continue
		}
		moved++
		// Cached again after the restart, so that only an invalidation
		// from the new master can change the answer.
		if got := ptrOf(t, s, reverse.AddrName(a)); got != "NXDOMAIN" {
			t.Fatalf("%s: %s before any record", a, got)
		}
		if err := c.Set(ctx, key, "on-new-master.example.net", 0).Err(); err != nil {
			t.Fatal(err)
		}
		eventually(t, s, reverse.AddrName(a), "on-new-master.example.net.", "a write on the new master")
	}
	if moved == 0 {
		t.Fatal("none of the addresses' keys moved to the new master")
	}
}
