package redistest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterNodeTimeout is short so that a test which kills or pauses a node
// sees the cluster notice within seconds rather than the default 15.
const clusterNodeTimeout = "2000"

// Cluster is a Redis Cluster of masters without replicas, one
// redis-server each, on loopback ports.
type Cluster struct {
	// Nodes are the masters in the order they were started. Restarting one
	// brings it back with its cluster identity and slots but no keys.
	Nodes []*Server

	password string
}

// StartCluster starts masters (at least 3) cluster-enabled redis-servers,
// each with the extra arguments (such as "--requirepass", "pw"), joins them
// into a cluster that spreads the 16384 slots over all of them, and waits
// until every node reports the cluster ok and all agree on who serves each
// slot. Stop it with Stop.
func StartCluster(masters int, extra ...string) (*Cluster, error) {
	if masters < 3 {
		// redis-cli --cluster create refuses fewer.
		return nil, fmt.Errorf("a cluster needs at least 3 masters, not %d", masters)
	}
	c := &Cluster{password: requirepass(extra)}
	for range masters {
		n, err := startClusterNode(c.password, extra)
		if err != nil {
			c.Stop()
			return nil, err
		}
		c.Nodes = append(c.Nodes, n)
	}
	if err := c.create(); err != nil {
		c.Stop()
		return nil, err
	}
	if err := waitFor(20*time.Second, "cluster to agree on its slots", c.agreed); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func startClusterNode(password string, extra []string) (*Server, error) {
	dir, err := newDir()
	if err != nil {
		return nil, err
	}
	nodesConf := filepath.Join(dir, "nodes.conf")
	s := &Server{dir: dir, password: password}
	err = s.launch(func(port int) ([]string, error) {
		// The bus port is chosen as well: the default, port+10000, may be
		// taken or beyond 65535.
		bus, err := FreePort()
		if err != nil {
			return nil, err
		}
		// A failed attempt on another port may have left a node identity
		// behind that names that port.
		os.Remove(nodesConf)
		args := append([]string{"--port", strconv.Itoa(port)}, baseArgs(dir)...)
		args = append(args,
			"--cluster-enabled", "yes",
			"--cluster-port", strconv.Itoa(bus),
			"--cluster-config-file", nodesConf,
			"--cluster-node-timeout", clusterNodeTimeout)
		return append(args, extra...), nil
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// create assigns the slots and introduces the nodes to each other, the way
// an operator would.
func (c *Cluster) create() error {
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	return c.cli(append(args, "--cluster-replicas", "0", "--cluster-yes")...)
}

// cli runs redis-cli with args, with the cluster's password.
func (c *Cluster) cli(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "redis-cli", args...)
	if c.password != "" {
		// From the environment redis-cli takes the password without
		// printing a warning about it.
		cmd.Env = append(os.Environ(), "REDISCLI_AUTH="+c.password)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("redis-cli %s: %v\n%s", strings.Join(args[:2], " "), err, out)
	}
	return nil
}

// AddMaster starts one more master, joins it to the cluster and moves
// slots of the others to it, keys included (redis-cli --cluster add-node
// and reshard), and waits until every node agrees on the new slot map.
func (c *Cluster) AddMaster(slots int, extra ...string) (*Server, error) {
	n, err := startClusterNode(c.password, extra)
	if err != nil {
		return nil, err
	}
	c.Nodes = append(c.Nodes, n)
	if err := c.cli("--cluster", "add-node", n.Addr, c.Nodes[0].Addr); err != nil {
		return nil, err
	}
	var id string
	err = waitFor(20*time.Second, "the new node to join", func(ctx context.Context) error {
		rc := n.Client(0)
		defer rc.Close()
		if id, err = rc.ClusterMyID(ctx).Result(); err != nil {
			return err
		}
		// reshard wants every node to know every other.
		return c.agreed(ctx)
	})
	if err != nil {
		return nil, err
	}
	if err := c.cli("--cluster", "reshard", c.Nodes[0].Addr, "--cluster-from", "all", "--cluster-to", id,
		"--cluster-slots", strconv.Itoa(slots), "--cluster-yes"); err != nil {
		return nil, err
	}
	return n, waitFor(20*time.Second, "cluster to agree on its slots", c.agreed)
}

// agreed reports why the cluster is not yet usable: a node that does not
// say cluster_state:ok, or whose slot map misses slots or differs from the
// first node's. redis-cli returns before every node has heard of every
// other, and a client that asks such a node is redirected wrongly.
func (c *Cluster) agreed(ctx context.Context) error {
	var first string
	for i, n := range c.Nodes {
		rc := n.Client(0)
		info, err := rc.ClusterInfo(ctx).Result()
		if err != nil {
			rc.Close()
			return fmt.Errorf("%s: %w", n.Addr, err)
		}
		shards, err := rc.ClusterShards(ctx).Result()
		rc.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", n.Addr, err)
		}
		if state := infoField(info, "cluster_state"); state != "ok" {
			return fmt.Errorf("%s: cluster_state:%s", n.Addr, state)
		}
		m, err := slotMap(shards)
		if err != nil {
			return fmt.Errorf("%s: %w", n.Addr, err)
		}
		if i == 0 {
			first = m
		} else if m != first {
			return fmt.Errorf("%s serves slots as %s, %s as %s", n.Addr, m, c.Nodes[0].Addr, first)
		}
	}
	return nil
}

// slotMap renders CLUSTER SHARDS as "start-end@master ..." in slot order,
// or fails when the ranges do not cover 0 to 16383 exactly once or a
// master is not online.
func slotMap(shards []redis.ClusterShard) (string, error) {
	type served struct {
		start, end int64
		master     string
	}
	var ranges []served
	for _, sh := range shards {
		master := ""
		for _, n := range sh.Nodes {
			if n.Role == "master" && n.Health == "online" {
				master = net.JoinHostPort(n.IP, strconv.FormatInt(n.Port, 10))
			}
		}
		for _, r := range sh.Slots {
			if master == "" {
				return "", fmt.Errorf("slots %d-%d have no online master", r.Start, r.End)
			}
			ranges = append(ranges, served{r.Start, r.End, master})
		}
	}
	slices.SortFunc(ranges, func(a, b served) int { return int(a.start - b.start) })
	var b strings.Builder
	next := int64(0)
	for _, r := range ranges {
		if r.start != next {
			return "", fmt.Errorf("slot %d is not served", next)
		}
		fmt.Fprintf(&b, "%d-%d@%s ", r.start, r.end, r.master)
		next = r.end + 1
	}
	if next != 16384 {
		return "", fmt.Errorf("slot %d is not served", next)
	}
	return strings.TrimSpace(b.String()), nil
}

// Addrs returns the nodes' addresses, host:port on 127.0.0.1.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr
	}
	return addrs
}

// URL returns the cluster in the form go-redis's ParseClusterURL reads:
// redis://[:password@]ADDR1?addr=ADDR2&addr=ADDR3...
func (c *Cluster) URL() string {
	addrs := c.Addrs()
	u := url.URL{Scheme: "redis", Host: addrs[0]}
	if c.password != "" {
		u.User = url.UserPassword("", c.password)
	}
	if len(addrs) > 1 {
		// Written by hand rather than with url.Values.Encode, which would
		// turn each ':' into %3A.
		u.RawQuery = "addr=" + strings.Join(addrs[1:], "&addr=")
	}
	return u.String()
}

// Client returns a cluster client that knows every node and the password;
// the caller closes it.
func (c *Cluster) Client() *redis.ClusterClient {
	return redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), Password: c.password})
}

// Stop stops every node and removes their directories.
func (c *Cluster) Stop() {
	for _, n := range c.Nodes {
		n.Stop()
	}
}
