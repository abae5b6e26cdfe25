package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func init() {
	commands = append(commands, checkCommand)
}

const (
	// maxWholeCIDR is the most addresses a --cidr without --sample may
	// hold: a /16 or a /112.
	maxWholeCIDR = 1 << 16
	// maxSample bounds --sample, and so the memory of one run.
	maxSample = 1 << 20
	// maxPTRNames is how many names of one PTR answer are asked, as SPF's
	// ptr mechanism limits it (RFC 7208, section 5.5).
	maxPTRNames = 10
	// silentRun is how many addresses in a row may get no reply to their
	// PTR query before check takes the server for gone and stops.
	silentRun = 64
)

func checkCommand(a *app) *cobra.Command {
	var (
		cidrs       []string
		sample      int
		server      string
		concurrency int
		timeout     time.Duration
		tries       int
	)
	cmd := &cobra.Command{
		Use:   "check [IP...] [--cidr CIDR]... [--sample N]",
		Short: "Check forward-confirmed reverse DNS against a DNS server",
		Long: `check runs the forward-confirmed reverse DNS (FCrDNS) check that mail
receivers run on a connecting address, against one DNS server: the PTR of
the address gives names, and the A (IPv4) or AAAA (IPv6) records of one of
those names must hold the address again. Questions are sent with recursion
desired, so --server may be a resolver or a server authoritative for both
the reverse and the forward names; CNAMEs are followed (RFC 2317 ones too).

An address passes when at least one of its PTR names resolves back to it,
as Postfix's reject_unknown_client_hostname and Spamhaus's FCrDNS check
have it. Names are asked in the order of the answer, at most the first 10
(the limit of SPF's ptr, RFC 7208 section 5.5), and the first that
confirms ends the check. An address fails when it has no PTR (NXDOMAIN or
NODATA), when a question gets an error rcode (SERVFAIL, REFUSED) or no
reply (each question is sent --tries times, waiting --query-timeout each),
or when no name resolves back to it.

Each line is the address, pass or fail, and the name that confirmed or
the reason, tab-separated; with --json, one object per address: addr,
pass, name (the name that confirmed), reason, ptr (the PTR names) and
forward (each name asked, its addresses, and its error). Lines come in
input order: the IP arguments as given, then the addresses of each --cidr
in ascending order; an address given twice is checked once. --concurrency
addresses are checked at a time. A summary goes to stderr, and a progress
bar when stderr is a terminal and stdout is not (a file or a pipe).

--cidr CIDR (repeatable) checks every address of CIDR, network and
broadcast addresses included, and CIDR may then hold at most 65536; with
--sample N, N distinct random addresses of each --cidr instead.

Exit codes: 0 every address passed; 1 at least one failed; 2 bad
arguments; 3 the server did not answer at all: the first address's PTR
question got no reply (nothing is checked then), or 64 addresses in a row
got none (check stops there). Addresses whose questions alone go
unanswered, of a server that answers others, fail with the reason
"no reply".`,
		Example: `  rptrctl check 192.0.2.10 2001:db8::25 --server 192.0.2.53
  rptrctl check --cidr 192.0.2.0/24 --server 127.0.0.1:1053
  rptrctl check --cidr 10.0.0.0/8 --cidr 2001:db8::/32 --sample 500 --server ns1.example.net
  rptrctl check --json --cidr 198.51.100.0/24 --server 192.0.2.53 | jq -c 'select(.pass | not)'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case sample < 0 || sample > maxSample:
				return usageErrorf("--sample %d: give 1 to %d, or 0 for every address", sample, maxSample)
			case cmd.Flags().Changed("sample") && len(cidrs) == 0:
				return usageErrorf("--sample needs --cidr")
			case concurrency < 1:
				return usageErrorf("--concurrency %d: give at least 1", concurrency)
			case timeout <= 0:
				return usageErrorf("--query-timeout %v: give a positive duration", timeout)
			case tries < 1:
				return usageErrorf("--tries %d: give at least 1", tries)
			}
			addrs, err := checkTargets(args, cidrs, sample, rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())))
			if err != nil {
				return err
			}
			if len(addrs) == 0 {
				return usageErrorf("check: no addresses; usage: %s", cmd.UseLine())
			}
			r, err := newResolver(server)
			if err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			r.setTimeout(timeout)
			r.attempts = tries
			return a.check(cmd.Context(), r, addrs, concurrency)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&cidrs, "cidr", nil, "check the addresses of CIDR (repeatable)")
	f.IntVar(&sample, "sample", 0, "check N random distinct addresses of each --cidr (0: all, for a CIDR of at most 65536)")
	f.StringVar(&server, "server", "", "DNS server to ask, host[:port] (default: the system's resolver)")
	f.IntVar(&concurrency, "concurrency", 32, "how many addresses to check at a time")
	f.DurationVar(&timeout, "query-timeout", defaultQueryTimeout, "how long to wait for each reply")
	f.IntVar(&tries, "tries", defaultAttempts, "how many times to send a question that gets no reply")
	return cmd
}

// checkTargets returns the addresses to check, in output order: the
// arguments, then each CIDR's addresses (all, or sample of them) in
// ascending order, each address once.
func checkTargets(args, cidrs []string, sample int, rnd *rand.Rand) ([]netip.Addr, error) {
	given, err := parseAddrs(args)
	if err != nil {
		return nil, err
	}
	nets, err := parsePrefixes(cidrs)
	if err != nil {
		return nil, err
	}
	seen := map[netip.Addr]bool{}
	var addrs []netip.Addr
	add := func(list []netip.Addr) {
		for _, a := range list {
			if a = a.Unmap(); !seen[a] {
				seen[a] = true
				addrs = append(addrs, a)
			}
		}
	}
	add(given)
	for _, p := range nets {
		list, err := cidrAddrs(p, sample, rnd)
		if err != nil {
			return nil, err
		}
		add(list)
	}
	return addrs, nil
}

// cidrAddrs returns n random distinct addresses of p in ascending order,
// or all of them when n is 0.
func cidrAddrs(p netip.Prefix, n int, rnd *rand.Rand) ([]netip.Addr, error) {
	hostBits := p.Addr().BitLen() - p.Bits()
	if n == 0 {
		if hostBits > 16 {
			return nil, usageErrorf("--cidr %s holds %s addresses, more than %d: give --sample N", p, prefixSize(hostBits), maxWholeCIDR)
		}
		all := make([]netip.Addr, 1<<hostBits)
		for i := range all {
			all[i] = nthAddr(p, uint64(i))
		}
		return all, nil
	}
	if hostBits < 63 && uint64(n) > 1<<hostBits {
		return nil, usageErrorf("--sample %d: --cidr %s holds only %s addresses", n, p, prefixSize(hostBits))
	}
	var addrs []netip.Addr
	if hostBits < 63 && uint64(n)*2 >= 1<<hostBits {
		// n is at least half of p (so p is small): draw offsets without
		// repeats rather than rejecting repeats.
		offsets := rnd.Perm(1 << hostBits)[:n]
		slices.Sort(offsets)
		for _, o := range offsets {
			addrs = append(addrs, nthAddr(p, uint64(o)))
		}
		return addrs, nil
	}
	seen := make(map[netip.Addr]bool, n)
	for len(addrs) < n {
		if a := randomAddr(p, rnd); !seen[a] {
			seen[a] = true
			addrs = append(addrs, a)
		}
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	return addrs, nil
}

// prefixSize is the number of addresses of a prefix with hostBits host
// bits, as text.
func prefixSize(hostBits int) string {
	if hostBits < 63 {
		return strconv.FormatUint(1<<hostBits, 10)
	}
	return "2^" + strconv.Itoa(hostBits)
}

// nthAddr returns the address at offset i of p, i below 2^21.
func nthAddr(p netip.Prefix, i uint64) netip.Addr {
	a := p.Masked().Addr()
	if a.Is4() {
		b := a.As4()
		binary.BigEndian.PutUint32(b[:], binary.BigEndian.Uint32(b[:])+uint32(i))
		return netip.AddrFrom4(b)
	}
	b := a.As16()
	binary.BigEndian.PutUint64(b[8:], binary.BigEndian.Uint64(b[8:])+i)
	return netip.AddrFrom16(b)
}

// randomAddr returns a random address of p.
func randomAddr(p netip.Prefix, rnd *rand.Rand) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := range b {
		hostBits := max(0, min(8, (i+1)*8-p.Bits()))
		mask := byte(1<<hostBits - 1)
		b[i] |= byte(rnd.UintN(256)) & mask
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// checkResult is the outcome of one address's check, as --json writes it.
type checkResult struct {
	Addr    netip.Addr      `json:"addr"`
	Pass    bool            `json:"pass"`
	Name    string          `json:"name,omitempty"`   // the PTR name that resolved back to Addr
	Reason  string          `json:"reason,omitempty"` // why the check failed
	PTR     []string        `json:"ptr"`              // the names of the PTR answer
	Forward []forwardResult `json:"forward"`          // the names asked, in order

	noReply error // the PTR question got no reply at all
}

// forwardResult is what the A or AAAA question of one PTR name gave.
type forwardResult struct {
	Name  string       `json:"name"`
	Addrs []netip.Addr `json:"addrs"`
	Error string       `json:"error,omitempty"`
}

// checkAddr runs the FCrDNS check of addr.
func checkAddr(ctx context.Context, r *resolver, addr netip.Addr) checkResult {
	res := checkResult{Addr: addr, PTR: []string{}, Forward: []forwardResult{}}
	names, err := r.ptrs(ctx, addr)
	var nr *noReplyError
	switch {
	case errors.As(err, &nr):
		res.noReply = err
		res.Reason = "PTR query: " + err.Error()
		return res
	case err != nil:
		res.Reason = err.Error()
		return res
	}
	res.PTR = names
	var reasons []string
	asked := map[string]bool{}
	for _, name := range names {
		key := dns.CanonicalName(name)
		if asked[key] {
			continue
		}
		if len(asked) == maxPTRNames {
			reasons = append(reasons, fmt.Sprintf("names after the first %d not asked", maxPTRNames))
			break
		}
		asked[key] = true
		addrs, err := r.forward(ctx, name, addr)
		f := forwardResult{Name: name, Addrs: addrs}
		if f.Addrs == nil {
			f.Addrs = []netip.Addr{}
		}
		if err == nil {
			res.Forward = append(res.Forward, f)
			res.Pass, res.Name = true, name
			return res
		}
		f.Error = err.Error()
		res.Forward = append(res.Forward, f)
		reasons = append(reasons, f.Error)
	}
	res.Reason = strings.Join(reasons, "; ")
	return res
}

// line is the result as a line of text.
func (c *checkResult) line() string {
	if c.Pass {
		return c.Addr.String() + "\tpass\t" + c.Name
	}
	return c.Addr.String() + "\tfail\t" + c.Reason
}

// check checks addrs, concurrency at a time, and writes the results in
// the order of addrs.
func (a *app) check(ctx context.Context, r *resolver, addrs []netip.Addr, concurrency int) error {
	start := time.Now()
	// The first address alone first: a server that does not answer at all
	// fails the run at once instead of every address after a timeout.
	first := checkAddr(ctx, r, addrs[0])
	if first.noReply != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &exitError{code: exitFailure, err: fmt.Errorf("DNS server %s did not answer the PTR query of %s: %v; nothing checked",
			r.addr, addrs[0], first.noReply)}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type done struct {
		i   int
		res checkResult
	}
	jobs := make(chan int)
	out := make(chan done, concurrency)
	var wg sync.WaitGroup
	for range min(concurrency, len(addrs)-1) {
		wg.Go(func() {
			for i := range jobs {
				out <- done{i, checkAddr(ctx, r, addrs[i])}
			}
		})
	}
	go func() {
		defer close(jobs)
		for i := 1; i < len(addrs); i++ {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(out) }()

	// On a terminal the lines themselves show progress, and a bar would
	// be drawn over them.
	bar := a.progress(int64(len(addrs)), "checking")
	if isTerminal(a.stdout) {
		bar = progressbar.DefaultSilent(int64(len(addrs)), "checking")
	}
	results := make([]*checkResult, len(addrs))
	results[0] = &first
	var (
		next, pass, fail, silent int
		stop                     error
	)
	// emit writes the results that are next in order.
	emit := func() {
		for stop == nil && next < len(results) && results[next] != nil {
			res := results[next]
			results[next] = nil
			next++
			if res.Pass {
				pass++
			} else {
				fail++
			}
			var err error
			if a.json {
				err = a.printJSON(res)
			} else {
				_, err = fmt.Fprintln(a.stdout, res.line())
			}
			if err != nil {
				stop = &exitError{code: exitFailure, err: err}
				cancel()
			}
		}
	}
	bar.Add(1)
	emit()
	for d := range out {
		if stop != nil || ctx.Err() != nil {
			continue // drain: results made after a stop say only "canceled"
		}
		bar.Add(1)
		if d.res.noReply != nil {
			silent++
		} else {
			silent = 0
		}
		if silent == silentRun {
			stop = &exitError{code: exitFailure, err: fmt.Errorf("DNS server %s stopped answering: %d addresses in a row got no reply; stopped after %d of %d addresses: %d pass, %d fail",
				r.addr, silentRun, next, len(addrs), pass, fail)}
			cancel()
			continue
		}
		results[d.i] = &d.res
		emit()
	}
	bar.Finish()
	switch {
	case stop != nil:
		return stop
	case next < len(addrs):
		return &exitError{code: exitFailure, err: fmt.Errorf("%v after %d of %d addresses: %d pass, %d fail", context.Cause(ctx), next, len(addrs), pass, fail)}
	}
	noun := "addresses"
	if len(addrs) == 1 {
		noun = "address"
	}
	summary := fmt.Sprintf("checked %d %s at %s in %v: %d pass, %d fail", len(addrs), noun, r.addr, time.Since(start).Round(time.Millisecond), pass, fail)
	if fail > 0 {
		return &exitError{code: exitProblems, err: errors.New(summary)}
	}
	fmt.Fprintln(a.stderr, summary)
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
