package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/miekg/dns"
)

// resolver asks one DNS server, with recursion desired: a resolver, or an
// authoritative server for the names asked.
type resolver struct {
	addr string
	udp  *dns.Client
	tcp  *dns.Client
}

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
	return &resolver{
		addr: server,
		udp:  &dns.Client{Net: "udp", Timeout: 3 * time.Second},
		tcp:  &dns.Client{Net: "tcp", Timeout: 3 * time.Second},
	}, nil
}

// query asks for name's records of qtype, over TCP when the UDP answer is
// truncated, and fails unless the answer is NOERROR.
func (r *resolver) query(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(1232, false)
	resp, _, err := r.udp.ExchangeContext(ctx, m, r.addr)
	if err == nil && resp.Truncated {
		resp, _, err = r.tcp.ExchangeContext(ctx, m, r.addr)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s at %s: %v", name, dns.TypeToString[qtype], r.addr, err)
	}
	if resp.Rcode != dns.RcodeSuccess {
		return nil, fmt.Errorf("%s %s at %s: %s", name, dns.TypeToString[qtype], r.addr, dns.RcodeToString[resp.Rcode])
	}
	return resp, nil
}

// addrs returns the A (or, for v6, AAAA) addresses of name, after any
// CNAMEs the server followed.
func (r *resolver) addrs(ctx context.Context, name string, v6 bool) ([]netip.Addr, error) {
	qtype := dns.TypeA
	if v6 {
		qtype = dns.TypeAAAA
	}
	resp, err := r.query(ctx, name, qtype)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	for _, rr := range resp.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			if a, ok := netip.AddrFromSlice(rr.A.To4()); ok && !v6 {
				addrs = append(addrs, a)
			}
		case *dns.AAAA:
			if a, ok := netip.AddrFromSlice(rr.AAAA.To16()); ok && v6 {
				addrs = append(addrs, a)
			}
		}
	}
	return addrs, nil
}

// ptrs returns the PTR targets of addr.
func (r *resolver) ptrs(ctx context.Context, addr netip.Addr) ([]string, error) {
	name, err := dns.ReverseAddr(addr.String())
	if err != nil {
		return nil, err
	}
	resp, err := r.query(ctx, name, dns.TypePTR)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, rr := range resp.Answer {
		if p, ok := rr.(*dns.PTR); ok {
			names = append(names, p.Ptr)
		}
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
	return r.confirm(ctx, name, addr)
}

func (r *resolver) confirm(ctx context.Context, name string, addr netip.Addr) error {
	addrs, err := r.addrs(ctx, name, addr.Is6() && !addr.Is4In6())
	if err != nil {
		return err
	}
	if !slices.Contains(addrs, addr.Unmap()) {
		return fmt.Errorf("%s resolves to %v at %s, not to %s", name, addrs, r.addr, addr)
	}
	return nil
}
