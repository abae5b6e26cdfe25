package redistest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestCluster(t *testing.T) {
	t.Parallel()
	const pw = "cluster pw"
	c, err := StartCluster(3, "--requirepass", pw, "--masterauth", pw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)

	opt, err := redis.ParseClusterURL(c.URL())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(opt.Addrs, c.Addrs()) || opt.Password != pw {
		t.Fatalf("URL %s parses to addrs %v, password %q; want %v, %q", c.URL(), opt.Addrs, opt.Password, c.Addrs(), pw)
	}
	rc := redis.NewClusterClient(opt)
	defer rc.Close()
	ctx := context.Background()
	const n = 100
	for i := range n {
		if err := rc.Set(ctx, fmt.Sprint("key", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	cc := c.Client()
	defer cc.Close()
	for i := range n {
		if got, err := cc.Get(ctx, fmt.Sprint("key", i)).Int(); err != nil || got != i {
			t.Fatalf("GET key%d = %d, %v; want %d", i, got, err, i)
		}
	}
	// 100 keys over three equal slot ranges: each master holds some.
	total := int64(0)
	for _, node := range c.Nodes {
		nc := node.Client(0)
		size, err := nc.DBSize(ctx).Result()
		nc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if size == 0 {
			t.Errorf("master %s holds no keys", node.Addr)
		}
		total += size
	}
	if total != n {
		t.Errorf("masters hold %d keys in all, want %d", total, n)
	}
}

func TestClusterURL(t *testing.T) {
	c := &Cluster{Nodes: []*Server{{Addr: "127.0.0.1:7001"}, {Addr: "127.0.0.1:7002"}, {Addr: "127.0.0.1:7003"}}}
	if got, want := c.URL(), "redis://127.0.0.1:7001?addr=127.0.0.1:7002&addr=127.0.0.1:7003"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	c.password = "p@ss word"
	opt, err := redis.ParseClusterURL(c.URL())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(opt.Addrs, c.Addrs()) || opt.Password != c.password || opt.Username != "" {
		t.Errorf("URL %s parses to addrs %v, user %q, password %q", c.URL(), opt.Addrs, opt.Username, opt.Password)
	}
}

func TestStartClusterTooSmall(t *testing.T) {
	if _, err := StartCluster(2); err == nil {
		t.Error("StartCluster(2) succeeded")
	}
}

func TestSlotMap(t *testing.T) {
	node := func(port int64, role, health string) redis.Node {
		return redis.Node{IP: "127.0.0.1", Port: port, Role: role, Health: health}
	}
	shard := func(start, end int64, nodes ...redis.Node) redis.ClusterShard {
		return redis.ClusterShard{Slots: []redis.SlotRange{{Start: start, End: end}}, Nodes: nodes}
	}
	a, b := node(7001, "master", "online"), node(7002, "master", "online")
	for _, tc := range []struct {
		name   string
		shards []redis.ClusterShard
		want   string // "" when an error is wanted
	}{
		{"covered, out of order", []redis.ClusterShard{shard(8192, 16383, b), shard(0, 8191, a, node(7003, "replica", "online"))},
			"0-8191@127.0.0.1:7001 8192-16383@127.0.0.1:7002"},
		{"gap", []redis.ClusterShard{shard(0, 8190, a), shard(8192, 16383, b)}, ""},
		{"short", []redis.ClusterShard{shard(0, 8191, a), shard(8192, 16382, b)}, ""},
		{"overlap", []redis.ClusterShard{shard(0, 8192, a), shard(8192, 16383, b)}, ""},
		{"master failed", []redis.ClusterShard{shard(0, 8191, a), shard(8192, 16383, node(7002, "master", "fail"))}, ""},
		{"none", nil, ""},
	} {
		got, err := slotMap(tc.shards)
		if tc.want == "" && err == nil {
			t.Errorf("%s: slotMap = %q, want an error", tc.name, got)
		}
		if tc.want != "" && (err != nil || got != tc.want) {
			t.Errorf("%s: slotMap = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}
