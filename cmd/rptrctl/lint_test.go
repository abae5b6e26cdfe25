package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rptr-dns/rptr/internal/redistest"
)

// write is how a test puts a value at a key.
type write func(ctx context.Context, c redis.Cmdable, key string) error

func str(v string) write {
	return func(ctx context.Context, c redis.Cmdable, key string) error { return c.Set(ctx, key, v, 0).Err() }
}

func hash(fields ...string) write {
	return func(ctx context.Context, c redis.Cmdable, key string) error {
		args := make([]any, len(fields))
		for i, f := range fields {
			args[i] = f
		}
		return c.HSet(ctx, key, args...).Err()
	}
}

func list(ctx context.Context, c redis.Cmdable, key string) error {
	return c.RPush(ctx, key, "a").Err()
}

// fresh returns the test's env with no keys left under its prefix, nor
// under "other-" and its prefix, from an earlier run with -count.
func fresh(t *testing.T) *env {
	e := newEnv(t)
	ctx := context.Background()
	for _, match := range []string{e.prefix + "*", "other-" + e.prefix + "*"} {
		iter := e.redis.Scan(ctx, 0, match, 1000).Iterator()
		for iter.Next(ctx) {
			e.redis.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// lintLines runs lint with args and returns its findings by key, each
// finding the rest of its line, sorted, and the exit code.
func (e *env) lintLines(args ...string) (map[string][]string, string, int) {
	e.t.Helper()
	out, errOut, code := e.ctl("", append([]string{"lint"}, args...)...)
	got := map[string][]string{}
	for line := range strings.Lines(out) {
		key, rest, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "\t")
		if !ok {
			e.t.Fatalf("lint line %q has no tab", line)
		}
		got[key] = append(got[key], rest)
	}
	for _, v := range got {
		slices.Sort(v)
	}
	return got, errOut, code
}

const (
	noQuery      = "address text is not canonical; no query reads this key"
	zerosNoQuery = "IPv4 octets written with leading zeros, read as decimal; no query reads this key"
)

// TestLint: every kind of finding, with its exact reason; valid records and
// keys of other prefixes are not reported.
func TestLint(t *testing.T) {
	e := fresh(t)
	ctx := context.Background()
	tests := []struct {
		text  string // address text of the key
		value write
		want  []string // findings: kind, reason, canonical key (unquoted)
	}{
		// Valid records.
		{text: "192.0.2.1", value: str("a.example.com")},
		{text: "2001:db8::1", value: hash("ptr", "b.example.com.", "ttl", "300", "disabled", "no", "note", "kept")},
		{text: "::ffff:192.0.2.2", value: str("mapped.example.com")},
		{text: "192.0.2.3", value: str("bücher.example")},

		// Values the plugin rejects.
		{text: "192.0.2.10", value: str("bad name"),
			want: []string{`invalid	host name "bad name": label "bad name" holds ' ', not a letter, digit or hyphen`}},
		{text: "192.0.2.11", value: str("-lead.example.com"),
			want: []string{`invalid	host name "-lead.example.com": label "-lead" starts or ends with a hyphen`}},
		{text: "192.0.2.12", value: str(""), want: []string{"invalid\thost name is empty"}},
		{text: "192.0.2.13", value: str("a..example.com"),
			want: []string{`invalid	host name "a..example.com": empty label`}},
		{text: "192.0.2.14", value: hash("ptr", "c.example.com", "ttl", "-5"),
			want: []string{`invalid	ttl "-5" is not a whole number of seconds`}},
		{text: "192.0.2.15", value: hash("ptr", "c.example.com", "ttl", "2147483648"),
			want: []string{`invalid	ttl "2147483648" is above the maximum 2147483647`}},
		{text: "192.0.2.16", value: hash("ptr", "c.example.com", "disabled", "maybe"),
			want: []string{`invalid	disabled field: "maybe" is not one of 1, true, yes, on, 0, false, no, off`}},
		{text: "192.0.2.17", value: hash("ttl", "300"), want: []string{"invalid\thash has no ptr field"}},
		{text: "192.0.2.18", value: list, want: []string{"invalid\tkey holds neither a string nor a hash"}},

		// Address text no query reads, with the key it means.
		{text: "2001:0db8::10", value: str("d.example.com"), want: []string{"non-canonical\t" + noQuery + "\t2001:db8::10"}},
		{text: "2001:DB8::11", value: str("d.example.com"), want: []string{"non-canonical\t" + noQuery + "\t2001:db8::11"}},
		{text: "2001:db8:0:0:0:0:0:12", value: str("d.example.com"), want: []string{"non-canonical\t" + noQuery + "\t2001:db8::12"}},
		{text: "::FFFF:192.0.2.20", value: str("d.example.com"), want: []string{"non-canonical\t" + noQuery + "\t::ffff:192.0.2.20"}},
		{text: "::ffff:c000:215", value: str("d.example.com"), want: []string{"non-canonical\t" + noQuery + "\t::ffff:192.0.2.21"}},
		{text: "192.0.2.22 ", value: str("d.example.com"), want: []string{"non-canonical\t" + noQuery + "\t192.0.2.22"}},
		{text: "010.0.0.1", value: str("d.example.com"), want: []string{"non-canonical\t" + zerosNoQuery + "\t10.0.0.1"}},
		{text: "192.000.002.023", value: hash("ptr", "d.example.com", "ttl", "60"), want: []string{"non-canonical\t" + zerosNoQuery + "\t192.0.2.23"}},
		{text: "fe80::1%eth0", value: str("d.example.com"),
			want: []string{"non-canonical\tIPv6 address with a zone, which no query carries; no query reads this key\tfe80::1"}},
		// A misspelt key whose value is invalid as well: two findings.
		{text: "2001:0db8::13", value: list,
			want: []string{"invalid\tkey holds neither a string nor a hash", "non-canonical\t" + noQuery + "\t2001:db8::13"}},

		// No address at all.
		{text: "foo", value: str("e.example.com"), want: []string{`not-an-address	"foo" is not an IP address; no query reads this key`}},
		{text: "192.0.2.256", value: str("e.example.com"), want: []string{`not-an-address	"192.0.2.256" is not an IP address; no query reads this key`}},
		{text: "192.0.2.0/24", value: str("e.example.com"),
			want: []string{`not-an-address	"192.0.2.0/24" is a network, not an address: each address has a key of its own; no query reads this key`}},
		{text: "", value: str("e.example.com"),
			want: []string{`not-an-address	no address after "` + e.prefix + `ptr:"; no query reads this key`}},

		// Misspelt keys whose canonical key exists.
		{text: "192.0.2.30", value: str("f.example.com.")},
		{text: "192.0.2.030", value: str("f.example.com"),
			want: []string{"conflict\t" + zerosNoQuery + "; the canonical key exists with the same record: this key is a redundant duplicate; both left as they are\t192.0.2.30"}},
		{text: "2001:db8::31", value: hash("ptr", "g.example.com", "ttl", "60")},
		{text: "2001:db8::0031", value: hash("ptr", "g.example.com", "ttl", "61"),
			want: []string{"conflict\t" + noQuery + "; the canonical key exists with a different record; both left as they are\t2001:db8::31"}},
		{text: "192.0.2.32", value: hash("ttl", "1"), want: []string{"invalid\thash has no ptr field"}},
		{text: "192.0.2.032", value: str("h.example.com"),
			want: []string{"conflict\t" + zerosNoQuery + "; the canonical key exists and holds an invalid record; both left as they are\t192.0.2.32"}},
	}
	want := map[string][]string{}
	findings := 0
	for _, tc := range tests {
		key := e.key(tc.text)
		if err := tc.value(ctx, e.redis, key); err != nil {
			t.Fatal(err)
		}
		if tc.want == nil {
			continue
		}
		var lines []string
		for _, w := range tc.want {
			kind, rest, _ := strings.Cut(w, "\t")
			if reason, canonical, ok := strings.Cut(rest, "\t"); ok {
				w = kind + "\t" + reason + "\t" + e.key(canonical)
			}
			lines = append(lines, w)
		}
		slices.Sort(lines)
		want[quoteKey(key)] = lines
		findings += len(lines)
	}
	// Keys of other prefixes, and of this prefix outside ptr:, are not
	// looked at.
	other := []string{"other-" + e.prefix + "ptr:2001:0DB8::1", "other-" + e.prefix + "ptr:foo", e.prefix + "meta"}
	for _, k := range other {
		e.redis.Set(ctx, k, "not a name", 0)
	}

	got, errOut, code := e.lintLines()
	if code != exitProblems {
		t.Errorf("lint exited with %d, want %d; stderr:\n%s", code, exitProblems, errOut)
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if !slices.Equal(got[k], want[k]) {
			t.Errorf("%s:\n got  %q\n want %q", k, got[k], want[k])
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected findings for %s: %q", k, v)
		}
	}
	wantSummary := "lint: 33 keys scanned: 11 invalid, 4 not-an-address, 10 non-canonical, 3 conflict, 0 fixed\n" +
		"lint: --fix would move 9 non-canonical keys to their canonical keys\n" +
		"rptrctl: 28 findings remain\n"
	if findings != 28 || errOut != wantSummary {
		t.Errorf("%d findings expected; stderr:\n%s\nwant:\n%s", findings, errOut, wantSummary)
	}
	// The key with a trailing space is written quoted.
	if _, ok := got[`"`+e.key("192.0.2.22 ")+`"`]; !ok {
		t.Errorf("the key with a space is not quoted: %v", slices.Collect(maps.Keys(got)))
	}
	// lint without --fix changes nothing.
	if n := len(e.redis.Keys(ctx, e.prefix+"ptr:*").Val()); n != len(tests) {
		t.Errorf("%d keys after lint, want %d", n, len(tests))
	}
	for _, k := range other {
		if v := e.redis.Get(ctx, k).Val(); v != "not a name" {
			t.Errorf("lint changed %s to %q", k, v)
		}
	}

	// JSON: one object per finding, the same findings.
	out := e.must(exitProblems, "--json", "lint")
	n := 0
	for line := range strings.Lines(out) {
		var f finding
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("lint --json line %q: %v", line, err)
		}
		if !slices.Contains(findingKinds, f.Kind) || f.Reason == "" || !strings.HasPrefix(f.Key, e.prefix+"ptr:") ||
			(f.Kind == kindNonCanonical || f.Kind == kindConflict) != (f.Canonical != "") ||
			f.Duplicate != (f.Key == e.key("192.0.2.030")) {
			t.Errorf("lint --json: %+v", f)
		}
		n++
	}
	if n != findings {
		t.Errorf("lint --json wrote %d findings, want %d", n, findings)
	}
}

// TestLintClean: a keyspace with valid records only, or none, exits 0.
func TestLintClean(t *testing.T) {
	e := fresh(t)
	ctx := context.Background()
	_, errOut, code := e.ctl("", "lint")
	if code != exitOK || errOut != "lint: 0 keys scanned: 0 invalid, 0 not-an-address, 0 non-canonical, 0 conflict, 0 fixed\n" {
		t.Errorf("lint of nothing: exit %d, stderr %q", code, errOut)
	}
	e.must(exitOK, "set", "192.0.2.1", "a.example.com", "--expire", "1h")
	e.must(exitOK, "set", "2001:db8::1", "b.example.com", "--ttl", "60", "--disabled")
	e.redis.Set(ctx, "other-"+e.prefix+"ptr:010.0.0.1", "x", 0)
	for _, args := range [][]string{{"lint"}, {"lint", "--fix"}, {"--json", "lint"}} {
		out, errOut, code := e.ctl("", args...)
		if code != exitOK || out != "" || errOut != "lint: 2 keys scanned: 0 invalid, 0 not-an-address, 0 non-canonical, 0 conflict, 0 fixed\n" {
			t.Errorf("rptrctl %v of a clean keyspace: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	if v := e.redis.Get(ctx, "other-"+e.prefix+"ptr:010.0.0.1").Val(); v != "x" {
		t.Errorf("lint --fix touched another prefix's key: %q", v)
	}

	_, errOut, code = e.ctl("", "lint", "extra")
	if code != exitUsage {
		t.Errorf("lint with an argument: exit %d, %q", code, errOut)
	}
	var stdout, stderr bytes.Buffer
	code = run(ctx, []string{"--redis", "redis://127.0.0.1:1/0", "lint"}, strings.NewReader(""), &stdout, &stderr)
	if code != exitFailure || !strings.Contains(stderr.String(), "cannot reach Redis") {
		t.Errorf("lint with Redis unreachable: exit %d, %q", code, stderr.String())
	}
}

// keyState is what a key holds, for comparing before and after.
type keyState struct {
	typ  string
	str  string
	hash map[string]string
	pttl time.Duration
}

func stateOf(t *testing.T, c redis.Cmdable, key string) keyState {
	t.Helper()
	ctx := context.Background()
	s := keyState{typ: c.Type(ctx, key).Val(), pttl: c.PTTL(ctx, key).Val()}
	switch s.typ {
	case "string":
		s.str = c.Get(ctx, key).Val()
	case "hash":
		s.hash = c.HGetAll(ctx, key).Val()
	}
	return s
}

// sameState compares a key's value exactly and its expiry within slack.
func sameState(a, b keyState, slack time.Duration) bool {
	if a.typ != b.typ || a.str != b.str || !maps.Equal(a.hash, b.hash) {
		return false
	}
	if a.pttl < 0 || b.pttl < 0 {
		return a.pttl == b.pttl
	}
	return b.pttl <= a.pttl && a.pttl-b.pttl <= slack
}

// fixCase is a key lint --fix meets, and what becomes of it.
type fixCase struct {
	text      string // address text of the key
	value     write
	expire    time.Duration
	kind      string // the finding's kind; "" for none
	moveTo    string // the canonical text it is moved to, or "" when left alone
	duplicate bool   // for a conflict: same record
}

var fixCases = []fixCase{
	{text: "2001:0DB8::1", value: str("lease.example.com"), expire: time.Hour, kind: kindFixed, moveTo: "2001:db8::1"},
	{text: "010.000.000.001", value: hash("ptr", "h.example.com", "ttl", "300", "disabled", "1", "note", "kept"),
		kind: kindFixed, moveTo: "10.0.0.1"},
	{text: "::ffff:c000:201", value: hash("ptr", "m.example.com"), expire: 90 * time.Minute, kind: kindFixed, moveTo: "::ffff:192.0.2.1"},
	// A conflict: both keys stay as they are.
	{text: "192.0.2.10", value: str("same.example.com"), expire: time.Hour},
	{text: "192.0.2.010", value: str("same.example.com."), kind: kindConflict, duplicate: true},
	{text: "2001:db8::20", value: hash("ptr", "one.example.com")},
	{text: "2001:db8::0020", value: hash("ptr", "two.example.com"), expire: time.Hour, kind: kindConflict},
	// An invalid value is never moved.
	{text: "2001:db8:0::30", value: hash("ttl", "1"), kind: kindNonCanonical},
	// Not an address: nothing to move to.
	{text: "mail", value: str("mail.example.com"), kind: kindNotAddress},
}

// checkFix runs lint --fix through run with args and checks every case:
// moved keys hold the value and expiry they had, the others are untouched.
func checkFix(t *testing.T, c redis.Cmdable, prefix string, args []string) {
	t.Helper()
	ctx := context.Background()
	key := func(text string) string { return prefix + "ptr:" + text }
	before := map[string]keyState{}
	for _, tc := range fixCases {
		if err := tc.value(ctx, c, key(tc.text)); err != nil {
			t.Fatal(err)
		}
		if tc.expire > 0 {
			c.Expire(ctx, key(tc.text), tc.expire)
		}
		before[tc.text] = stateOf(t, c, key(tc.text))
	}
	other := "other-" + prefix + "ptr:2001:0DB8::1"
	c.Set(ctx, other, "other.example.com", 0)

	lint := func(args ...string) (string, string, int) {
		var out, errOut bytes.Buffer
		code := run(ctx, append(append([]string{}, args...), "--prefix", prefix, "lint", "--fix"), strings.NewReader(""), &out, &errOut)
		return out.String(), errOut.String(), code
	}
	out, errOut, code := lint(args...)
	if code != exitProblems {
		t.Fatalf("lint --fix: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitProblems, out, errOut)
	}
	kinds := map[string]string{}
	for line := range strings.Lines(out) {
		f := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		if f[1] != kindInvalid {
			kinds[f[0]] = f[1]
		}
		if f[1] == kindFixed && (len(f) != 4 || f[2] != noQuery+"; moved to the canonical key with its value and expiry" &&
			f[2] != zerosNoQuery+"; moved to the canonical key with its value and expiry") {
			t.Errorf("fixed line %q", line)
		}
		if f[1] == kindNonCanonical && f[2] != noQuery+"; not moved: the value is invalid" {
			t.Errorf("line %q: want the reason to say an invalid value is not moved", line)
		}
		if f[1] == kindConflict && strings.Contains(f[2], "same record") != (f[0] == key("192.0.2.010")) {
			t.Errorf("conflict line %q", line)
		}
	}
	for _, tc := range fixCases {
		k := key(tc.text)
		if kinds[k] != tc.kind {
			t.Errorf("%s: finding %q, want %q", k, kinds[k], tc.kind)
		}
		if tc.moveTo == "" {
			if after := stateOf(t, c, k); !sameState(before[tc.text], after, time.Second) {
				t.Errorf("%s was changed: %+v, was %+v", k, after, before[tc.text])
			}
			continue
		}
		if n := c.Exists(ctx, k).Val(); n != 0 {
			t.Errorf("%s still exists after the move", k)
		}
		if after := stateOf(t, c, key(tc.moveTo)); !sameState(before[tc.text], after, time.Second) {
			t.Errorf("moved to %s: %+v, want %+v", key(tc.moveTo), after, before[tc.text])
		}
	}
	wantSummary := "lint: 9 keys scanned: 1 invalid, 1 not-an-address, 1 non-canonical, 2 conflict, 3 fixed\nrptrctl: 5 findings remain\n"
	if errOut != wantSummary {
		t.Errorf("stderr:\n%s\nwant:\n%s", errOut, wantSummary)
	}
	if v := c.Get(ctx, other).Val(); v != "other.example.com" {
		t.Errorf("another prefix's key was touched: %q", v)
	}

	// A second run finds the moved keys canonical, and fixes nothing more.
	_, errOut, code = lint(args...)
	if want := "lint: 9 keys scanned: 1 invalid, 1 not-an-address, 1 non-canonical, 2 conflict, 0 fixed\n"; code != exitProblems || !strings.HasPrefix(errOut, want) {
		t.Errorf("second lint --fix: exit %d, stderr %q; want %q", code, errOut, want)
	}
}

// TestLintFix: --fix moves non-canonical keys with value and expiry,
// reports conflicts and leaves them, and never moves invalid values.
func TestLintFix(t *testing.T) {
	e := fresh(t)
	checkFix(t, e.redis, e.prefix, []string{"--redis", rdb.URL(0)})
}

// TestLintFixSpellings: two spellings of one address, with no canonical
// key: the first met is moved, the other is then a conflict.
func TestLintFixSpellings(t *testing.T) {
	e := fresh(t)
	checkSpellings(t, e.redis, e.prefix, []string{"--redis", rdb.URL(0)})
}

func checkSpellings(t *testing.T, c redis.Cmdable, prefix string, args []string) {
	t.Helper()
	ctx := context.Background()
	key := func(text string) string { return prefix + "ptr:" + text }
	c.Set(ctx, key("2001:DB8::40"), "a.example.com", time.Hour)
	c.Set(ctx, key("2001:0db8::40"), "a.example.com", time.Hour)
	var out, errOut bytes.Buffer
	code := run(ctx, append(append([]string{}, args...), "--prefix", prefix, "lint", "--fix"), strings.NewReader(""), &out, &errOut)
	var kinds []string
	for line := range strings.Lines(out.String()) {
		kinds = append(kinds, strings.Split(line, "\t")[1])
	}
	slices.Sort(kinds)
	if code != exitProblems || !slices.Equal(kinds, []string{kindConflict, kindFixed}) {
		t.Errorf("lint --fix of two spellings: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
	if s := stateOf(t, c, key("2001:db8::40")); s.str != "a.example.com" || s.pttl < 59*time.Minute {
		t.Errorf("canonical key: %+v", s)
	}
	// One EXISTS per key: a cluster refuses one across slots.
	if n := c.Exists(ctx, key("2001:DB8::40")).Val() + c.Exists(ctx, key("2001:0db8::40")).Val(); n != 1 {
		t.Errorf("%d of the two spellings left, want the conflicting one", n)
	}

	// Two spellings with different records: neither is moved, both are
	// conflicts, since which one is meant is for a human to say.
	c.Set(ctx, key("010.0.0.1"), "a.example.com", 0)
	c.Set(ctx, key("10.0.0.01"), "b.example.com", 0)
	out.Reset()
	errOut.Reset()
	code = run(ctx, append(append([]string{}, args...), "--prefix", prefix, "lint", "--fix"), strings.NewReader(""), &out, &errOut)
	conflicts := 0
	for line := range strings.Lines(out.String()) {
		if f := strings.Split(line, "\t"); len(f) > 2 && f[1] == kindConflict && strings.Contains(f[2], "other keys spell the same address with a different record") {
			conflicts++
		}
	}
	if code != exitProblems || conflicts != 2 || c.Exists(ctx, key("10.0.0.1")).Val() != 0 {
		t.Errorf("lint --fix of two spellings with different records: exit %d, stdout %q", code, out.String())
	}
}

// TestLintFixCluster: in a cluster, keys in different hash slots are
// copied and deleted, keys of a hash-tagged prefix renamed; either way
// with their value and expiry.
func TestLintFixCluster(t *testing.T) {
	cl := redistest.NewCluster(t, 3)
	c := cl.Client()
	t.Cleanup(func() { c.Close() })
	for _, prefix := range []string{"lint-cluster:", "{lint-cluster}:"} {
		t.Run(prefix, func(t *testing.T) {
			args := []string{"--mode", "cluster", "--redis", cl.URL()}
			checkFix(t, c, prefix, args)
			checkSpellings(t, c, "spellings-"+prefix, args)
		})
	}
}
