package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"syscall"
	"time"

	"github.com/miekg/dns"

	"github.com/rptr-dns/rptr/reverse"
)

// resolver asks one DNS server, with recursion desired: a resolver, or an
// authoritative server for the names asked.
type resolver struct {
	addr     string
	udp      *dns.Client
	tcp      *dns.Client
	attempts int // UDP sends per question before giving up on a reply
}

// Defaults of a resolver: a lost UDP packet is sent again once, so a
// server that never replies costs 2 x 2 s per question.
const (
	defaultQueryTimeout = 2 * time.Second
	defaultAttempts     = 2
	maxCNAMEs           = 8 // longer chains are taken for loops
)

// newResolver returns a resolver of server (host or host:port), or of the
// first nameserver of /etc/resolv.conf when server is empty.
func newResolver(server string) (*resolver, error) {
	if server == "" {
		cfg, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil || len(cfg.Servers) == 0 {
			return nil, fmt.Errorf("no DNS server given and none in /etc/resolv.conf: %v", err)
		}
		server = net.JoinHostPort(cfg.Servers[0], cfg.Port)
	} else if _, _, err := net.SplitHostPort(server); err != nil {
		server = net.JoinHostPort(server, "53")
	}
	r := &resolver{addr: server, udp: &dns.Client{Net: "udp"}, tcp: &dns.Client{Net: "tcp"}, attempts: defaultAttempts}
	r.setTimeout(defaultQueryTimeout)
	return r, nil
}

// setTimeout sets how long one attempt waits for a reply.
func (r *resolver) setTimeout(d time.Duration) {
	r.udp.Timeout, r.tcp.Timeout = d, d
}

// noReplyError is a question the server never replied to: a timeout, a
// refused port, an unreachable network.
type noReplyError struct{ err error }

// Error leaves the server out: callers that ask many questions of one
// server say it once.
func (e *noReplyError) Error() string {
	var ne net.Error
	switch {
	case errors.As(e.err, &ne) && ne.Timeout():
		return "no reply (timed out)"
	case errors.Is(e.err, syscall.ECONNREFUSED):
		return "no reply (connection refused)"
	}
	return fmt.Sprintf("no reply (%v)", e.err)
}

func (e *noReplyError) Unwrap() error { return e.err }

// exchange asks one question, sending it again over UDP when no reply
// comes, and over TCP when the UDP reply is truncated.
func (r *resolver) exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(1232, false)
	var err error
	for range max(1, r.attempts) {
		var resp *dns.Msg
		resp, _, err = r.udp.ExchangeContext(ctx, m, r.addr)
		if err == nil && resp.Truncated {
			resp, _, err = r.tcp.ExchangeContext(ctx, m, r.addr)
		}
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return nil, &noReplyError{err: err}
}

// lookup asks for name's records of qtype and follows the CNAMEs on the
// way, those the server followed in its answer and, where it stopped at
// one (an authoritative server whose zone the target is not in), by asking
// again. It returns the last reply's rcode and the records of qtype; err
// is set only when no usable reply came.
func (r *resolver) lookup(ctx context.Context, name string, qtype uint16) (int, []dns.RR, error) {
	name = dns.Fqdn(name)
	for range maxCNAMEs {
		resp, err := r.exchange(ctx, name, qtype)
		if err != nil {
			return 0, nil, err
		}
		if resp.Rcode != dns.RcodeSuccess && resp.Rcode != dns.RcodeNameError {
			return resp.Rcode, nil, nil
		}
		// Walk the chain from name, so that records of other owners in
		// the answer do not count.
		owner := name
		for range maxCNAMEs {
			next := ""
			for _, rr := range resp.Answer {
				if c, ok := rr.(*dns.CNAME); ok && dns.CanonicalName(c.Hdr.Name) == dns.CanonicalName(owner) {
					next = c.Target
				}
			}
			if next == "" {
				break
			}
			owner = next
		}
		var rrs []dns.RR
		for _, rr := range resp.Answer {
			if rr.Header().Rrtype == qtype && dns.CanonicalName(rr.Header().Name) == dns.CanonicalName(owner) {
				rrs = append(rrs, rr)
			}
		}
		if len(rrs) > 0 || owner == name || resp.Rcode != dns.RcodeSuccess {
			return resp.Rcode, rrs, nil
		}
		name = owner // the chain ends at a CNAME whose target was not given
	}
	return dns.RcodeServerFailure, nil, fmt.Errorf("%s: more than %d CNAMEs", name, maxCNAMEs)
}

// rcodeError is a reply without the records asked for: NODATA, NXDOMAIN,
// or an error rcode such as SERVFAIL or REFUSED.
type rcodeError struct {
	rcode int
	qtype uint16
}

func (e *rcodeError) Error() string {
	switch e.rcode {
	case dns.RcodeSuccess:
		return "no " + dns.TypeToString[e.qtype] + " (NODATA)"
	case dns.RcodeNameError:
		return "no " + dns.TypeToString[e.qtype] + " (NXDOMAIN)"
	}
	return dns.TypeToString[e.qtype] + " query answered " + dns.RcodeToString[e.rcode]
}

// absent reports whether the reply says there is no such record, rather
// than that the server failed.
func (e *rcodeError) absent() bool {
	return e.rcode == dns.RcodeSuccess || e.rcode == dns.RcodeNameError
}

// forwardType is the type that holds addr: A for IPv4 (mapped ones too),
// AAAA for IPv6.
func forwardType(addr netip.Addr) uint16 {
	if addr.Unmap().Is4() {
		return dns.TypeA
	}
	return dns.TypeAAAA
}

// addrs returns the A (or, for v6, AAAA) addresses of name, after any
// CNAMEs. An empty answer or NXDOMAIN is an error saying so.
func (r *resolver) addrs(ctx context.Context, name string, qtype uint16) ([]netip.Addr, error) {
	rcode, rrs, err := r.lookup(ctx, name, qtype)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	for _, rr := range rrs {
		switch rr := rr.(type) {
		case *dns.A:
			if a, ok := netip.AddrFromSlice(rr.A.To4()); ok {
				addrs = append(addrs, a)
			}
		case *dns.AAAA:
			if a, ok := netip.AddrFromSlice(rr.AAAA.To16()); ok {
				addrs = append(addrs, a)
			}
		}
	}
	if len(addrs) == 0 {
		return nil, &rcodeError{rcode: rcode, qtype: qtype}
	}
	return addrs, nil
}

// ptrs returns the PTR targets of addr, after any CNAMEs (RFC 2317). An
// empty answer or NXDOMAIN is an error saying so.
func (r *resolver) ptrs(ctx context.Context, addr netip.Addr) ([]string, error) {
	rcode, rrs, err := r.lookup(ctx, reverse.AddrName(addr.Unmap()), dns.TypePTR)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, rr := range rrs {
		if p, ok := rr.(*dns.PTR); ok {
			names = append(names, p.Ptr)
		}
	}
	if len(names) == 0 {
		return nil, &rcodeError{rcode: rcode, qtype: dns.TypePTR}
	}
	return names, nil
}

// confirmForward checks that name's A or AAAA records, asked of server,
// hold addr.
func confirmForward(ctx context.Context, server, name string, addr netip.Addr) error {
	r, err := newResolver(server)
	if err != nil {
		return err
	}
	if _, err := r.forward(ctx, name, addr); err != nil {
		return fmt.Errorf("%w (asked %s)", err, r.addr)
	}
	return nil
}

// forward returns name's A or AAAA addresses (the type that holds addr)
// and an error unless they hold addr: what they hold instead, or why there
// are none.
func (r *resolver) forward(ctx context.Context, name string, addr netip.Addr) ([]netip.Addr, error) {
	addr = addr.Unmap()
	qtype := forwardType(addr)
	addrs, err := r.addrs(ctx, name, qtype)
	var rc *rcodeError
	switch {
	case errors.As(err, &rc) && rc.absent():
		return nil, fmt.Errorf("%s has %w", dns.Fqdn(name), err)
	case errors.As(err, &rc):
		return nil, fmt.Errorf("%s: %w", dns.Fqdn(name), err)
	case err != nil:
		return nil, fmt.Errorf("%s: %s query: %w", dns.Fqdn(name), dns.TypeToString[qtype], err)
	case !slices.Contains(addrs, addr):
		return addrs, fmt.Errorf("%s resolves to %v, not %s", dns.Fqdn(name), addrs, addr)
	}
	return addrs, nil
}
