package redistest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelOptions configure StartSentinel.
type SentinelOptions struct {
	// Name is the name the sentinels monitor the master under; "mymaster"
	// when empty.
	Name string
	// Password, when set, is required by the master and the replica
	// (requirepass), used between them (masterauth, in both directions so
	// that a failover can turn them around) and by the sentinels to reach
	// them (sentinel auth-pass).
	Password string
	// SentinelPassword, when set, is required by the sentinels themselves
	// (requirepass), and used by each to reach the others (sentinel
	// sentinel-pass).
	SentinelPassword string
}

// Sentinel is a master, one replica and three sentinels watching them with
// quorum 2, each a redis-server on a loopback port.
type Sentinel struct {
	// Name is the master's name in the sentinels.
	Name string
	// Master and Replica are the data nodes; Failover swaps them.
	Master, Replica *Server
	// Sentinels are the redis-servers in sentinel mode.
	Sentinels []*Server

	opts SentinelOptions
}

// sentinelTiming shortens the sentinels' internal periods with SENTINEL
// DEBUG (Redis 7), which has no config-file form. With the defaults a
// sentinel asks replicas for INFO only every 10 s and waits 4 hello periods
// (8 s) before it demotes a former master, so a failover takes 10 to 20 s;
// with these it takes 3 to 5.
var sentinelTiming = []any{"sentinel", "debug", "info-period", 1000, "publish-period", 500}

// StartSentinel starts a master, a replica of it and three sentinels, and
// waits until the replica is in sync and every sentinel knows the replica
// and the two other sentinels, so that a failover can happen at once. Stop
// it with Stop.
func StartSentinel(opts SentinelOptions) (*Sentinel, error) {
	if opts.Name == "" {
		opts.Name = "mymaster"
	}
	for _, v := range []string{opts.Name, opts.Password, opts.SentinelPassword} {
		// Redis 7.0 sentinels rewrite their config file with the name and
		// the passwords unquoted, and then cannot read it at restart.
		if strings.ContainsAny(v, " \t\r\n\"'\\") {
			return nil, fmt.Errorf("sentinel name or password %q: must not contain spaces, quotes or backslashes", v)
		}
	}
	s := &Sentinel{Name: opts.Name, opts: opts}
	// A master waits repl-diskless-sync-delay (5 s) for more replicas
	// before it starts a full sync; there are no more to wait for, and the
	// wait comes again after each failover.
	args := []string{"--repl-diskless-sync-delay", "0"}
	if opts.Password != "" {
		args = append(args, "--requirepass", opts.Password, "--masterauth", opts.Password)
	}
	var err error
	if s.Master, err = Start(args...); err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(s.Master.Addr)
	if s.Replica, err = Start(append(args, "--replicaof", "127.0.0.1", port)...); err != nil {
		s.Stop()
		return nil, err
	}
	// Sentinels started before the replica is in sync would first see a
	// master without replicas.
	err = waitFor(10*time.Second, "replica to sync", func(ctx context.Context) error {
		return following(ctx, s.Replica, s.Master)
	})
	if err != nil {
		s.Stop()
		return nil, err
	}
	for range 3 {
		n, err := s.startSentinelNode()
		if err != nil {
			s.Stop()
			return nil, err
		}
		s.Sentinels = append(s.Sentinels, n)
	}
	if err := waitFor(20*time.Second, "sentinels to know each other and the replica", s.watching); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Sentinel) startSentinelNode() (*Server, error) {
	dir, err := newDir()
	if err != nil {
		return nil, err
	}
	n := &Server{dir: dir, password: s.opts.SentinelPassword, onStart: [][]any{sentinelTiming}}
	conf := filepath.Join(dir, "sentinel.conf")
	err = n.launch(func(port int) ([]string, error) {
		// Each sentinel has its own file because it rewrites it with what it
		// learns; it is written anew for each port tried.
		return []string{conf, "--sentinel"}, os.WriteFile(conf, s.sentinelConf(port, dir), 0o600)
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return n, nil
}

func (s *Sentinel) sentinelConf(port int, dir string) []byte {
	_, masterPort, _ := net.SplitHostPort(s.Master.Addr)
	name := s.Name
	lines := []string{
		"port " + strconv.Itoa(port),
		"bind 127.0.0.1",
		"dir " + confQuote(dir),
		"daemonize no",
		"sentinel resolve-hostnames no",
		"sentinel monitor " + name + " 127.0.0.1 " + masterPort + " 2",
		// Short, so that a test of a dead master does not wait long.
		"sentinel down-after-milliseconds " + name + " 1000",
		"sentinel failover-timeout " + name + " 5000",
		"sentinel parallel-syncs " + name + " 1",
	}
	if p := s.opts.Password; p != "" {
		lines = append(lines, "sentinel auth-pass "+name+" "+confQuote(p))
	}
	if p := s.opts.SentinelPassword; p != "" {
		lines = append(lines, "requirepass "+confQuote(p), "sentinel sentinel-pass "+confQuote(p))
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}

// confQuote quotes v for a redis.conf line, which may contain spaces and
// quotes inside double quotes with backslash escapes.
func confQuote(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`)
	return `"` + r.Replace(v) + `"`
}

// watching reports a sentinel that does not yet see the master healthy,
// one replica and two other sentinels: with fewer, quorum 2 cannot be
// reached or there is nothing to promote.
func (s *Sentinel) watching(ctx context.Context) error {
	for _, n := range s.Sentinels {
		sc := s.sentinelClient(n)
		m, err := sc.Master(ctx, s.Name).Result()
		sc.Close()
		if err != nil {
			return fmt.Errorf("sentinel %s: %w", n.Addr, err)
		}
		addr := net.JoinHostPort(m["ip"], m["port"])
		if addr != s.Master.Addr || m["flags"] != "master" || m["num-slaves"] != "1" || m["num-other-sentinels"] != "2" {
			return fmt.Errorf("sentinel %s sees master %s flags %s with %s replicas and %s other sentinels",
				n.Addr, addr, m["flags"], m["num-slaves"], m["num-other-sentinels"])
		}
	}
	return nil
}

func (s *Sentinel) sentinelClient(n *Server) *redis.SentinelClient {
	return redis.NewSentinelClient(&redis.Options{Addr: n.Addr, Password: s.opts.SentinelPassword})
}

// Failover waits until the replica has every write the master took before
// the call, has a sentinel promote it (SENTINEL FAILOVER), waits until all
// sentinels name it as master, it accepts writes, and the former master
// has become its replica in sync, as every sentinel sees, so that Failover
// can be called again; then it swaps Master and Replica. Writes made while
// it runs may be lost, as in a real failover.
func (s *Sentinel) Failover() error {
	promoted, demoted := s.Replica, s.Master
	deadline := time.Now().Add(20 * time.Second)
	// SENTINEL FAILOVER promotes the replica at once, and replication is
	// asynchronous: writes the master took just before would be lost, and
	// a test could not rely on them.
	if err := caughtUp(promoted, demoted); err != nil {
		return err
	}
	sc := s.sentinelClient(s.Sentinels[0])
	defer sc.Close()
	// The sentinel refuses while it doubts the replica (NOGOODSLAVE) or a
	// failover is still running (INPROG); both pass.
	err := waitFor(5*time.Second, "SENTINEL FAILOVER", func(ctx context.Context) error {
		return sc.Failover(ctx, s.Name).Err()
	})
	if err != nil {
		return err
	}
	err = waitFor(time.Until(deadline), "sentinels to name "+promoted.Addr+" master", func(ctx context.Context) error {
		for _, n := range s.Sentinels {
			sc := s.sentinelClient(n)
			hp, err := sc.GetMasterAddrByName(ctx, s.Name).Result()
			sc.Close()
			if err != nil {
				return fmt.Errorf("sentinel %s: %w", n.Addr, err)
			}
			if addr := net.JoinHostPort(hp[0], hp[1]); addr != promoted.Addr {
				return fmt.Errorf("sentinel %s names %s", n.Addr, addr)
			}
		}
		return writable(ctx, promoted)
	})
	if err != nil {
		return err
	}
	err = waitFor(time.Until(deadline), demoted.Addr+" to become a replica", func(ctx context.Context) error {
		if err := following(ctx, demoted, promoted); err != nil {
			return err
		}
		return s.replicaSeen(ctx, demoted)
	})
	if err != nil {
		return err
	}
	s.Master, s.Replica = promoted, demoted
	return nil
}

// caughtUp waits until replica has applied every write master had taken
// when it was called. The master's offset is read once because it keeps
// growing: the sentinels publish hello messages through it.
func caughtUp(replica, master *Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	mc := master.Client(0)
	info, err := mc.Info(ctx, "replication").Result()
	mc.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", master.Addr, err)
	}
	target, err := strconv.ParseInt(infoField(info, "master_repl_offset"), 10, 64)
	if err != nil {
		return fmt.Errorf("%s: master_repl_offset: %w", master.Addr, err)
	}
	return waitFor(5*time.Second, replica.Addr+" to catch up with "+master.Addr, func(ctx context.Context) error {
		c := replica.Client(0)
		defer c.Close()
		info, err := c.Info(ctx, "replication").Result()
		if err != nil {
			return fmt.Errorf("%s: %w", replica.Addr, err)
		}
		at, err := strconv.ParseInt(infoField(info, "slave_repl_offset"), 10, 64)
		if err != nil {
			return fmt.Errorf("%s: slave_repl_offset: %w", replica.Addr, err)
		}
		if at < target {
			return fmt.Errorf("%s is at offset %d of %d", replica.Addr, at, target)
		}
		return nil
	})
}

// following reports whether replica is a replica of master with its link
// up.
func following(ctx context.Context, replica, master *Server) error {
	c := replica.Client(0)
	defer c.Close()
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return fmt.Errorf("%s: %w", replica.Addr, err)
	}
	role := infoField(info, "role")
	addr := net.JoinHostPort(infoField(info, "master_host"), infoField(info, "master_port"))
	link := infoField(info, "master_link_status")
	if role != "slave" || addr != master.Addr || link != "up" {
		return fmt.Errorf("%s: role %s of %s, link %s", replica.Addr, role, addr, link)
	}
	return nil
}

// writable reports whether n takes a write. DEL of a key that does not
// exist changes nothing but is refused with READONLY by a replica.
func writable(ctx context.Context, n *Server) error {
	c := n.Client(0)
	defer c.Close()
	if err := c.Del(ctx, "redistest:probe").Err(); err != nil {
		return fmt.Errorf("%s: %w", n.Addr, err)
	}
	return nil
}

// replicaSeen reports a sentinel that does not list replica as a healthy
// replica in sync: until it does, it would not choose it for promotion.
func (s *Sentinel) replicaSeen(ctx context.Context, replica *Server) error {
	for _, n := range s.Sentinels {
		sc := s.sentinelClient(n)
		rs, err := sc.Replicas(ctx, s.Name).Result()
		sc.Close()
		if err != nil {
			return fmt.Errorf("sentinel %s: %w", n.Addr, err)
		}
		seen := false
		for _, r := range rs {
			if net.JoinHostPort(r["ip"], r["port"]) == replica.Addr {
				seen = r["flags"] == "slave" && r["role-reported"] == "slave" && r["master-link-status"] == "ok"
			}
		}
		if !seen {
			return fmt.Errorf("sentinel %s does not yet see %s as a healthy replica: %v", n.Addr, replica.Addr, rs)
		}
	}
	return nil
}

// SentinelAddrs returns the sentinels' addresses, host:port on 127.0.0.1.
func (s *Sentinel) SentinelAddrs() []string {
	addrs := make([]string, len(s.Sentinels))
	for i, n := range s.Sentinels {
		addrs[i] = n.Addr
	}
	return addrs
}

// URL returns database db in the form go-redis's ParseFailoverURL reads:
// redis://[:sentinel-password@]S1/DB?master_name=NAME&addr=S2&addr=S3[&password=PASSWORD].
func (s *Sentinel) URL(db int) string {
	addrs := s.SentinelAddrs()
	u := url.URL{Scheme: "redis", Host: addrs[0], Path: "/" + strconv.Itoa(db)}
	if s.opts.SentinelPassword != "" {
		u.User = url.UserPassword("", s.opts.SentinelPassword)
	}
	// Written by hand, in this order, rather than with url.Values.Encode,
	// which sorts the keys and turns each ':' into %3A.
	q := "master_name=" + url.QueryEscape(s.Name)
	for _, a := range addrs[1:] {
		q += "&addr=" + a
	}
	if s.opts.Password != "" {
		q += "&password=" + url.QueryEscape(s.opts.Password)
	}
	u.RawQuery = q
	return u.String()
}

// Client returns a failover client for database db that asks the sentinels
// for the current master; the caller closes it.
func (s *Sentinel) Client(db int) *redis.Client {
	return redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:       s.Name,
		SentinelAddrs:    s.SentinelAddrs(),
		SentinelPassword: s.opts.SentinelPassword,
		Password:         s.opts.Password,
		DB:               db,
	})
}

// Stop stops the sentinels and the data nodes and removes their
// directories. The sentinels go first, so they do not fail over to a node
// about to be stopped.
func (s *Sentinel) Stop() {
	for _, n := range s.Sentinels {
		n.Stop()
	}
	for _, n := range []*Server{s.Master, s.Replica} {
		if n != nil {
			n.Stop()
		}
	}
}
