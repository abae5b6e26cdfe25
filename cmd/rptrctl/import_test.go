package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rptr-dns/rptr/internal/redistest"
	"github.com/rptr-dns/rptr/ptrstore"
)

// freshEnv is newEnv with no key under the test's prefix, left by an
// earlier run of the test (go test -count).
func freshEnv(t *testing.T) *env {
	e := newEnv(t)
	ctx := context.Background()
	iter := e.redis.Scan(ctx, 0, e.prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		e.redis.Del(ctx, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return e
}

// stored returns the records under prefix as the plugin reads them,
// address -> "name ttl" ("-" for none), with " disabled" added for a
// disabled record and "invalid" for an invalid one.
func stored(t *testing.T, prefix string) map[string]string {
	t.Helper()
	r, err := ptrstore.ParseRedis(ptrstore.ModeServer, rdb.URL(0))
	if err != nil {
		t.Fatal(err)
	}
	s := ptrstore.NewAdmin(r, prefix)
	defer s.Close()
	got := map[string]string{}
	err = s.Scan(context.Background(), "*", func(res []ptrstore.Result) error {
		for _, r := range res {
			if !r.Addr.IsValid() {
				continue
			}
			if r.Err != nil {
				got[r.Addr.String()] = "invalid"
				continue
			}
			got[r.Addr.String()] = describe(r.Record)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func describe(rec ptrstore.Record) string {
	ttl := "-"
	if rec.HasTTL {
		ttl = fmt.Sprint(rec.TTL)
	}
	s := rec.Name + " " + ttl
	if rec.Disabled {
		s += " disabled"
	}
	return s
}

// writeFile writes content into a file of the test's directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// summaryOf runs import with --json and returns its summary and the
// rejected lines, line -> reason.
func (e *env) importJSON(stdin string, want int, args ...string) (importSummary, map[int]string) {
	e.t.Helper()
	out, errOut, code := e.ctl(stdin, append([]string{"--json", "import"}, args...)...)
	if code != want {
		e.t.Fatalf("import %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, want, out, errOut)
	}
	var sum importSummary
	rejected := map[int]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var rej rejection
		if err := json.Unmarshal([]byte(l), &rej); err != nil {
			e.t.Fatalf("import --json wrote %q: %v", l, err)
		}
		switch rej.Kind {
		case "rejected":
			rejected[rej.Line] = rej.Reason
		case "summary":
			json.Unmarshal([]byte(l), &sum)
		default:
			e.t.Fatalf("import --json wrote %q, of no known kind", l)
		}
	}
	return sum, rejected
}

// TestImport: each format, with the records it must store.
func TestImport(t *testing.T) {
	tests := []struct {
		name    string
		file    string // file name; "-" for stdin
		content string
		args    []string
		want    map[string]string
	}{
		{
			name: "csv with header", file: "records.csv",
			content: "ip,name,ttl,disabled\n" +
				"192.0.2.1,a.example.com,,\n" +
				"2001:DB8:0::1, b.example.com. ,300\n" +
				"192.0.2.2,c.example.com,60,yes\n" +
				"# a comment\n" +
				"192.0.2.3,bücher.example,,0\n",
			want: map[string]string{
				"192.0.2.1":   "a.example.com. -",
				"2001:db8::1": "b.example.com. 300",
				"192.0.2.2":   "c.example.com. 60 disabled",
				"192.0.2.3":   "xn--bcher-kva.example. -",
			},
		},
		{
			name: "csv without header, told by content, BOM and CRLF", file: "records.txt",
			content: "\uFEFF192.0.2.1,a.example.com\r\n\"192.0.2.2\",\"b.example.com\",7\r\n",
			want:    map[string]string{"192.0.2.1": "a.example.com. -", "192.0.2.2": "b.example.com. 7"},
		},
		{
			name: "csv header ip,name only", file: "r.csv",
			content: "IP,Name\n192.0.2.1,a.example.com\n",
			want:    map[string]string{"192.0.2.1": "a.example.com. -"},
		},
		{
			name: "hosts with comments and aliases", file: "hosts",
			content: "# /etc/hosts\n" +
				"127.0.0.1\tlocalhost\n" +
				"192.0.2.5   web.example.com web www   # the web server\n" +
				"\n" +
				"   # indented comment\n" +
				"2001:db8::5 mail.example.com\n",
			want: map[string]string{
				"127.0.0.1":   "localhost. -",
				"192.0.2.5":   "web.example.com. -",
				"2001:db8::5": "mail.example.com. -",
			},
		},
		{
			name: "hosts told by content", file: "-", args: []string{"-"},
			content: "192.0.2.5 web.example.com web\n",
			want:    map[string]string{"192.0.2.5": "web.example.com. -"},
		},
		{
			name: "zone with $ORIGIN, $TTL, relative names", file: "2.0.192.in-addr.arpa.zone",
			content: "$ORIGIN 2.0.192.in-addr.arpa.\n" +
				"$TTL 1h\n" +
				"@ IN SOA ns.example.com. hostmaster.example.com. (\n" +
				"      2024010101 ; serial\n" +
				"      3600 900 604800 300 )\n" +
				"  IN NS ns.example.com.\n" +
				"10  IN PTR mail.example.com.   ; the mail server\n" +
				"11  300 IN PTR www             ; relative target\n" +
				"12  IN 60 PTR ( bücher.example. )\n" +
				"13.2.0.192.in-addr.arpa. PTR abs.example.com.\n" +
				"$ORIGIN 3.0.192.in-addr.arpa.\n" +
				"1 PTR three.example.com.\n" +
				"$TTL 0\n" +
				"2 PTR zero.example.com.\n",
			want: map[string]string{
				"192.0.2.10": "mail.example.com. 3600",
				"192.0.2.11": "www.2.0.192.in-addr.arpa. 300",
				"192.0.2.12": "xn--bcher-kva.example. 60",
				"192.0.2.13": "abs.example.com. 3600",
				"192.0.3.1":  "three.example.com. 3600",
				"192.0.3.2":  "zero.example.com. 0",
			},
		},
		{
			name: "zone without $TTL: a line's TTL is its own", file: "export.zone",
			content: "1.2.0.192.in-addr.arpa.\t300\tIN\tPTR\ta.example.com.\n" +
				"2.2.0.192.in-addr.arpa.\tIN\tPTR\tb.example.com.\n" +
				"3.2.0.192.in-addr.arpa. PTR c.example.com.\n",
			want: map[string]string{
				"192.0.2.1": "a.example.com. 300",
				"192.0.2.2": "b.example.com. -",
				"192.0.2.3": "c.example.com. -",
			},
		},
		{
			name: "zone $GENERATE range", file: "gen.db",
			content: "$ORIGIN 2.0.192.in-addr.arpa.\n" +
				"$GENERATE 10-20/5 $ PTR host-$.example.com.\n" +
				"$TTL 120\n" +
				"$GENERATE 1-3 ${100} PTR dyn-${0,3,d}\n" +
				"$GENERATE 30-31 $ 45 PTR ttl-$.example.com.\n" +
				"$ORIGIN example.com.\n" +
				"$GENERATE 40-41 $.2.0.192.in-addr.arpa. PTR rel-$\n",
			want: map[string]string{
				"192.0.2.10":  "host-10.example.com. -",
				"192.0.2.15":  "host-15.example.com. -",
				"192.0.2.20":  "host-20.example.com. -",
				"192.0.2.101": "dyn-001.2.0.192.in-addr.arpa. 120",
				"192.0.2.102": "dyn-002.2.0.192.in-addr.arpa. 120",
				"192.0.2.103": "dyn-003.2.0.192.in-addr.arpa. 120",
				"192.0.2.30":  "ttl-30.example.com. 45",
				"192.0.2.31":  "ttl-31.example.com. 45",
				"192.0.2.40":  "rel-40.example.com. 120",
				"192.0.2.41":  "rel-41.example.com. 120",
			},
		},
		{
			name: "zone IPv6 with --origin, from stdin", file: "-",
			args: []string{"--origin", "8.b.d.0.1.0.0.2.ip6.arpa", "--format", "zone", "-"},
			content: "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 PTR v6.example.com.\n" +
				"2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 PTR v6b.example.com.\n",
			want: map[string]string{"2001:db8::1": "v6.example.com. -", "2001:db8::2": "v6b.example.com. -"},
		},
		{
			name: "zone, RFC 2317 classless", file: "classless.zone",
			content: "$ORIGIN 128/26.2.0.192.in-addr.arpa.\n$TTL 30\n@ SOA ns. h. 1 2 3 4 5\n130 PTR c.example.com.\n",
			want:    map[string]string{"192.0.2.130": "c.example.com. 30"},
		},
		{
			name: "zone told by content", file: "reverse",
			content: "; reverse records\n\n$ORIGIN 2.0.192.in-addr.arpa.\n1 PTR a.example.com.\n",
			want:    map[string]string{"192.0.2.1": "a.example.com. -"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := freshEnv(t)
			args, stdin := tc.args, ""
			if tc.file == "-" {
				stdin = tc.content
			} else {
				args = append(args, writeFile(t, tc.file, tc.content))
			}
			sum, rejected := e.importJSON(stdin, exitOK, args...)
			if len(rejected) > 0 {
				t.Errorf("rejected: %v", rejected)
			}
			if got := stored(t, e.prefix); !maps.Equal(got, tc.want) {
				t.Errorf("stored:\n%v\nwant:\n%v", got, tc.want)
			}
			if sum.Read != len(tc.want) || sum.New != len(tc.want) || sum.Written != len(tc.want) {
				t.Errorf("summary %+v, want %d records read and new", sum, len(tc.want))
			}
		})
	}
}

// TestImportRejects: every rejected line is reported with its number and
// reason, and never written; the other lines are.
func TestImportRejects(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		content  string
		rejected map[int]string // line -> part of the reason
		want     map[string]string
	}{
		{
			name: "csv", file: "r.csv",
			content: "ip,name,ttl,disabled\n" + // 1
				"192.0.2.1,a.example.com\n" + // 2
				"192.0.2.300,b.example.com\n" + // 3
				"192.0.2.3\n" + // 4
				"192.0.2.4,bad_name.example.com\n" + // 5
				"192.0.2.5,e.example.com,-5\n" + // 6
				"192.0.2.6,f.example.com,2147483648\n" + // 7
				"192.0.2.7,g.example.com,,maybe\n" + // 8
				"fe80::1%eth0,h.example.com\n" + // 9
				"192.0.2.11,i.example.com,1,1,extra\n" + // 10
				"192.0.2.12,x.example.com\n" + // 11
				"192.0.2.12,y.example.com\n" + // 12
				"192.0.2.1,a.example.com\n" + // 13: a duplicate, not a conflict
				"192.0.2.20,\"bare\"quote\n" + // 14
				"ip,name\n" + // 15: a header only on line 1
				"192.0.2.21,,\n" + // 16
				"192.0.2.22,ok.example.com,0\n", // 17
			rejected: map[int]string{
				3:  `"192.0.2.300" is not an IP address`,
				4:  "1 fields, want ip,name[,ttl[,disabled]]",
				5:  `label "bad_name" holds '_'`,
				6:  `ttl "-5" is not a whole number of seconds`,
				7:  `ttl "2147483648" is above the maximum`,
				8:  `disabled: "maybe" is not one of`,
				9:  "has a zone",
				10: "5 fields",
				11: "conflict: 192.0.2.12 is given different records on lines 11, 12",
				12: "conflict: 192.0.2.12 is given different records on lines 11, 12",
				14: `extraneous or missing " in quoted-field`,
				15: `"ip" is not an IP address`,
				16: "host name is empty",
			},
			want: map[string]string{"192.0.2.1": "a.example.com. -", "192.0.2.22": "ok.example.com. 0"},
		},
		{
			name: "hosts", file: "hosts",
			content: "192.0.2.1 a.example.com\n" + // 1
				"192.0.2.300 b.example.com\n" + // 2
				"192.0.2.3   # no name\n" + // 3
				"192.0.2.4 bad_name\n" + // 4
				"myhost 192.0.2.5\n" + // 5
				"192.0.2.6 six.example.com\n" + // 6
				"192.0.2.6 other.example.com\n", // 7
			rejected: map[int]string{
				2: "is not an IP address",
				3: "no host name after the address",
				4: `label "bad_name" holds '_'`,
				5: `"myhost" is not an IP address`,
				6: "conflict: 192.0.2.6 is given different records on lines 6, 7",
				7: "conflict: 192.0.2.6 is given different records on lines 6, 7",
			},
			want: map[string]string{"192.0.2.1": "a.example.com. -"},
		},
		{
			name: "zone", file: "r.zone",
			content: "$ORIGIN 2.0.192.in-addr.arpa.\n" + // 1
				"1 PTR ok.example.com.\n" + // 2
				"2 A 192.0.2.2\n" + // 3
				"www.example.com. PTR x.example.com.\n" + // 4
				"@ PTR net.example.com.\n" + // 5
				"6 PTR bad_name.example.com.\n" + // 6
				"7 PTR\n" + // 7
				"8 IN\n" + // 8
				"$INCLUDE other.zone\n" + // 9
				"$FOO bar\n" + // 10
				"11 CH PTR ch.example.com.\n" + // 11
				"12 3000000000 PTR big.example.com.\n" + // 12
				"13 PTR x.example.com. )\n" + // 13
				"$GENERATE 5-1 $ PTR r.example.com.\n" + // 14
				"$GENERATE 254-256 $ PTR ok-$.example.com.\n" + // 15: 256 is no octet
				"$TTL forever\n" + // 16
				"30 PTR nottl.example.com.\n" + // 17
				"31 60 PTR ttl.example.com.\n" + // 18
				"$ORIGIN bad..name.\n" + // 19
				"40 PTR rel.example.com.\n" + // 20
				"41.2.0.192.in-addr.arpa. 60 PTR abs.example.com.\n" + // 21
				"1.1.1.1.2.0.192.in-addr.arpa. 60 PTR five.example.com.\n" + // 22
				"50.2.0.192.in-addr.arpa. 60 PTR ( open.example.com.\n" + // 23
				"51.2.0.192.in-addr.arpa. 60 PTR swallowed.example.com.\n", // 24
			rejected: map[int]string{
				3:  "A record: only PTR records are imported",
				4:  "owner www.example.com.: not a name under in-addr.arpa or ip6.arpa",
				5:  "owner 2.0.192.in-addr.arpa. names the network 192.0.2.0/24, not one address",
				6:  `label "bad_name" holds '_'`,
				7:  "host name is empty",
				8:  "no record",
				9:  "$INCLUDE is not followed",
				10: "unknown directive $FOO",
				11: "class CH: only IN records are imported",
				12: `ttl "3000000000" is above the maximum`,
				13: ") without an opening (",
				14: "bad range in $GENERATE range",
				15: "record 3 of $GENERATE: owner 256.2.0.192.in-addr.arpa.: label is not part of an address",
				16: `expecting $TTL value, not this...: "forever"`,
				17: "no TTL, and the $TTL on line 16 was rejected",
				19: "bad origin name",
				20: "bad owner name: \"40\" (the $ORIGIN on line 19 was rejected)",
				22: "more labels than an address has",
				23: "( without a closing )",
			},
			want: map[string]string{
				"192.0.2.1":  "ok.example.com. -",
				"192.0.2.31": "ttl.example.com. 60",
				"192.0.2.41": "abs.example.com. 60",
			},
		},
		{
			// A quote left open would take the next lines into one field.
			name: "open quote", file: "q.csv",
			content: "192.0.2.1,a.example.com\n" + // 1
				"192.0.2.2,\"b.example.com\n" + // 2
				"192.0.2.3,c.example.com\n" + // 3
				"192.0.2.4,d.example.com\"\n" + // 4
				"192.0.2.5,e.example.com\n", // 5
			rejected: map[int]string{
				2: "a quoted field runs from line 2 to line 4",
				3: "a quoted field runs from line 2 to line 4",
				4: "a quoted field runs from line 2 to line 4",
			},
			want: map[string]string{"192.0.2.1": "a.example.com. -", "192.0.2.5": "e.example.com. -"},
		},
		{
			// A blank owner is the previous line's: when that line was
			// rejected, so is the blank-owner line, rather than take the
			// owner of a line before it.
			name: "blank owner", file: "blank.zone",
			content: "$ORIGIN 2.0.192.in-addr.arpa.\n" + // 1
				"10 PTR a.example.com.\n" + // 2
				"11 PTR b..example.com.\n" + // 3
				"   PTR c.example.com.\n" + // 4
				"12 PTR d.example.com.\n" + // 5
				"   60 PTR d.example.com.\n", // 6: a repeat of 12, with a TTL: a conflict
			rejected: map[int]string{
				3: "bad PTR Ptr",
				4: "the line of the previous owner, 3, was rejected",
				5: "conflict: 192.0.2.12 is given different records on lines 5, 6",
				6: "conflict: 192.0.2.12 is given different records on lines 5, 6",
			},
			want: map[string]string{"192.0.2.10": "a.example.com. -"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := freshEnv(t)
			path := writeFile(t, tc.file, tc.content)

			// Text: one line on stderr per rejected line, in order.
			out, errOut, code := e.ctl("", "import", "--dry-run", path)
			if code != exitProblems {
				t.Fatalf("exit %d, want 1\n%s%s", code, out, errOut)
			}
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(errOut), "\n") {
				if strings.HasPrefix(l, path+":") {
					lines = append(lines, l)
				}
			}
			if len(lines) != len(tc.rejected) {
				t.Errorf("stderr has %d rejected lines, want %d:\n%s", len(lines), len(tc.rejected), errOut)
			}
			re := regexp.MustCompile(`^` + regexp.QuoteMeta(path) + `:(\d+): rejected: `)
			prev := 0
			for _, l := range lines {
				m := re.FindStringSubmatch(l)
				var n int
				if m != nil {
					fmt.Sscan(m[1], &n)
				}
				if n <= prev {
					t.Errorf("rejected line out of order or malformed: %q", l)
				}
				prev = n
			}
			if len(stored(t, e.prefix)) != 0 {
				t.Fatal("--dry-run wrote records")
			}

			sum, rejected := e.importJSON("", exitProblems, path)
			for line, want := range tc.rejected {
				if got, ok := rejected[line]; !ok || !strings.Contains(got, want) {
					t.Errorf("line %d: rejected %v %q, want a reason with %q", line, ok, got, want)
				}
			}
			for line, got := range rejected {
				if _, ok := tc.rejected[line]; !ok {
					t.Errorf("line %d rejected unexpectedly: %s", line, got)
				}
			}
			if sum.Rejected != len(tc.rejected) {
				t.Errorf("summary counts %d rejected lines, want %d", sum.Rejected, len(tc.rejected))
			}
			if got := stored(t, e.prefix); !maps.Equal(got, tc.want) {
				t.Errorf("stored:\n%v\nwant:\n%v", got, tc.want)
			}
		})
	}
}

// TestImportIdempotent: a second import writes nothing; one that finds a
// changed record writes only that one, and leaves the expiry of the
// others alone.
func TestImportIdempotent(t *testing.T) {
	e := freshEnv(t)
	ctx := context.Background()
	var b strings.Builder
	b.WriteString("ip,name,ttl,disabled\n")
	for i := range 2500 {
		fmt.Fprintf(&b, "10.0.%d.%d,host-%d.example.com,%s,%s\n", i/256, i%256, i, map[bool]string{true: "300"}[i%3 == 0], map[bool]string{true: "1"}[i%7 == 0])
	}
	path := writeFile(t, "r.csv", b.String())

	sum, _ := e.importJSON("", exitOK, "--batch", "1000", path)
	if sum.Read != 2500 || sum.New != 2500 || sum.Written != 2500 || sum.Unchanged != 0 {
		t.Fatalf("first import: %+v", sum)
	}
	first := stored(t, e.prefix)

	sum, _ = e.importJSON("", exitOK, path)
	if sum.Written != 0 || sum.Unchanged != 2500 {
		t.Errorf("second import: %+v, want nothing written", sum)
	}
	if _, text, code := e.ctl("", "import", path); code != exitOK || !strings.Contains(text, "2500 records read, 0 written (0 new, 0 changed), 2500 unchanged; 0 lines rejected") {
		t.Errorf("second import printed %q", text)
	}

	// Changes behind import's back.
	e.redis.Set(ctx, e.key("10.0.0.1"), "changed.example.com", time.Hour) // another name, with expiry
	e.redis.Expire(ctx, e.key("10.0.0.2"), time.Hour)                     // the same record, with expiry
	e.redis.Del(ctx, e.key("10.0.0.4"))
	e.redis.HSet(ctx, e.key("10.0.0.4"), "ptr", "host-4.example.com.", "x", "y") // the same record as a hash
	e.redis.Set(ctx, e.key("10.0.0.5"), "not a name", 0)                         // invalid
	e.redis.Del(ctx, e.key("10.0.0.10"))
	e.redis.HSet(ctx, e.key("10.0.0.10"), "ptr", "host-10.example.com", "ttl", "300") // a ttl added
	e.redis.Del(ctx, e.key("10.0.0.8"))                                               // deleted

	// A dry run counts them and writes nothing.
	sum, _ = e.importJSON("", exitOK, "--dry-run", path)
	if !sum.DryRun || sum.Written != 4 || sum.Changed != 3 || sum.New != 1 || sum.Unchanged != 2496 {
		t.Errorf("dry run: %+v", sum)
	}
	if got := e.redis.Get(ctx, e.key("10.0.0.1")).Val(); got != "changed.example.com" {
		t.Errorf("--dry-run wrote: %q", got)
	}

	sum, _ = e.importJSON("", exitOK, path)
	if sum.Written != 4 || sum.Changed != 3 || sum.New != 1 || sum.Unchanged != 2496 {
		t.Errorf("third import: %+v, want 1 new and 3 changed", sum)
	}
	if got := stored(t, e.prefix); !maps.Equal(got, first) {
		t.Errorf("third import did not restore the records")
	}
	if ttl := e.redis.PTTL(ctx, e.key("10.0.0.1")).Val(); ttl != -1 {
		t.Errorf("a changed record keeps an expiry: PTTL %v", ttl)
	}
	if ttl := e.redis.PTTL(ctx, e.key("10.0.0.2")).Val(); ttl < 59*time.Minute {
		t.Errorf("an unchanged record lost its expiry: PTTL %v", ttl)
	}
	if typ := e.redis.Type(ctx, e.key("10.0.0.4")).Val(); typ != "hash" {
		t.Errorf("an unchanged record was rewritten: it is a %s", typ)
	}
}

// TestImportDuplicates: identical lines are written once; a conflict
// rejects every line of it, identical ones included.
func TestImportDuplicates(t *testing.T) {
	e := freshEnv(t)
	path := writeFile(t, "hosts", "192.0.2.1 a.example.com\n192.0.2.1 a.example.com.\n"+
		"192.0.2.2 b.example.com\n192.0.2.2 b.example.com\n192.0.2.2 c.example.com\n")
	sum, rejected := e.importJSON("", exitProblems, path)
	if sum.Read != 5 || sum.New != 1 || sum.Duplicate != 1 || sum.NotWritten != 3 || sum.Rejected != 3 {
		t.Errorf("summary %+v", sum)
	}
	for _, l := range []int{3, 4, 5} {
		if !strings.Contains(rejected[l], "lines 3, 4, 5") {
			t.Errorf("line %d: %q", l, rejected[l])
		}
	}
}

func TestImportStdin(t *testing.T) {
	e := freshEnv(t)
	out, errOut, code := e.ctl("ip,name\n192.0.2.1,a.example.com\n", "import", "-")
	if code != exitOK || out != "" || !strings.HasPrefix(errOut, "stdin (csv): 1 records read, 1 written (1 new, 0 changed)") {
		t.Errorf("import - : exit %d\n%s%s", code, out, errOut)
	}
	_, errOut, code = e.ctl("192.0.2.1,a.example.com\n192.0.2.2,b_c\n", "import", "--format", "csv", "-")
	if code != exitProblems || !strings.Contains(errOut, "stdin:2: rejected: ") {
		t.Errorf("import - with a bad line: exit %d, %q", code, errOut)
	}
}

// TestImportUsage: bad arguments exit with 2, an unreadable file or an
// unreachable Redis with 3, and nothing is written.
func TestImportUsage(t *testing.T) {
	e := freshEnv(t)
	good := writeFile(t, "r.csv", "192.0.2.1,a.example.com\n")
	for _, tc := range []struct {
		args  []string
		stdin string
		code  int
		msg   string
	}{
		{[]string{"import"}, "", exitUsage, "wrong number of arguments"},
		{[]string{"import", "--format", "json", good}, "", exitUsage, `--format "json"`},
		{[]string{"import", "--batch", "0", good}, "", exitUsage, "--batch 0"},
		{[]string{"import", "--origin", "bad..origin", good}, "", exitUsage, "--origin"},
		{[]string{"import", "-"}, "hello world\n", exitUsage, `cannot tell the format of stdin from its first line "hello world"`},
		{[]string{"import", "-"}, "; only a comment\n", exitUsage, "cannot tell the format of stdin: no record"},
		{[]string{"import", filepath.Join(t.TempDir(), "missing.csv")}, "", exitFailure, "no such file"},
		{[]string{"--redis", "redis://127.0.0.1:1/0", "import", good}, "", exitFailure, "cannot reach Redis"},
	} {
		_, errOut, code := e.ctl(tc.stdin, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.msg) {
			t.Errorf("rptrctl %v: exit %d, %q; want %d and %q", tc.args, code, errOut, tc.code, tc.msg)
		}
	}
	if n := len(stored(t, e.prefix)); n != 0 {
		t.Errorf("%d records written", n)
	}
}

func TestDetectFormat(t *testing.T) {
	for _, tc := range []struct {
		file, head, want string
	}{
		{"a.zone", "", formatZone},
		{"dir/DB.2.0.192.DB", "", formatZone},
		{"2.0.192.in-addr.arpa", "", formatZone},
		{"x.CSV", "", formatCSV},
		{"/etc/hosts", "", formatHosts},
		{"lan.hosts", "", formatHosts},
		{"-", "$ORIGIN 2.0.192.in-addr.arpa.\n", formatZone},
		{"-", "; c\n\n10.2.0.192.in-addr.arpa. PTR a.\n", formatZone},
		{"-", "10 IN PTR a.example.com.\n", formatZone},
		{"-", "@ SOA ns. h. 1 2 3 4 5\n", formatZone},
		{"-", "# c\nip,name,ttl\n", formatCSV},
		{"-", "2001:db8::1,a.example.com\n", formatCSV},
		{"-", "\"192.0.2.1\",a\n", formatCSV},
		{"records", "192.0.2.1 a.example.com alias\n", formatHosts},
		{"-", "fe80::1%lo0 a.example.com\n", formatHosts},
		{"-", "192.0.2.53 ns.example.com ns\n", formatHosts},
		{"-", "192.0.2.1, a.example.com\n", formatCSV},
		{"-", "192.0.2.1\n", ""},
		{"-", "a.example.com 192.0.2.1\n", ""},
	} {
		got, err := detectFormat(tc.file, []byte(tc.head))
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("detectFormat(%q, %q) = %q, %v; want %q", tc.file, tc.head, got, err, tc.want)
		}
	}
}

// TestImportRedisFails: when Redis refuses writes part way, import stops
// with exit 3 and says how many records were written, which is exactly
// what Redis holds.
func TestImportRedisFails(t *testing.T) {
	// Writes fail once Redis uses its few megabytes.
	full, err := redistest.Start("--maxmemory", "3mb", "--maxmemory-policy", "noeviction")
	if err != nil {
		t.Fatal(err)
	}
	defer full.Stop()
	e := freshEnv(t)
	var b strings.Builder
	for i := range 60000 {
		fmt.Fprintf(&b, "10.%d.%d.%d,host-%d.example.com\n", i/65536, i/256%256, i%256, i)
	}
	path := writeFile(t, "r.csv", b.String())
	out, errOut, code := e.ctl("", "--redis", full.URL(0), "import", "--batch", "500", path)
	if code != exitFailure {
		t.Fatalf("exit %d, want 3\n%s%s", code, out, errOut)
	}
	c := full.Client(0)
	defer c.Close()
	n := c.DBSize(context.Background()).Val()
	if n == 0 || n == 60000 {
		t.Fatalf("Redis holds %d keys: the test wants a failure part way", n)
	}
	want := fmt.Sprintf("stopped: Redis failed after %d records were written", n)
	if !strings.Contains(errOut, want) || !strings.Contains(errOut, fmt.Sprintf("rptrctl: import stopped after %d records were written: Redis: ", n)) || !strings.Contains(errOut, "EXECABORT") {
		t.Errorf("want %q and the cause\nstdout: %s\nstderr: %s", want, out, errOut)
	}
}
