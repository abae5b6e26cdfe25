package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/rptr-dns/rptr/ptrstore"
)

func init() {
	commands = append(commands, lintCommand)
}

// Kinds of lint findings, in the order the summary counts them.
const (
	kindInvalid      = "invalid"        // a value the plugin rejects
	kindNotAddress   = "not-an-address" // a key with no address in it
	kindNonCanonical = "non-canonical"  // address text no query reads
	kindConflict     = "conflict"       // non-canonical, and the canonical key exists
	kindFixed        = "fixed"          // non-canonical, moved by --fix
)

var findingKinds = []string{kindInvalid, kindNotAddress, kindNonCanonical, kindConflict, kindFixed}

// finding is one thing lint reports about a key; --json writes it as is.
type finding struct {
	Key    string `json:"key"`
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
	// Canonical is the key the address text means, when it means one.
	Canonical string `json:"canonical_key,omitempty"`
	// Duplicate marks a conflict whose canonical key serves the same
	// record: the non-canonical key is redundant.
	Duplicate bool `json:"duplicate,omitempty"`
}

// misspelt is a key whose text means an address but not canonically; it
// waits for the end of the scan, so that keys moved by --fix are not met
// again by the scan.
type misspelt struct {
	res    ptrstore.Result
	addr   netip.Addr
	reason string
}

// linter is the state of one lint run.
type linter struct {
	a       *app
	s       *ptrstore.Admin
	fix     bool
	bar     *progressbar.ProgressBar
	scanned int
	counts  map[string]int
	movable int // non-canonical keys that --fix would move
	later   []misspelt
	// disagree holds the addresses that misspelt keys give different
	// records.
	disagree map[netip.Addr]bool
}

func lintCommand(a *app) *cobra.Command {
	var fix bool
	cmd := &cobra.Command{
		Use:   "lint [--fix]",
		Short: "Find records the plugin rejects and keys no query reads",
		Long: `lint scans every key under <prefix>ptr: (SCAN, never KEYS) and reports,
one line per finding, tab-separated: the key, the kind of finding, the reason,
and for a misspelt address the canonical key it means. Kinds:

  invalid         the value is not a record the plugin serves: a bad host
                  name, a bad ttl or disabled field, a hash without ptr, a
                  key of another type (list, set, ...)
  not-an-address  the key holds no IP address ("rptr:ptr:foo"); no query
                  reads it
  non-canonical   the address text is not canonical ("rptr:ptr:2001:0db8::1",
                  "rptr:ptr:010.0.0.1", upper-case hex, white space, a
                  zone); no query reads it. IPv4 octets with leading zeros
                  are read as decimal, not octal
  conflict        non-canonical, and the canonical key exists as well; the
                  reason says whether it holds the same record (then this
                  key is a redundant duplicate) or a different one. Also
                  each of several misspellings of one address that give
                  different records: which one is meant is for a human
  fixed           non-canonical, and moved to the canonical key by --fix

--fix moves each non-canonical key whose canonical key does not exist to the
canonical key, with its value (string or hash, every field) and its expiry.
It never overwrites or deletes a key: a conflict is reported and both keys
are left as they are, a duplicate included; delete it by hand once you have
looked. It never touches an invalid value either: that needs a human, so a
non-canonical key with an invalid value is reported and not moved.

The move is one RENAMENX, atomic and exact to the millisecond of expiry. A
cluster refuses RENAMENX across hash slots, so there the key is copied with
DUMP, PTTL and RESTORE (never replacing an existing key) and deleted when it
still holds what was copied; its expiry comes out late by a round trip.
A prefix with a hash tag ("{rptr}:") keeps every key in one slot, and
RENAMENX works. The plugin's read-only ACL user cannot do this: run lint
--fix as an operator allowed ping, scan, multi, exec, get, hmget, pttl and
renamenx, plus in a cluster dump, restore (in the @dangerous category),
watch and del.

A key holding white space, quotes or bytes that are not printable is written
quoted, as in Go. --json writes one object per finding: key, kind, reason,
canonical_key and duplicate. A summary goes to stderr: keys scanned and
findings by kind. lint exits with 0 when nothing is left to report, 1 when
findings remain (fixed keys do not count), 3 when Redis fails.`,
		Example: `  rptrctl lint
  rptrctl lint --fix
  rptrctl lint --json | jq -r 'select(.kind == "invalid") | .key'
  rptrctl --prefix 'dhcp:' --mode cluster --redis redis://10.0.0.5:6379 lint --fix`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, err := a.store(ctx)
			if err != nil {
				return err
			}
			l := &linter{a: a, s: s, fix: fix, counts: map[string]int{},
				bar: a.progress(-1, "scanning keys")}
			err = s.Scan(ctx, "*", l.check)
			l.bar.Finish()
			if err != nil {
				return err
			}
			if err := l.settleAll(ctx); err != nil {
				return err
			}
			l.summary()
			return problems(l.remaining(), "findings remain")
		},
	}
	cmd.Flags().BoolVar(&fix, "fix", false, "move non-canonical keys to their canonical keys when those do not exist")
	return cmd
}

// check reports the findings of one batch of scanned keys, and keeps
// misspelt keys for settleAll.
func (l *linter) check(res []ptrstore.Result) error {
	for _, r := range res {
		if errors.Is(r.Err, ptrstore.ErrNotFound) {
			continue // expired or deleted since SCAN returned it
		}
		var invalid *ptrstore.InvalidError
		if r.Err != nil && !errors.As(r.Err, &invalid) {
			return r.Err
		}
		l.scanned++
		if invalid != nil {
			if err := l.report(finding{Key: r.Key, Kind: kindInvalid, Reason: invalid.Reason}); err != nil {
				return err
			}
		}
		if r.Addr.IsValid() {
			continue
		}
		addr, text, err := ptrstore.ReadKeyAddr(l.a.prefix, r.Key)
		if text == ptrstore.NotAddress {
			if err := l.report(finding{Key: r.Key, Kind: kindNotAddress, Reason: err.Error() + "; no query reads this key"}); err != nil {
				return err
			}
			continue
		}
		l.later = append(l.later, misspelt{res: r, addr: addr, reason: misspeltReason(text)})
	}
	return l.bar.Add(len(res))
}

func misspeltReason(text ptrstore.KeyText) string {
	switch text {
	case ptrstore.LeadingZeros:
		return "IPv4 octets written with leading zeros, read as decimal; no query reads this key"
	case ptrstore.Zoned:
		return "IPv6 address with a zone, which no query carries; no query reads this key"
	}
	return "address text is not canonical; no query reads this key"
}

// settleBatch is how many canonical keys settleAll reads per round trip.
const settleBatch = 1000

// settleAll reports the misspelt keys, after reading their canonical keys
// to find conflicts, and with --fix moves them.
func (l *linter) settleAll(ctx context.Context) error {
	// Spellings of one address that hold different records: which one is
	// meant is for a human to say, so none of them is moved.
	first := map[netip.Addr]misspelt{}
	l.disagree = map[netip.Addr]bool{}
	for _, m := range l.later {
		f, ok := first[m.addr]
		switch {
		case !ok:
			first[m.addr] = m
		case m.res.Err != nil || f.res.Err != nil || !m.res.Record.SameAs(f.res.Record):
			l.disagree[m.addr] = true
		}
	}
	for start := 0; start < len(l.later); start += settleBatch {
		chunk := l.later[start:min(start+settleBatch, len(l.later))]
		addrs := make([]netip.Addr, len(chunk))
		for i, m := range chunk {
			addrs[i] = m.addr
		}
		canon, err := l.s.GetMany(ctx, addrs)
		if err != nil {
			return err
		}
		for i, m := range chunk {
			if err := l.settle(ctx, m, canon[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// settle reports one misspelt key given its canonical key's record, and
// with --fix moves it when it can.
func (l *linter) settle(ctx context.Context, m misspelt, canon ptrstore.Result) error {
	f := finding{Key: m.res.Key, Kind: kindNonCanonical, Reason: m.reason, Canonical: l.s.Key(m.addr)}
	if !errors.Is(canon.Err, ptrstore.ErrNotFound) {
		return l.conflict(f, m, canon)
	}
	if l.disagree[m.addr] {
		f.Kind = kindConflict
		f.Reason += "; other keys spell the same address with a different record; none of them moved"
		return l.report(f)
	}
	if m.res.Err == nil {
		l.movable++
	}
	switch {
	case !l.fix:
		return l.report(f)
	case m.res.Err != nil:
		f.Reason += "; not moved: the value is invalid"
		return l.report(f)
	}
	moved, err := l.s.MoveKey(ctx, f.Key, f.Canonical)
	switch {
	case errors.Is(err, ptrstore.ErrNotFound):
		return nil // gone since the scan: nothing left to report
	case errors.Is(err, ptrstore.ErrMoveRaced):
		f.Reason += "; " + err.Error()
		return l.report(f)
	case err != nil:
		return fmt.Errorf("moving %s to %s: %w", quoteKey(f.Key), quoteKey(f.Canonical), err)
	case moved:
		f.Kind = kindFixed
		f.Reason += "; moved to the canonical key with its value and expiry"
		return l.report(f)
	}
	// The canonical key appeared since it was read: another misspelling
	// of the same address moved there first, or someone wrote it.
	res, err := l.s.GetMany(ctx, []netip.Addr{m.addr})
	if err != nil {
		return err
	}
	return l.conflict(f, m, res[0])
}

// conflict reports a misspelt key whose canonical key exists, saying
// whether the two serve the same record.
func (l *linter) conflict(f finding, m misspelt, canon ptrstore.Result) error {
	var invalid *ptrstore.InvalidError
	if canon.Err != nil && !errors.As(canon.Err, &invalid) {
		return canon.Err
	}
	f.Kind = kindConflict
	switch {
	case invalid != nil:
		f.Reason += "; the canonical key exists and holds an invalid record; both left as they are"
	case m.res.Err == nil && m.res.Record.SameAs(canon.Record):
		f.Duplicate = true
		f.Reason += "; the canonical key exists with the same record: this key is a redundant duplicate; both left as they are"
	default:
		f.Reason += "; the canonical key exists with a different record; both left as they are"
	}
	return l.report(f)
}

// report writes one finding and counts it.
func (l *linter) report(f finding) error {
	l.counts[f.Kind]++
	if l.a.json {
		return l.a.printJSON(f)
	}
	l.bar.Clear()
	line := quoteKey(f.Key) + "\t" + f.Kind + "\t" + f.Reason
	if f.Canonical != "" {
		line += "\t" + quoteKey(f.Canonical)
	}
	_, err := fmt.Fprintln(l.a.stdout, line)
	return err
}

// remaining is how many findings are left: all but the fixed ones.
func (l *linter) remaining() int {
	n := 0
	for kind, c := range l.counts {
		if kind != kindFixed {
			n += c
		}
	}
	return n
}

// summary writes the counts to stderr.
func (l *linter) summary() {
	parts := make([]string, len(findingKinds))
	for i, kind := range findingKinds {
		parts[i] = fmt.Sprintf("%d %s", l.counts[kind], kind)
	}
	fmt.Fprintf(l.a.stderr, "lint: %d keys scanned: %s\n", l.scanned, strings.Join(parts, ", "))
	if !l.fix && l.movable > 0 {
		fmt.Fprintf(l.a.stderr, "lint: --fix would move %d non-canonical keys to their canonical keys\n", l.movable)
	}
}

// quoteKey returns key as is, or quoted as in Go when it holds white space,
// quotes, backslashes or bytes that are not printable, which a line of
// tab-separated text would hide or break.
func quoteKey(key string) string {
	plain := utf8.ValidString(key) && !strings.ContainsFunc(key, func(r rune) bool {
		return unicode.IsSpace(r) || !unicode.IsPrint(r) || r == '"' || r == '\\'
	})
	if plain {
		return key
	}
	return strconv.Quote(key)
}
