package main

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSetGet(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tests := []struct {
		name       string
		args       []string
		key        string
		wantString string            // the string form, or
		wantHash   map[string]string // the hash form
		wantLine   string
	}{
		{name: "plain", args: []string{"192.0.2.10", "mail.example.com"}, key: "192.0.2.10",
			wantString: "mail.example.com", wantLine: "192.0.2.10\tmail.example.com.\t-\tenabled\t-"},
		{name: "non-canonical address, trailing dot", args: []string{"2001:0DB8::0025", "mx.example.com."}, key: "2001:db8::25",
			wantString: "mx.example.com", wantLine: "2001:db8::25\tmx.example.com.\t-\tenabled\t-"},
		{name: "unicode", args: []string{"192.0.2.11", "bücher.example"}, key: "192.0.2.11",
			wantString: "xn--bcher-kva.example", wantLine: "192.0.2.11\txn--bcher-kva.example.\t-\tenabled\t-"},
		{name: "ttl", args: []string{"192.0.2.12", "ttl.example.com", "--ttl", "300"}, key: "192.0.2.12",
			wantHash: map[string]string{"ptr": "ttl.example.com", "ttl": "300"}, wantLine: "192.0.2.12\tttl.example.com.\t300\tenabled\t-"},
		{name: "disabled", args: []string{"--disabled", "192.0.2.13", "off.example.com"}, key: "192.0.2.13",
			wantHash: map[string]string{"ptr": "off.example.com", "disabled": "1"}, wantLine: "192.0.2.13\toff.example.com.\t-\tdisabled\t-"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := e.must(exitOK, append([]string{"set"}, tc.args...)...)
			if strings.TrimSpace(out) != tc.wantLine {
				t.Errorf("set printed %q, want %q", out, tc.wantLine)
			}
			if got := e.must(exitOK, "get", tc.key); strings.TrimSpace(got) != tc.wantLine {
				t.Errorf("get printed %q, want %q", got, tc.wantLine)
			}
			if tc.wantHash == nil {
				if got := e.redis.Get(ctx, e.key(tc.key)).Val(); got != tc.wantString {
					t.Errorf("Redis holds %q, want the string %q", got, tc.wantString)
				}
			} else if got := e.redis.HGetAll(ctx, e.key(tc.key)).Val(); !equalMaps(got, tc.wantHash) {
				t.Errorf("Redis holds %v, want the hash %v", got, tc.wantHash)
			}
		})
	}

	// A hash replaced by a plain name becomes a string again.
	e.must(exitOK, "set", "192.0.2.12", "plain.example.com")
	if typ := e.redis.Type(ctx, e.key("192.0.2.12")).Val(); typ != "string" {
		t.Errorf("a record rewritten without ttl is a %s, want a string", typ)
	}

	// Expiry.
	e.must(exitOK, "set", "192.0.2.14", "lease.example.com", "--expire", "1h")
	if ttl := e.redis.PTTL(ctx, e.key("192.0.2.14")).Val(); ttl < 59*time.Minute || ttl > time.Hour {
		t.Errorf("--expire 1h left a PTTL of %v", ttl)
	}

	// JSON.
	var j recordJSON
	if err := json.Unmarshal([]byte(e.must(exitOK, "--json", "get", "192.0.2.14")), &j); err != nil {
		t.Fatal(err)
	}
	if !j.Found || j.Name != "lease.example.com." || j.Expires == "" || j.Key != e.key("192.0.2.14") {
		t.Errorf("get --json = %+v", j)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestRejects: bad input is refused with exit 2 and nothing is written.
func TestRejects(t *testing.T) {
	e := newEnv(t)
	for _, args := range [][]string{
		{"set", "192.0.2.300", "a.example.com"},
		{"set", "fe80::1%eth0", "a.example.com"},
		{"set", "192.0.2.1", "bad_name.example.com"},
		{"set", "192.0.2.1", "-lead.example.com"},
		{"set", "192.0.2.1", "a.example.com", "--ttl", "-5"},
		{"set", "192.0.2.1", "a.example.com", "--ttl", "2147483648"},
		{"set", "192.0.2.1", "a.example.com", "--expire", "soon"},
		{"set", "192.0.2.1", "a.example.com", "--expire", "1ms"},
		{"set", "192.0.2.1", "a.example.com", "--expire", "-1h"},
		{"set", "192.0.2.1"},
		{"get"},
		{"list", "10.0.0.1/8"},
		{"frobnicate"},
		{"set", "--colour", "192.0.2.1", "a.example.com"},
	} {
		_, errOut, code := e.ctl("", args...)
		if code != exitUsage || !strings.HasPrefix(errOut, "rptrctl: ") {
			t.Errorf("rptrctl %v: exit %d, stderr %q; want exit 2 and an error", args, code, errOut)
		}
	}
	if keys := e.redis.Keys(context.Background(), e.prefix+"*").Val(); len(keys) != 0 {
		t.Errorf("rejected commands wrote %v", keys)
	}
}

func TestGetDelMissing(t *testing.T) {
	e := newEnv(t)
	if _, errOut, code := e.ctl("", "get", "192.0.2.99"); code != exitProblems || !strings.Contains(errOut, "no record for 192.0.2.99") {
		t.Errorf("get of a missing record: exit %d, %q", code, errOut)
	}
	e.redis.Set(context.Background(), e.key("192.0.2.3"), "not a name", 0)
	if out := e.must(exitProblems, "get", "192.0.2.3"); !strings.Contains(out, "\tinvalid: ") {
		t.Errorf("get of an invalid record printed %q", out)
	}
	e.must(exitOK, "set", "192.0.2.1", "a.example.com")
	if out := e.must(exitProblems, "del", "192.0.2.1", "192.0.2.2"); !strings.Contains(out, "deleted 1 of 2") {
		t.Errorf("del printed %q", out)
	}
	e.must(exitProblems, "get", "192.0.2.1")
}

func TestDisableEnable(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.must(exitOK, "set", "192.0.2.1", "a.example.com", "--expire", "1h")
	e.must(exitOK, "set", "192.0.2.2", "b.example.com", "--ttl", "60")
	if out := e.must(exitOK, "disable", "192.0.2.1"); !strings.Contains(out, "\tdisabled\t") {
		t.Errorf("disable printed %q", out)
	}
	if ttl := e.redis.PTTL(ctx, e.key("192.0.2.1")).Val(); ttl < 59*time.Minute {
		t.Errorf("disable lost the expiry: PTTL %v", ttl)
	}
	e.must(exitOK, "enable", "192.0.2.1")
	if got := e.redis.HGetAll(ctx, e.key("192.0.2.1")).Val(); len(got) != 1 || got["ptr"] != "a.example.com" {
		t.Errorf("enable left %v, want the hash with ptr alone", got)
	}
	if ttl := e.redis.PTTL(ctx, e.key("192.0.2.1")).Val(); ttl < 59*time.Minute {
		t.Errorf("enable lost the expiry: PTTL %v", ttl)
	}
	// Only the disabled field changes: an operator's own fields stay.
	e.redis.HSet(ctx, e.key("192.0.2.5"), "ptr", "e.example.com", "ttl", "300", "owner", "ticket-42")
	e.must(exitOK, "disable", "192.0.2.5")
	if got := e.redis.HGetAll(ctx, e.key("192.0.2.5")).Val(); got["owner"] != "ticket-42" || got["ttl"] != "300" || got["disabled"] != "1" {
		t.Errorf("disable of a hash with other fields left %v", got)
	}
	e.must(exitOK, "enable", "192.0.2.5")
	if got := e.redis.HGetAll(ctx, e.key("192.0.2.5")).Val(); got["owner"] != "ticket-42" || got["disabled"] != "" || len(got) != 3 {
		t.Errorf("enable of a hash with other fields left %v", got)
	}
	e.must(exitOK, "disable", "192.0.2.2")
	if got := e.redis.HGetAll(ctx, e.key("192.0.2.2")).Val(); got["ttl"] != "60" || got["disabled"] != "1" {
		t.Errorf("disable of a record with ttl: %v", got)
	}
	e.must(exitProblems, "disable", "192.0.2.3")
	e.redis.Set(ctx, e.key("192.0.2.4"), "not a name", 0)
	e.must(exitProblems, "enable", "192.0.2.4")
}

func TestList(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for ip, name := range map[string]string{"192.0.2.1": "a.example.com", "192.0.2.2": "b.example.com", "198.51.100.1": "c.example.com", "2001:db8::1": "d.example.com"} {
		e.must(exitOK, "set", ip, name)
	}
	e.redis.Set(ctx, e.key("192.0.2.3"), "not a name", 0)
	e.redis.Set(ctx, e.key("192.0.2.003"), "hidden.example.com", 0) // never matches a query
	e.redis.Set(ctx, "other:ptr:192.0.2.9", "other.example.com", 0)

	lines := func(out string) []string {
		l := strings.Split(strings.TrimSpace(out), "\n")
		slices.Sort(l)
		return l
	}
	want := []string{
		"192.0.2.1\ta.example.com.\t-\tenabled\t-",
		"192.0.2.2\tb.example.com.\t-\tenabled\t-",
		"192.0.2.3\tinvalid\t-\tinvalid: host name \"not a name\": label \"not a name\" holds ' ', not a letter, digit or hyphen\t-",
	}
	if got := lines(e.must(exitOK, "list", "192.0.2.0/24")); !slices.Equal(got, want) {
		t.Errorf("list 192.0.2.0/24:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := lines(e.must(exitOK, "list")); len(got) != 5 {
		t.Errorf("list: %d lines, want 5:\n%s", len(got), strings.Join(got, "\n"))
	}
	if got := lines(e.must(exitOK, "list", "2001:db8::/32", "198.51.100.0/24")); len(got) != 2 {
		t.Errorf("list of two networks: %v", got)
	}
	for _, l := range lines(e.must(exitOK, "--json", "list", "192.0.2.0/24")) {
		var j recordJSON
		if err := json.Unmarshal([]byte(l), &j); err != nil || !j.Found {
			t.Errorf("list --json line %q: %v", l, err)
		}
	}
}

func TestRedisUnreachable(t *testing.T) {
	var out strings.Builder
	var errOut strings.Builder
	code := run(context.Background(), []string{"--redis", "redis://127.0.0.1:1/0", "get", "192.0.2.1"}, strings.NewReader(""), &out, &errOut)
	if code != exitFailure || !strings.Contains(errOut.String(), "cannot reach Redis at 127.0.0.1:1") {
		t.Errorf("unreachable Redis: exit %d, %q", code, errOut.String())
	}
}

// TestHelp: every command has help, and it says what the command does.
func TestHelp(t *testing.T) {
	e := newEnv(t)
	// A password in the environment's URL never shows in help.
	t.Setenv("RPTR_REDIS_URL", "redis://operator:s3cret-in-env@127.0.0.1:1/0")
	root := newRoot(&app{})
	for _, c := range root.Commands() {
		if c.Name() == "completion" || c.Name() == "help" {
			continue
		}
		out := e.must(exitOK, c.Name(), "--help")
		if !strings.Contains(out, "Usage:") || !strings.Contains(out, c.Long[:20]) || strings.Contains(out, "s3cret") {
			t.Errorf("%s --help:\n%s", c.Name(), out)
		}
	}
}
