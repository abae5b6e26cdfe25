package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rptr-dns/rptr/ptrstore"
)

func init() {
	commands = append(commands, setCommand, getCommand, delCommand, disableCommand, enableCommand, listCommand)
}

// parseAddr parses an address as given on the command line, in any form
// netip reads ("2001:0db8::1" too); keys use its canonical text.
func parseAddr(s string) (netip.Addr, error) {
	addr, err := lineAddr(s)
	if err != nil {
		return netip.Addr{}, usageErrorf("%v", err)
	}
	return addr, nil
}

func parseAddrs(args []string) ([]netip.Addr, error) {
	addrs := make([]netip.Addr, len(args))
	for i, s := range args {
		var err error
		if addrs[i], err = parseAddr(s); err != nil {
			return nil, err
		}
	}
	return addrs, nil
}

// recordJSON is a record as --json writes it.
type recordJSON struct {
	Addr     string  `json:"addr"`
	Key      string  `json:"key"`
	Name     string  `json:"name,omitempty"`
	TTL      *uint32 `json:"ttl,omitempty"`
	Disabled bool    `json:"disabled,omitempty"`
	Expires  string  `json:"expires,omitempty"` // RFC 3339
	Found    bool    `json:"found"`
	Error    string  `json:"error,omitempty"` // why the value is not a valid record
}

func toJSON(r ptrstore.Result) recordJSON {
	j := recordJSON{Addr: r.Addr.String(), Key: r.Key}
	var invalid *ptrstore.InvalidError
	switch {
	case r.Err == nil:
		j.Found, j.Name, j.Disabled = true, r.Record.Name, r.Record.Disabled
		if r.Record.HasTTL {
			ttl := r.Record.TTL
			j.TTL = &ttl
		}
		if !r.Record.ExpiresAt.IsZero() {
			j.Expires = r.Record.ExpiresAt.UTC().Format(time.RFC3339)
		}
	case errors.As(r.Err, &invalid):
		j.Found, j.Error = true, invalid.Reason
	}
	return j
}

// recordLine is a record as text: address, name, TTL ("-" for the
// plugin's default), state and expiry ("-" for none), tab-separated.
func recordLine(r ptrstore.Result) string {
	var invalid *ptrstore.InvalidError
	if errors.As(r.Err, &invalid) {
		return fmt.Sprintf("%s\tinvalid\t-\tinvalid: %s\t-", r.Addr, invalid.Reason)
	}
	ttl, state, expires := "-", "enabled", "-"
	if r.Record.HasTTL {
		ttl = strconv.FormatUint(uint64(r.Record.TTL), 10)
	}
	if r.Record.Disabled {
		state = "disabled"
	}
	if !r.Record.ExpiresAt.IsZero() {
		expires = r.Record.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("%s\t%s\t%s\t%s\t%s", r.Addr, r.Record.Name, ttl, state, expires)
}

// printRecord writes one record in the chosen format.
func (a *app) printRecord(r ptrstore.Result) error {
	if a.json {
		return a.printJSON(toJSON(r))
	}
	_, err := fmt.Fprintln(a.stdout, recordLine(r))
	return err
}

func setCommand(a *app) *cobra.Command {
	var (
		ttl      string
		expire   time.Duration
		disabled bool
		verify   bool
		server   string
	)
	cmd := &cobra.Command{
		Use:   "set IP NAME",
		Short: "Validate and write a record",
		Long: `set writes the PTR record of IP. IP is written in canonical form; NAME must
be a valid host name, and a Unicode name is written as its IDNA A-label.
The record replaces whatever the key held.

With --verify, set first resolves NAME's A or AAAA records through --server
(default: the system's resolver) and refuses to write unless they hold IP:
the forward-confirmed reverse DNS that mail receivers check. A refusal
exits with 1 and says what NAME resolves to instead; a server that does
not reply exits with 3. Nothing is written either way.`,
		Example: `  rptrctl set 192.0.2.10 mail.example.com
  rptrctl set 2001:db8::25 mx.example.com --ttl 300 --verify --server 127.0.0.1:53
  rptrctl set 10.1.2.3 dhcp-host.example.net --expire 12h`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			addr, err := parseAddr(args[0])
			if err != nil {
				return err
			}
			name, err := ptrstore.HostName(args[1])
			if err != nil {
				return usageErrorf("%v", err)
			}
			rec := ptrstore.Record{Name: name, Disabled: disabled}
			if cmd.Flags().Changed("ttl") {
				if rec.TTL, err = ptrstore.ParseTTL(ttl); err != nil {
					return usageErrorf("--ttl: %v", err)
				}
				rec.HasTTL = true
			}
			if expire != 0 && expire < time.Second {
				// Shorter, the key could be gone before it is read back.
				return usageErrorf("--expire %v: give at least 1s", expire)
			}
			w := ptrstore.Write{Addr: addr, Record: rec, ExpireIn: expire}
			ctx := cmd.Context()
			if verify {
				if err := confirmForward(ctx, server, name, addr); err != nil {
					// A server that does not reply proves nothing either way.
					code := exitProblems
					var nr *noReplyError
					if errors.As(err, &nr) {
						code = exitFailure
					}
					return &exitError{code: code, err: fmt.Errorf("not written: %v", err)}
				}
			}
			s, err := a.store(ctx)
			if err != nil {
				return err
			}
			if _, err := s.Put(ctx, []ptrstore.Write{w}); err != nil {
				return err
			}
			return a.show(ctx, s, addr)
		},
	}
	cmd.Flags().StringVar(&ttl, "ttl", "", "the record's TTL in seconds (default: the plugin's ttl option)")
	cmd.Flags().DurationVar(&expire, "expire", 0, "let the key expire after this long, e.g. 12h (default: never)")
	cmd.Flags().BoolVar(&disabled, "disabled", false, "write the record disabled: kept, not served")
	cmd.Flags().BoolVar(&verify, "verify", false, "refuse to write unless NAME's A/AAAA records hold IP")
	cmd.Flags().StringVar(&server, "server", "", "DNS server for --verify, host[:port] (default: the system's resolver)")
	return cmd
}

// show prints the record of addr as it now is in Redis.
func (a *app) show(ctx context.Context, s *ptrstore.Admin, addr netip.Addr) error {
	res, err := s.GetMany(ctx, []netip.Addr{addr})
	if err != nil {
		return err
	}
	r := res[0]
	var invalid *ptrstore.InvalidError
	switch {
	case errors.Is(r.Err, ptrstore.ErrNotFound):
		if a.json {
			a.printJSON(toJSON(r))
		}
		return &exitError{code: exitProblems, err: fmt.Errorf("no record for %s", addr)}
	case errors.As(r.Err, &invalid):
		// Shown, and an error: the plugin serves it as no record.
		if err := a.printRecord(r); err != nil {
			return err
		}
		return &exitError{code: exitProblems, err: fmt.Errorf("the record of %s is invalid, and served as none", addr)}
	case r.Err != nil:
		return r.Err
	}
	return a.printRecord(r)
}

func getCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "get IP",
		Short:   "Show a record",
		Long:    "get shows the record of IP as the plugin reads it; it exits with 1 when there is none, or when it is invalid (the plugin then serves none).",
		Example: "  rptrctl get 192.0.2.10\n  rptrctl get --json 2001:db8::25",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			addr, err := parseAddr(args[0])
			if err != nil {
				return err
			}
			s, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			return a.show(cmd.Context(), s, addr)
		},
	}
}

func delCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "del IP...",
		Short:   "Delete records",
		Long:    "del deletes the records of the addresses; it exits with 1 when one had none.",
		Example: "  rptrctl del 192.0.2.10 2001:db8::25",
		Args:    rangeArgs(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			addrs, err := parseAddrs(args)
			if err != nil {
				return err
			}
			s, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			n, err := s.Delete(cmd.Context(), addrs...)
			if err != nil {
				return err
			}
			if a.json {
				a.printJSON(map[string]int64{"deleted": n})
			} else {
				fmt.Fprintf(a.stdout, "deleted %d of %d\n", n, len(addrs))
			}
			return problems(len(addrs)-int(n), "addresses had no record")
		},
	}
}

func disableCommand(a *app) *cobra.Command { return stateCommand(a, "disable", true) }
func enableCommand(a *app) *cobra.Command  { return stateCommand(a, "enable", false) }

// stateCommand makes disable or enable: set the disabled flag of a record,
// keeping its name, TTL and expiry.
func stateCommand(a *app, verb string, disabled bool) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " IP",
		Short: strings.ToUpper(verb[:1]) + verb[1:] + " a record",
		Long: verb + ` sets the disabled flag of IP's record and changes nothing else: in the
hash form only the disabled field is set or removed (the name, the TTL, any
other field and the key's expiry stay); a record in the string form that is
disabled becomes the hash form, with the key's remaining lifetime carried
over. A disabled record stays in Redis and is not served.`,
		Example: "  rptrctl " + verb + " 192.0.2.10",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			addr, err := parseAddr(args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			s, err := a.store(ctx)
			if err != nil {
				return err
			}
			_, err = s.SetDisabled(ctx, addr, disabled)
			var invalid *ptrstore.InvalidError
			switch {
			case errors.Is(err, ptrstore.ErrNotFound):
				return &exitError{code: exitProblems, err: fmt.Errorf("no record for %s", addr)}
			case errors.As(err, &invalid):
				return &exitError{code: exitProblems, err: fmt.Errorf("%v; fix it with set first", err)}
			case err != nil:
				return err
			}
			return a.show(ctx, s, addr)
		},
	}
}

func listCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list [CIDR...]",
		Short: "List records",
		Long: `list streams every record, or those in the CIDRs, one per line: address,
name, TTL ("-": the plugin's default), state (enabled, disabled, or invalid
with the reason) and expiry ("-": none), tab-separated. It uses SCAN, never
KEYS, so a large keyspace does not block Redis; the order is Redis's.
Keys whose address text is not canonical are left out: see lint.`,
		Example: "  rptrctl list\n  rptrctl list 192.0.2.0/24 2001:db8::/48\n  rptrctl list --json 10.0.0.0/8",
		RunE: func(cmd *cobra.Command, args []string) error {
			nets, err := parsePrefixes(args)
			if err != nil {
				return err
			}
			return a.eachRecord(cmd.Context(), nets, a.printRecord)
		},
	}
}

// eachRecord calls fn with every record in nets (all when nets is empty),
// valid or not, as SCAN finds them; keys whose address text is not
// canonical are left out.
func (a *app) eachRecord(ctx context.Context, nets []netip.Prefix, fn func(ptrstore.Result) error) error {
	s, err := a.store(ctx)
	if err != nil {
		return err
	}
	return s.Scan(ctx, scanPattern(nets), func(res []ptrstore.Result) error {
		for _, r := range res {
			if !r.Addr.IsValid() || !inAny(nets, r.Addr) || errors.Is(r.Err, ptrstore.ErrNotFound) {
				continue
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// parsePrefixes parses CIDRs; a bare address is its own /32 or /128.
func parsePrefixes(args []string) ([]netip.Prefix, error) {
	var nets []netip.Prefix
	for _, s := range args {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			addr, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, usageErrorf("%q is not a CIDR", s)
			}
			p = netip.PrefixFrom(addr, addr.BitLen())
		}
		if p.Masked() != p {
			return nil, usageErrorf("%s has host bits set; did you mean %s?", s, p.Masked())
		}
		nets = append(nets, p)
	}
	return nets, nil
}

// inAny reports whether addr is in one of nets; no nets means all.
func inAny(nets []netip.Prefix, addr netip.Addr) bool {
	if len(nets) == 0 {
		return true
	}
	for _, n := range nets {
		if n.Contains(addr) {
			return true
		}
	}
	return false
}

// scanPattern narrows SCAN to the keys of one IPv4 network on an octet
// boundary, whose keys share a text prefix; other sets of networks scan
// everything and are filtered here.
func scanPattern(nets []netip.Prefix) string {
	if len(nets) != 1 || !nets[0].Addr().Is4() || nets[0].Bits()%8 != 0 || nets[0].Bits() == 0 {
		return "*"
	}
	b := nets[0].Addr().As4()
	octets := make([]string, nets[0].Bits()/8)
	for i := range octets {
		octets[i] = strconv.Itoa(int(b[i]))
	}
	if len(octets) == 4 {
		return strings.Join(octets, ".")
	}
	return strings.Join(octets, ".") + ".*"
}
