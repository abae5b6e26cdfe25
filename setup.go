package rptr

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	pkgtls "github.com/coredns/coredns/plugin/pkg/tls"
	"github.com/miekg/dns"
	"golang.org/x/time/rate"

	"github.com/rptr-dns/rptr/ptrcache"
	"github.com/rptr-dns/rptr/ptrstore"
	"github.com/rptr-dns/rptr/reverse"
)

func init() { plugin.Register(pluginName, setup) }

func setup(c *caddy.Controller) error {
	p, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	c.OnStartup(p.start)
	c.OnShutdown(p.stop)
	dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
		p.Next = next
		return p
	})
	return nil
}

// Defaults of the Corefile options.
const (
	defaultTTL     = 3600
	defaultTimeout = 500 * time.Millisecond
)

// newRPTR returns a handler with every option at its default.
func newRPTR() *RPTR {
	r, err := ptrstore.ParseRedis(ptrstore.ModeServer, ptrstore.DefaultURL)
	if err != nil {
		panic(err) // the default URL is a constant that parses
	}
	return &RPTR{
		ttl:         defaultTTL,
		redisConfig: ptrstore.Config{Redis: r, Prefix: ptrstore.DefaultPrefix, Timeout: defaultTimeout, Observe: observeRedis},
		apex: apex{
			serial:  uint32(time.Now().Unix()),
			refresh: defaultRefresh,
			retry:   defaultRetry,
			expire:  defaultExpire,
			minimum: defaultMinimum,
			ttl:     defaultTTL,
		},
		cacheSize: ptrcache.DefaultSize,
		cacheTTL:  ptrcache.DefaultSafetyTTL,
		warnings:  rate.NewLimiter(rate.Every(time.Second), 10),
		failures:  rate.NewLimiter(rate.Every(5*time.Second), 1),
	}
}

// parse reads the rptr block of a server block. It does no I/O.
func parse(c *caddy.Controller) (*RPTR, error) {
	p := newRPTR()
	for i := 0; c.Next(); i++ {
		if i > 0 {
			return nil, plugin.ErrOnce
		}
		line := c.Line()
		args := c.RemainingArgs()
		ttlSet := false
		var (
			lines   []*synthLine
			tlsOpts tlsOptions
		)
		for c.NextBlock() {
			var err error
			switch c.Val() {
			case "redis":
				err = parseRedis(c, p)
			case "tls":
				err = tlsOpts.parse(c)
			case "tls_servername":
				err = tlsOpts.parseServerName(c)
			case "on_error":
				err = parseOnError(c, p)
			case "stale":
				err = parseStale(c, p)
			case "prefix":
				err = parsePrefix(c, p)
			case "ttl":
				p.ttl, err = parseTTL(c)
				ttlSet = true
			case "ns":
				p.apex.ns, err = parseNames(c, 1, -1)
			case "soa":
				err = parseSOA(c, &p.apex)
			case "cache":
				err = parseCache(c, p)
			case "timeout":
				err = parseTimeout(c, p)
			case "synthesize":
				var l *synthLine
				if l, err = parseSynthesize(c); err == nil {
					lines = append(lines, l)
				}
			case "fallthrough":
				p.Fall.SetZonesFromArgs(c.RemainingArgs())
			default:
				return nil, c.Errf("unknown property %q", c.Val())
			}
			if err != nil {
				return nil, err
			}
		}
		if ttlSet {
			p.apex.ttl = p.ttl
		}
		// These are settled once the whole block is read; the mistake is
		// reported at the directive's line.
		blockErr := func(err error) error {
			return fmt.Errorf("%s:%d - Error during parsing: %v", c.File(), line, err)
		}
		if err := tlsOpts.apply(&p.redisConfig.Redis); err != nil {
			return nil, blockErr(err)
		}
		if p.stale > 0 && p.cacheSize == 0 {
			return nil, blockErr(errors.New(`stale answers come from the cache, which "cache 0" turns off`))
		}
		if err := p.setZones(args, c.ServerBlockKeys, lines); err != nil {
			return nil, blockErr(err)
		}
	}
	return p, nil
}

// setZones settles the zones rptr serves: the reverse zones from args or
// the server block, and the zones of the synthesize templates.
func (p *RPTR) setZones(args, serverBlock []string, lines []*synthLine) error {
	forward := map[string][]*synthLine{}
	var forwardOrigins []string
	for _, l := range lines {
		z := l.tmpl.Zone()
		if forward[z] == nil {
			forwardOrigins = append(forwardOrigins, z)
		}
		forward[z] = append(forward[z], l)
	}
	revZones, err := zoneOrigins(args, serverBlock, forwardOrigins)
	if err != nil {
		return err
	}
	var prefixes []netip.Prefix
	for _, rz := range revZones {
		p.zones = append(p.zones, zone{origin: rz.Origin, prefix: rz.Prefix, classless: rz.Classless})
		p.origins = append(p.origins, rz.Origin)
		prefixes = append(prefixes, rz.Prefix)
	}
	for _, o := range forwardOrigins {
		p.zones = append(p.zones, zone{origin: o, forward: forward[o]})
		p.origins = append(p.origins, o)
	}
	if len(lines) > 0 {
		if p.synth, err = newSynthesizer(lines, prefixes); err != nil {
			return err
		}
	}
	return nil
}

// checkZoneArgs rejects zone arguments that CoreDNS would silently drop or
// widen: malformed names and CIDRs with host bits set.
func checkZoneArgs(args []string) error {
	for _, a := range args {
		if pfx, err := netip.ParsePrefix(a); err == nil && pfx != pfx.Masked() {
			return fmt.Errorf("zone %s has host bits set; did you mean %s?", a, pfx.Masked())
		}
		if _, _, err := plugin.SplitHostPort(a); err != nil {
			return fmt.Errorf("zone %s: %v", a, err)
		}
	}
	return nil
}

// zoneOrigins turns the plugin's arguments, or else the server block's keys,
// into reverse zones. CIDRs off an octet (IPv4) or nibble (IPv6) boundary
// become several zones, as CoreDNS splits server block keys; RFC 2317
// classless zones are names like 0/25.2.0.192.in-addr.arpa. A name that is
// an ancestor of both reverse trees ("." or "arpa.") stands for both. Other
// names are allowed only when they hold one of the forward zones (the zones
// of synthesized names), which rptr serves in any case.
func zoneOrigins(args, serverBlock, forward []string) ([]reverse.Zone, error) {
	if err := checkZoneArgs(args); err != nil {
		return nil, err
	}
	var zones []reverse.Zone
	seen := map[string]bool{}
	add := func(z reverse.Zone) {
		if !seen[z.Origin] {
			seen[z.Origin] = true
			zones = append(zones, z)
		}
	}
	for _, o := range plugin.OriginsFromArgsOrServerBlock(args, serverBlock) {
		z, err := reverse.ParseZone(o)
		switch {
		case err == nil:
			add(z)
		case errors.Is(err, reverse.ErrNotReverse):
			both := dns.IsSubDomain(o, reverse.V4Suffix) && dns.IsSubDomain(o, reverse.V6Suffix)
			if both {
				add(reverse.Zone{Origin: reverse.V4Suffix, Prefix: netip.PrefixFrom(netip.IPv4Unspecified(), 0)})
				add(reverse.Zone{Origin: reverse.V6Suffix, Prefix: netip.PrefixFrom(netip.IPv6Unspecified(), 0)})
			}
			if !both && !slices.ContainsFunc(forward, func(f string) bool { return dns.IsSubDomain(o, f) }) {
				return nil, fmt.Errorf("zone %s is not a reverse zone: give a CIDR or a name under %s or %s", o, reverse.V4Suffix, reverse.V6Suffix)
			}
		default:
			return nil, fmt.Errorf("zone %s is not a reverse zone: %v", o, err)
		}
	}
	if len(zones) == 0 && len(forward) == 0 {
		return nil, errors.New("no zones")
	}
	return zones, nil
}

// parseRedis reads "redis [sentinel|cluster] URL".
func parseRedis(c *caddy.Controller, p *RPTR) error {
	args := c.RemainingArgs()
	mode := ptrstore.ModeServer
	if len(args) == 2 {
		mode = args[0]
		if mode != ptrstore.ModeSentinel && mode != ptrstore.ModeCluster {
			return c.Errf("redis %q: the mode is %s or %s", mode, ptrstore.ModeSentinel, ptrstore.ModeCluster)
		}
		args = args[1:]
	}
	if len(args) != 1 {
		return c.ArgErr()
	}
	r, err := ptrstore.ParseRedis(mode, args[0])
	if err != nil {
		if mode != ptrstore.ModeServer {
			return c.Errf("redis %s URL: %v", mode, err)
		}
		return c.Errf("redis URL: %v", err)
	}
	p.redisConfig.Redis = r
	return nil
}

// tlsOptions are the tls and tls_servername lines, applied to the Redis
// connection once the whole block is read, wherever the redis line is.
type tlsOptions struct {
	config     *tls.Config
	serverName string
}

// parse reads "tls [CERT KEY] [CA]", as CoreDNS's forward plugin does: no
// arguments trust the system's CAs, CA alone trusts that CA, CERT and KEY
// are a client certificate.
func (o *tlsOptions) parse(c *caddy.Controller) error {
	args := c.RemainingArgs()
	if len(args) > 3 {
		return c.ArgErr()
	}
	cfg, err := pkgtls.NewTLSConfigFromArgs(args...)
	if err != nil {
		return c.Errf("tls: %v", err)
	}
	o.config = cfg
	return nil
}

// parseServerName reads "tls_servername NAME", the name that Redis's
// certificate must hold when it is not the host of the URL.
func (o *tlsOptions) parseServerName(c *caddy.Controller) error {
	args := c.RemainingArgs()
	if len(args) != 1 {
		return c.ArgErr()
	}
	o.serverName = args[0]
	return nil
}

func (o *tlsOptions) apply(r *ptrstore.Redis) error {
	cfg := o.config
	if cfg == nil && o.serverName != "" {
		// A rediss:// URL turns TLS on by itself.
		if cfg = r.TLS(); cfg == nil {
			return errors.New("tls_servername without tls or a rediss:// URL")
		}
	}
	if cfg == nil {
		return nil
	}
	cfg = cfg.Clone()
	cfg.ServerName = o.serverName
	r.SetTLS(cfg)
	return nil
}

// parseOnError reads "on_error servfail|fallthrough": what a query gets
// when Redis cannot be read.
func parseOnError(c *caddy.Controller, p *RPTR) error {
	args := c.RemainingArgs()
	if len(args) != 1 {
		return c.ArgErr()
	}
	switch args[0] {
	case "servfail":
		p.errorFallthrough = false
	case "fallthrough":
		p.errorFallthrough = true
	default:
		return c.Errf("on_error %q: want servfail or fallthrough", args[0])
	}
	return nil
}

// parseStale reads "stale DURATION": how long after Redis stops answering
// the cache may still serve what it held.
func parseStale(c *caddy.Controller, p *RPTR) error {
	args := c.RemainingArgs()
	if len(args) != 1 {
		return c.ArgErr()
	}
	d, err := time.ParseDuration(args[0])
	if err != nil || d < 0 {
		return c.Errf("stale %q is not a duration such as 5m", args[0])
	}
	p.stale = d
	return nil
}

// parseTimeout reads "timeout DURATION", the bound on one Redis lookup.
func parseTimeout(c *caddy.Controller, p *RPTR) error {
	args := c.RemainingArgs()
	if len(args) != 1 {
		return c.ArgErr()
	}
	d, err := time.ParseDuration(args[0])
	if err != nil || d <= 0 {
		return c.Errf("timeout %q is not a positive duration such as 500ms", args[0])
	}
	p.redisConfig.Timeout = d
	return nil
}

// parseCache reads "cache SIZE [SAFETY_TTL]".
func parseCache(c *caddy.Controller, p *RPTR) error {
	args := c.RemainingArgs()
	if len(args) < 1 || len(args) > 2 {
		return c.ArgErr()
	}
	size, err := strconv.Atoi(args[0])
	if err != nil || size < 0 {
		return c.Errf("cache size %q is not a whole number of entries", args[0])
	}
	p.cacheSize = size
	if len(args) == 2 {
		d, err := time.ParseDuration(args[1])
		if err != nil || d <= 0 {
			return c.Errf("cache safety TTL %q is not a positive duration such as 10m", args[1])
		}
		p.cacheTTL = d
	}
	return nil
}

func parsePrefix(c *caddy.Controller, p *RPTR) error {
	args := c.RemainingArgs()
	if len(args) != 1 {
		return c.ArgErr()
	}
	if args[0] == "" || strings.ContainsAny(args[0], " \t\r\n") {
		return c.Errf("prefix %q must be non-empty and hold no white space", args[0])
	}
	p.redisConfig.Prefix = args[0]
	return nil
}

func parseTTL(c *caddy.Controller) (uint32, error) {
	what := c.Val()
	args := c.RemainingArgs()
	if len(args) != 1 {
		return 0, c.ArgErr()
	}
	return parseSeconds(c, what, args[0])
}

// parseSeconds parses a TTL-like value in seconds, 0 to 2^31-1.
func parseSeconds(c *caddy.Controller, what, s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil || v > ptrstore.MaxTTL {
		return 0, c.Errf("%s %q is not a number of seconds from 0 to %d", what, s, ptrstore.MaxTTL)
	}
	return uint32(v), nil
}

// parseNames reads at least lo and at most hi (-1: any number) domain
// names and returns them absolute and lower case.
func parseNames(c *caddy.Controller, lo, hi int) ([]string, error) {
	what := c.Val()
	args := c.RemainingArgs()
	if len(args) < lo || (hi >= 0 && len(args) > hi) {
		return nil, c.ArgErr()
	}
	names := make([]string, len(args))
	for i, a := range args {
		n, err := domainName(a)
		if err != nil {
			return nil, c.Errf("%s: %v", what, err)
		}
		names[i] = n
	}
	return names, nil
}

func domainName(s string) (string, error) {
	n := dns.CanonicalName(s)
	if _, ok := dns.IsDomainName(n); !ok || n == "." {
		return "", fmt.Errorf("%q is not a domain name", s)
	}
	return n, nil
}

// parseSOA reads "soa MNAME RNAME [REFRESH RETRY EXPIRE MINIMUM]". RNAME may
// be written as a mail address, hostmaster@example.com.
func parseSOA(c *caddy.Controller, a *apex) error {
	args := c.RemainingArgs()
	if len(args) != 2 && len(args) != 6 {
		return c.Errf("soa takes MNAME RNAME and optionally REFRESH RETRY EXPIRE MINIMUM, got %d values", len(args))
	}
	mname, err := domainName(args[0])
	if err != nil {
		return c.Errf("soa MNAME: %v", err)
	}
	rname := args[1]
	if local, domain, ok := strings.Cut(rname, "@"); ok {
		if local == "" || domain == "" || strings.Contains(domain, "@") {
			return c.Errf("soa RNAME: %q is not a mail address", args[1])
		}
		rname = strings.ReplaceAll(local, ".", `\.`) + "." + domain
	}
	if rname, err = domainName(rname); err != nil {
		return c.Errf("soa RNAME: %v", err)
	}
	a.mname, a.rname = mname, rname
	if len(args) == 6 {
		timers := []*uint32{&a.refresh, &a.retry, &a.expire, &a.minimum}
		names := []string{"REFRESH", "RETRY", "EXPIRE", "MINIMUM"}
		for i, t := range timers {
			if *t, err = parseSeconds(c, "soa "+names[i], args[2+i]); err != nil {
				return err
			}
		}
	}
	return nil
}
