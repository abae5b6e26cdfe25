package ptrstore

import (
	"strings"
	"testing"
	"time"
)

func ptr(s string) *string { return &s }

func TestHostName(t *testing.T) {
	good := []struct{ in, want string }{
		{"mail.example.com", "mail.example.com."},
		{"mail.example.com.", "mail.example.com."},
		{"Mail.Example.COM", "Mail.Example.COM."},
		{"localhost", "localhost."},
		{"a-b.c1.example", "a-b.c1.example."},
		{"bücher.example", "xn--bcher-kva.example."},
		{"MÜNCHEN.example.", "xn--mnchen-3ya.example."},
		{strings.Repeat("a", 63) + ".example", strings.Repeat("a", 63) + ".example."},
		{strings.Repeat("a.", 126) + "b", strings.Repeat("a.", 126) + "b."}, // 253 chars: 255 on the wire
	}
	for _, tc := range good {
		got, err := HostName(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("HostName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	bad := []string{
		"", ".", "..", "a..b", ".a", "has space.example", "under_score.example", "-lead.example",
		"trail-.example", strings.Repeat("a", 64) + ".example", strings.Repeat("a.", 127) + "b",
		"\xff\xfe.example", "tab\t.example", "a/b.example", "mail.example.com..", "\x00",
		"xn--a.example\u00a0", "a\u200d.example", // IDNA rejects a lone ZWJ
	}
	for _, in := range bad {
		if got, err := HostName(in); err == nil {
			t.Errorf("HostName(%q) = %q, want an error", in, got)
		}
	}
}

func TestDecodeHash(t *testing.T) {
	tests := []struct {
		ptr, ttl, disabled *string
		want               Record
		bad                bool
	}{
		{ptr: ptr("mail.example.com"), want: Record{Name: "mail.example.com."}},
		{ptr: ptr("mail.example.com"), ttl: ptr("300"), want: Record{Name: "mail.example.com.", TTL: 300, HasTTL: true}},
		{ptr: ptr("mail.example.com"), ttl: ptr("0"), want: Record{Name: "mail.example.com.", TTL: 0, HasTTL: true}},
		{ptr: ptr("m.example"), ttl: ptr("2147483647"), want: Record{Name: "m.example.", TTL: MaxTTL, HasTTL: true}},
		{ptr: ptr("m.example"), disabled: ptr("1"), want: Record{Name: "m.example.", Disabled: true}},
		{ptr: ptr("m.example"), disabled: ptr("TRUE"), want: Record{Name: "m.example.", Disabled: true}},
		{ptr: ptr("m.example"), disabled: ptr("Yes"), want: Record{Name: "m.example.", Disabled: true}},
		{ptr: ptr("m.example"), disabled: ptr("on"), want: Record{Name: "m.example.", Disabled: true}},
		{ptr: ptr("m.example"), disabled: ptr("0"), want: Record{Name: "m.example."}},
		{ptr: ptr("m.example"), disabled: ptr("false"), want: Record{Name: "m.example."}},
		{ptr: ptr("m.example"), disabled: ptr("NO"), want: Record{Name: "m.example."}},
		{ptr: ptr("m.example"), disabled: ptr("Off"), want: Record{Name: "m.example."}},
		{bad: true},
		{ttl: ptr("300"), bad: true},
		{ptr: ptr(""), bad: true},
		{ptr: ptr("bad name"), bad: true},
		{ptr: ptr("m.example"), ttl: ptr("-1"), bad: true},
		{ptr: ptr("m.example"), ttl: ptr("+1"), bad: true},
		{ptr: ptr("m.example"), ttl: ptr("1.5"), bad: true},
		{ptr: ptr("m.example"), ttl: ptr(" 300"), bad: true},
		{ptr: ptr("m.example"), ttl: ptr(""), bad: true},
		{ptr: ptr("m.example"), ttl: ptr("2147483648"), bad: true},
		{ptr: ptr("m.example"), ttl: ptr("99999999999999999999"), bad: true},
		{ptr: ptr("m.example"), disabled: ptr("2"), bad: true},
		{ptr: ptr("m.example"), disabled: ptr(""), bad: true},
		{ptr: ptr("m.example"), disabled: ptr("enabled"), bad: true},
	}
	for i, tc := range tests {
		got, err := DecodeHash(tc.ptr, tc.ttl, tc.disabled)
		if tc.bad {
			if err == nil {
				t.Errorf("%d: DecodeHash = %+v, want an error", i, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%d: DecodeHash = %+v, %v; want %+v", i, got, err, tc.want)
		}
	}
}

func TestDecodeString(t *testing.T) {
	if r, err := DecodeString("mail.example.com"); err != nil || r != (Record{Name: "mail.example.com."}) {
		t.Errorf("DecodeString = %+v, %v", r, err)
	}
	if _, err := DecodeString("not a name"); err == nil {
		t.Error("DecodeString accepted a name with spaces")
	}
}

func TestAnswerTTL(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	tests := []struct {
		r    Record
		def  uint32
		want uint32
	}{
		{Record{}, 3600, 3600},
		{Record{TTL: 300, HasTTL: true}, 3600, 300},
		{Record{TTL: 0, HasTTL: true}, 3600, 0},
		{Record{ExpiresAt: now.Add(100*time.Second + 900*time.Millisecond)}, 3600, 100},
		{Record{TTL: 60, HasTTL: true, ExpiresAt: now.Add(100 * time.Second)}, 3600, 60},
		{Record{ExpiresAt: now.Add(500 * time.Millisecond)}, 3600, 0},
		{Record{ExpiresAt: now.Add(-time.Second)}, 3600, 0},
		{Record{ExpiresAt: now.Add(10000 * time.Hour)}, 3600, 3600},
	}
	for i, tc := range tests {
		if got := tc.r.AnswerTTL(tc.def, now); got != tc.want {
			t.Errorf("%d: AnswerTTL = %d, want %d", i, got, tc.want)
		}
	}
}

// FuzzHostName checks that HostName never panics and that what it accepts
// is an absolute ASCII host name that it accepts again unchanged.
func FuzzHostName(f *testing.F) {
	for _, s := range []string{"mail.example.com", "bücher.example.", "a..b", "-x.example", "\xff", strings.Repeat("a.", 130)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, err := HostName(s)
		if err != nil {
			return
		}
		if !strings.HasSuffix(name, ".") || !isASCII(name) || len(name) > 254 {
			t.Fatalf("HostName(%q) = %q: not an absolute ASCII name of at most 254 characters", s, name)
		}
		again, err := HostName(name)
		if err != nil || again != name {
			t.Fatalf("HostName(HostName(%q)) = %q, %v; want %q", s, again, err, name)
		}
	})
}
