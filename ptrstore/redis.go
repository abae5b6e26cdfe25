package ptrstore

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Redis says how to reach Redis: exactly one of its fields is set.
type Redis struct {
	// Server is one Redis server.
	Server *redis.Options
	// Sentinel is a master that sentinels point to, and follow on failover.
	Sentinel *redis.FailoverOptions
	// Cluster is a Redis Cluster, found through some of its nodes.
	Cluster *redis.ClusterOptions
}

// Modes of ParseRedis.
const (
	ModeServer   = ""
	ModeSentinel = "sentinel"
	ModeCluster  = "cluster"
)

// ParseRedis reads how to reach Redis from a URL in go-redis's format for
// mode:
//
//   - ModeServer: redis://[USER:PASSWORD@]HOST:PORT[/DB], rediss://...
//     for TLS, or unix://[USER:PASSWORD@]PATH[?db=DB]
//   - ModeSentinel: redis://[SENTINEL_USER:SENTINEL_PASSWORD@]SENTINEL[/DB]?master_name=NAME[&addr=SENTINEL...][&username=USER&password=PASSWORD]
//   - ModeCluster: redis://[USER:PASSWORD@]NODE[?addr=NODE...]
func ParseRedis(mode, url string) (Redis, error) {
	var (
		r   Redis
		err error
	)
	switch mode {
	case ModeServer:
		r.Server, err = redis.ParseURL(url)
	case ModeSentinel:
		r.Sentinel, err = redis.ParseFailoverURL(url)
		switch o := r.Sentinel; {
		case err != nil:
		case o.MasterName == "":
			err = errors.New("the URL names no master: add ?master_name=NAME")
		case o.RouteByLatency || o.RouteRandomly || o.ReplicaOnly:
			// Tracking reports the master's writes; a replica may lag them.
			err = errors.New("lookups must read the master, which tracking watches: drop route_by_latency, route_randomly and replica_only")
		case o.TLSConfig != nil:
			// Each connection checks the name of the host it reaches.
			o.TLSConfig.ServerName = ""
		}
	case ModeCluster:
		r.Cluster, err = redis.ParseClusterURL(url)
		switch o := r.Cluster; {
		case err != nil:
		case o.ReadOnly || o.RouteByLatency || o.RouteRandomly:
			err = errors.New("lookups must read the masters, which tracking watches: drop read_only, route_by_latency and route_randomly")
		case o.TLSConfig != nil:
			o.TLSConfig.ServerName = ""
		}
	default:
		err = fmt.Errorf("unknown mode %q: want %s or %s", mode, ModeSentinel, ModeCluster)
	}
	return r, err
}

// SetTLS makes every connection use cfg. Without a server name of its own,
// cfg checks certificates against the host each connection reaches: the
// host of the URL, or, behind sentinels and in a cluster, the address of
// the master, sentinel or node.
func (r *Redis) SetTLS(cfg *tls.Config) {
	cfg = cfg.Clone()
	switch {
	case r.Server != nil:
		if cfg.ServerName == "" {
			cfg.ServerName = hostOf(r.Server.Addr)
		}
		r.Server.TLSConfig = cfg
	case r.Sentinel != nil:
		r.Sentinel.TLSConfig = cfg
	case r.Cluster != nil:
		r.Cluster.TLSConfig = cfg
	}
}

// TLS returns the TLS configuration of the connections, nil without TLS.
func (r Redis) TLS() *tls.Config {
	switch {
	case r.Server != nil:
		return r.Server.TLSConfig
	case r.Sentinel != nil:
		return r.Sentinel.TLSConfig
	case r.Cluster != nil:
		return r.Cluster.TLSConfig
	}
	return nil
}

func hostOf(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// String names the Redis deployment for log lines, without credentials.
func (r Redis) String() string {
	switch {
	case r.Server != nil:
		return fmt.Sprintf("Redis at %s", r.Server.Addr)
	case r.Sentinel != nil:
		return fmt.Sprintf("Redis master %q through sentinels %s", r.Sentinel.MasterName, strings.Join(r.Sentinel.SentinelAddrs, ","))
	case r.Cluster != nil:
		return fmt.Sprintf("Redis Cluster through %s", strings.Join(r.Cluster.Addrs, ","))
	}
	return "no Redis"
}

// client returns a client for r. Lookups bound their wait by their
// context's deadline, which go-redis ignores unless told otherwise. A
// refused connection fails at once rather than after go-redis's five dial
// attempts, which would spend the whole lookup timeout on a Redis that is
// down; URLs may still ask for more with dialer_retries.
func (r Redis) client() redis.UniversalClient {
	switch {
	case r.Sentinel != nil:
		o := *r.Sentinel
		o.ContextTimeoutEnabled = true
		o.DialerRetries = cmp.Or(o.DialerRetries, 1)
		return redis.NewFailoverClient(&o)
	case r.Cluster != nil:
		o := *r.Cluster
		o.ContextTimeoutEnabled = true
		o.DialerRetries = cmp.Or(o.DialerRetries, 1)
		return redis.NewClusterClient(&o)
	}
	o := *r.Server
	o.ContextTimeoutEnabled = true
	o.DialerRetries = cmp.Or(o.DialerRetries, 1)
	return redis.NewClient(&o)
}
