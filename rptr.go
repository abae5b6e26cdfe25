// Package rptr is a CoreDNS plugin that serves reverse DNS (PTR records
// under in-addr.arpa. and ip6.arpa.) from records kept in Redis.
package rptr

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/metrics"
	"github.com/coredns/coredns/plugin/pkg/fall"
	clog "github.com/coredns/coredns/plugin/pkg/log"
	"github.com/coredns/coredns/plugin/ready"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/rptr-dns/rptr/ptrcache"
	"github.com/rptr-dns/rptr/ptrstore"
)

const pluginName = "rptr"

var log = clog.NewWithPlugin(pluginName)

// Store looks up the PTR record of an address. *ptrstore.Store implements
// it; it returns ptrstore.ErrNotFound for an address without a record and a
// *ptrstore.InvalidError for a value that is not a valid record.
type Store interface {
	Lookup(ctx context.Context, addr netip.Addr) (ptrstore.Record, error)
}

// RPTR is the plugin handler.
type RPTR struct {
	Next plugin.Handler
	Fall fall.F

	zones   []zone
	origins []string // the zones' origins
	apex    apex
	ttl     uint32       // TTL of answers whose record sets none
	synth   *synthesizer // nil without synthesize lines

	redisConfig ptrstore.Config
	cacheSize   int           // entries; 0 turns the cache off
	cacheTTL    time.Duration // safety TTL of cache entries
	stale       time.Duration // how long the cache answers while Redis is out
	// errorFallthrough passes queries that Redis cannot answer to the next
	// plugin instead of answering SERVFAIL.
	errorFallthrough bool

	// Set on startup.
	redis          *ptrstore.Store    // closed on shutdown
	cache          *ptrcache.Cache    // nil when off
	store          Store              // the cache, or Redis itself
	stopBackground context.CancelFunc // ends the tracker and the pinger
	background     sync.WaitGroup
	redisUp        atomic.Bool // the last ping was answered
	// trackingFailed is set once a failure of tracking was logged; Track
	// makes its calls of trackingChanged one at a time.
	trackingFailed bool

	// warnings limits the log lines that clients can trigger by asking for
	// addresses whose records are invalid; failures, those of lookups that
	// Redis fails.
	warnings, failures *rate.Limiter
}

var (
	_ plugin.Handler  = (*RPTR)(nil)
	_ ready.Readiness = (*RPTR)(nil)
)

// start opens the store and, with the cache on, the cache and the tracking
// connection that keeps it coherent.
func (p *RPTR) start() error {
	p.redis = ptrstore.Open(p.redisConfig)
	p.store = p.redis
	ctx, cancel := context.WithCancel(context.Background())
	p.stopBackground = cancel
	p.background.Add(1)
	go func() {
		defer p.background.Done()
		p.watchRedis(ctx)
	}()
	if p.cacheSize == 0 {
		return nil
	}
	p.cache = ptrcache.New(p.redis, ptrcache.Config{Size: p.cacheSize, SafetyTTL: p.cacheTTL, Stale: p.stale, Metrics: cacheMetrics})
	p.store = p.cache
	liveCaches.add(p.cache)
	p.background.Add(1)
	go func() {
		defer p.background.Done()
		p.redis.Track(ctx, p.cache, p.trackingChanged)
	}()
	return nil
}

// How often readiness pings Redis, and how long a ping may take.
const (
	pingEvery   = time.Second
	pingTimeout = 500 * time.Millisecond
)

// watchRedis pings Redis until ctx ends, keeps Ready's answer, and logs
// when Redis stops or starts answering.
func (p *RPTR) watchRedis(ctx context.Context) {
	t := time.NewTicker(pingEvery)
	defer t.Stop()
	first := true
	for {
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		err := p.redis.Ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		was := p.redisUp.Swap(err == nil)
		switch {
		case err != nil && (was || first):
			log.Errorf("Redis does not answer, lookups that need it are %s: %v", p.onError(), err)
		case err == nil && !was && !first:
			log.Infof("Redis answers again")
		}
		first = false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Ready implements ready.Readiness: rptr is ready while Redis answers.
func (p *RPTR) Ready() bool { return p.redisUp.Load() }

// trackingChanged turns the cache on while Redis reports changes and off
// while it cannot, and logs each change of state once.
func (p *RPTR) trackingChanged(listening bool, err error) {
	was := p.cache.Coherent()
	p.cache.SetCoherent(listening)
	switch {
	case listening && !was:
		log.Infof("cache on: %s reports changes to %sptr:* keys", p.redisConfig.Redis, p.redisConfig.Prefix)
	case !listening && (was || !p.trackingFailed):
		switch {
		case err == nil || errors.Is(err, context.Canceled):
		case errors.Is(err, ptrstore.ErrMastersChanged):
			log.Infof("cache restarts, tracking follows the masters: %v", err)
		case was && p.stale > 0:
			log.Warningf("cache paused, lookups read Redis and, while it cannot be read, get what the cache held for up to %v: client tracking failed: %v", p.stale, err)
		default:
			log.Warningf("cache off, every lookup reads Redis: client tracking failed: %v", err)
		}
	}
	p.trackingFailed = !listening
}

// stop ends what start began.
func (p *RPTR) stop() error {
	if p.stopBackground != nil {
		p.stopBackground()
		p.background.Wait()
	}
	if p.cache != nil {
		liveCaches.remove(p.cache)
	}
	if p.redis == nil {
		return nil
	}
	return p.redis.Close()
}

// Name implements plugin.Handler.
func (p *RPTR) Name() string { return pluginName }

// outcome is how a query ends; every query handled by rptr ends in exactly one.
type outcome int

const (
	answered      outcome = iota // records in the answer section
	noData                       // NOERROR, SOA in authority
	nameError                    // NXDOMAIN, SOA in authority, or the next plugin with fallthrough
	serverFailure                // SERVFAIL: the records could not be read
)

// result is the outcome of a query with what goes into the answer.
type result struct {
	outcome outcome
	answer  []dns.RR
	metric  string // the result label of requestCount
	err     error  // why, for serverFailure
}

// ServeDNS implements plugin.Handler.
func (p *RPTR) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	state := request.Request{W: w, Req: r}
	qname := state.Name()
	z := p.zoneOf(qname)
	if z == nil || state.QClass() != dns.ClassINET {
		return plugin.NextOrFailure(p.Name(), p.Next, ctx, w, r)
	}

	if rcode := rejected(r, state.QType()); rcode != dns.RcodeSuccess {
		requestCount.WithLabelValues(metrics.WithServer(ctx), z.origin, resultRejected).Inc()
		return rcode, nil
	}
	res := p.resolve(ctx, &state, z)
	// Read after resolve, so that it does not take stack space across it.
	server := metrics.WithServer(ctx)
	if res.outcome == nameError && p.Fall.Through(qname) {
		requestCount.WithLabelValues(server, z.origin, resultFallthrough).Inc()
		return plugin.NextOrFailure(p.Name(), p.Next, ctx, w, r)
	}
	requestCount.WithLabelValues(server, z.origin, res.metric).Inc()
	if res.outcome == serverFailure {
		if p.errorFallthrough {
			return plugin.NextOrFailure(p.Name(), p.Next, ctx, w, r)
		}
		return dns.RcodeServerFailure, plugin.Error(p.Name(), res.err)
	}

	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	switch res.outcome {
	case answered:
		m.Answer = res.answer
	case noData:
		m.Ns = []dns.RR{p.apex.negativeSOA(z.origin)}
	case nameError:
		m.Rcode = dns.RcodeNameError
		m.Ns = []dns.RR{p.apex.negativeSOA(z.origin)}
	}
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

// rejected returns the error rcode of a message rptr does not answer
// inside its zones, or RcodeSuccess: an opcode other than QUERY (a NOTIFY
// or UPDATE for data that lives in Redis) is not implemented; zone
// transfers are refused (the zones are not files to copy); a message with
// two OPT records is malformed (RFC 6891, section 6.1.1). CoreDNS writes
// the reply, with the opcode echoed. It is not inlined, to keep ServeDNS's
// frame small (see lookup).
//
//go:noinline
func rejected(r *dns.Msg, qtype uint16) int {
	switch {
	case r.Opcode != dns.OpcodeQuery:
		return dns.RcodeNotImplemented
	case qtype == dns.TypeAXFR || qtype == dns.TypeIXFR:
		return dns.RcodeRefused
	}
	opts := 0
	for _, rr := range r.Extra {
		if rr.Header().Rrtype == dns.TypeOPT {
			opts++
		}
	}
	if opts > 1 {
		return dns.RcodeFormatError
	}
	return dns.RcodeSuccess
}

// zoneOf returns the most specific zone that holds qname (lower case), or
// nil. It compares strings in place: plugin.Zones.Matches splits names into
// labels on every call, which was most of the cost of an answer.
func (p *RPTR) zoneOf(qname string) *zone {
	var best *zone
	for i := range p.zones {
		z := &p.zones[i]
		if best != nil && len(z.origin) <= len(best.origin) {
			continue
		}
		if isSubdomainLower(qname, z.origin) {
			best = z
		}
	}
	return best
}

// isSubdomainLower reports whether name is origin or below it; both are
// absolute and lower case.
func isSubdomainLower(name, origin string) bool {
	if !strings.HasSuffix(name, origin) {
		return false
	}
	cut := len(name) - len(origin)
	if cut == 0 || origin == "." {
		return true
	}
	if name[cut-1] != '.' {
		return false
	}
	// The dot must end a label, not be an escaped one inside it.
	backslashes := 0
	for i := cut - 2; i >= 0 && name[i] == '\\'; i-- {
		backslashes++
	}
	return backslashes%2 == 0
}

// resolve answers a query for a name inside zone z.
func (p *RPTR) resolve(ctx context.Context, state *request.Request, z *zone) result {
	qname, qtype := state.Name(), state.QType()
	if qname == z.origin {
		switch qtype {
		case dns.TypeSOA, dns.TypeANY:
			return result{outcome: answered, answer: []dns.RR{p.apex.soa(z.origin, state.Req.Question[0].Name)}, metric: resultApex}
		case dns.TypeNS:
			return result{outcome: answered, answer: p.apex.nsSet(z.origin, state.Req.Question[0].Name), metric: resultApex}
		}
	}
	if z.forward != nil {
		return p.resolveForward(state, z)
	}
	prefix, err := z.reverse().Parse(qname)
	if err != nil {
		// A name that cannot be an address, or one outside a classless
		// zone's block, exists nowhere in the zone.
		return result{outcome: nameError, metric: resultNXDomain}
	}
	if !prefix.IsSingleIP() {
		// Every shorter name inside the zone has addresses below it: an
		// empty non-terminal (RFC 8020 forbids NXDOMAIN here).
		return result{outcome: noData, metric: resultNoData}
	}
	return p.resolveAddr(ctx, state, prefix.Addr())
}

// resolveAddr answers a query for the reverse name of addr: the stored
// record when there is a usable one, else the synthesized name when a
// synthesize line covers addr.
func (p *RPTR) resolveAddr(ctx context.Context, state *request.Request, addr netip.Addr) result {
	qtype := state.QType()
	wantsPTR := qtype == dns.TypePTR || qtype == dns.TypeANY
	line := p.synth.lineFor(addr)
	if !wantsPTR && line != nil {
		// The name exists whatever Redis holds; no need to ask.
		return result{outcome: noData, metric: resultNoData}
	}
	rec, err := p.lookup(ctx, addr)
	switch {
	case err == nil && !rec.Disabled:
		if wantsPTR {
			return ptrResult(state, rec.Name, rec.AnswerTTL(p.ttl, time.Now()), resultStored)
		}
		return result{outcome: noData, metric: resultNoData}
	case err != nil && err != ptrstore.ErrNotFound && !errors.Is(err, ptrstore.ErrNotFound):
		return result{outcome: serverFailure, metric: resultError, err: err}
	}
	// No record, or a disabled one.
	switch {
	case line == nil:
		return result{outcome: nameError, metric: resultNXDomain}
	case wantsPTR:
		return ptrResult(state, line.tmpl.Name(addr), line.ttlOr(p.ttl), resultSynthesized)
	}
	return result{outcome: noData, metric: resultNoData}
}

func ptrResult(state *request.Request, target string, ttl uint32, metric string) result {
	ptr := &dns.PTR{
		Hdr: dns.RR_Header{Name: state.Req.Question[0].Name, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: ttl},
		Ptr: target,
	}
	return result{outcome: answered, answer: []dns.RR{ptr}, metric: metric}
}

// resolveForward answers a query for a name in the forward zone z of
// synthesized names. A name resolves only when it is exactly what the line
// that names its address renders, so that each address has one name and
// the name leads back to it.
func (p *RPTR) resolveForward(state *request.Request, z *zone) result {
	qname := state.Name()
	if qname == z.origin {
		return result{outcome: noData, metric: resultNoData}
	}
	for _, l := range z.forward {
		addr, ok := l.tmpl.ParseName(qname)
		if !ok || p.synth.lineFor(addr) != l {
			continue
		}
		hdr := dns.RR_Header{Name: state.Req.Question[0].Name, Class: dns.ClassINET, Ttl: l.ttlOr(p.ttl)}
		qtype := state.QType()
		switch {
		case addr.Is4() && (qtype == dns.TypeA || qtype == dns.TypeANY):
			hdr.Rrtype = dns.TypeA
			return result{outcome: answered, answer: []dns.RR{&dns.A{Hdr: hdr, A: addr.AsSlice()}}, metric: resultSynthesized}
		case addr.Is6() && (qtype == dns.TypeAAAA || qtype == dns.TypeANY):
			hdr.Rrtype = dns.TypeAAAA
			return result{outcome: answered, answer: []dns.RR{&dns.AAAA{Hdr: hdr, AAAA: addr.AsSlice()}}, metric: resultSynthesized}
		}
		return result{outcome: noData, metric: resultNoData}
	}
	if p.holdsZoneBelow(qname) {
		// An empty non-terminal above another of rptr's zones.
		return result{outcome: noData, metric: resultNoData}
	}
	return result{outcome: nameError, metric: resultNXDomain}
}

// holdsZoneBelow reports whether one of rptr's zones lies below name.
func (p *RPTR) holdsZoneBelow(name string) bool {
	for _, o := range p.origins {
		if len(o) > len(name) && isSubdomainLower(o, name) {
			return true
		}
	}
	return false
}

// lookup reads addr's record (the store bounds Redis round trips by the
// lookup timeout, so that cache hits pay for no timer). An invalid record is
// logged, counted and reported as ErrNotFound, because it must be served as
// if it were absent.
func (p *RPTR) lookup(ctx context.Context, addr netip.Addr) (ptrstore.Record, error) {
	rec, err := p.store.Lookup(ctx, addr)
	if err == nil || err == ptrstore.ErrNotFound {
		// The common cases, in as small a frame as can be: each query runs
		// on a goroutine of its own, and growing its stack costs more than
		// the whole lookup (measured: 32 more bytes here cost a fifth of
		// the throughput of cache hits).
		return rec, err
	}
	return p.lookupFailed(ctx, addr, err)
}

// lookupFailed handles a lookup that found no usable record: an invalid one
// is logged, counted and served as absent; a failure to read Redis is
// logged and returned.
//
//go:noinline
func (p *RPTR) lookupFailed(ctx context.Context, addr netip.Addr, err error) (ptrstore.Record, error) {
	var invalid *ptrstore.InvalidError
	if errors.As(err, &invalid) {
		invalidRecords.WithLabelValues(metrics.WithServer(ctx)).Inc()
		if p.warnings.Allow() {
			log.Warningf("%v; serving it as absent", invalid)
		}
		return ptrstore.Record{}, ptrstore.ErrNotFound
	}
	p.logFailure(addr, err)
	return ptrstore.Record{}, err
}

// onError says what a query gets when Redis cannot be read.
func (p *RPTR) onError() string {
	if p.errorFallthrough {
		return "passed to the next plugin"
	}
	return "answered SERVFAIL"
}

// logFailure logs a lookup that Redis failed, at most one in five
// seconds: which key, which Redis, what the query gets, and why. It is kept
// out of lookup's frame, which every cache hit runs in.
//
//go:noinline
func (p *RPTR) logFailure(addr netip.Addr, err error) {
	if !p.failures.Allow() {
		return
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("no answer within the timeout of %v", p.redisConfig.Timeout)
	}
	log.Errorf("cannot read %s from %s, query %s: %v", ptrstore.Key(p.redisConfig.Prefix, addr), p.redisConfig.Redis, p.onError(), err)
}

// observeRedis records one Redis round trip in the metrics.
func observeRedis(ctx context.Context, took time.Duration, err error) {
	server := metrics.WithServer(ctx)
	redisDuration.WithLabelValues(server).Observe(took.Seconds())
	if err != nil {
		redisErrors.WithLabelValues(server).Inc()
	}
}

func init() {
	// go-redis logs every failed dial itself, many times a second while
	// Redis is down; rptr logs one line per problem, so go-redis's lines
	// show only with the debug plugin.
	redis.SetLogger(redisLogger{})
}

// redisLogger passes go-redis's log lines to CoreDNS's log at debug level.
type redisLogger struct{}

func (redisLogger) Printf(_ context.Context, format string, v ...any) {
	log.Debugf("go-redis: "+format, v...)
}
