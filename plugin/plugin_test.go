package plugin

import (
	"slices"
	"testing"

	"github.com/coredns/coredns/core/dnsserver"
)

func TestDirectiveOrder(t *testing.T) {
	at := slices.Index(dnsserver.Directives, Directive)
	if at < 0 {
		t.Fatalf("%s is not in dnsserver.Directives", Directive)
	}
	// Plugins that must see the query before rptr, and those it falls through to.
	for _, d := range []string{"log", "errors", "cache", "dnssec", "rewrite", "acl"} {
		if i := slices.Index(dnsserver.Directives, d); i < 0 || i > at {
			t.Errorf("%s (at %d) is not before %s (at %d)", d, i, Directive, at)
		}
	}
	for _, d := range []string{"file", "auto", "secondary", "etcd", "forward", "whoami"} {
		if i := slices.Index(dnsserver.Directives, d); i < at {
			t.Errorf("%s (at %d) is not after %s (at %d)", d, i, Directive, at)
		}
	}
	if dnsserver.Directives[at+1] != Before {
		t.Errorf("%s is followed by %s, want %s", Directive, dnsserver.Directives[at+1], Before)
	}
}

func TestInsertBefore(t *testing.T) {
	tests := []struct {
		list []string
		want []string
	}{
		{[]string{"a", "file", "b"}, []string{"a", "rptr", "file", "b"}},
		{[]string{"file"}, []string{"rptr", "file"}},
		{[]string{"a", "b"}, []string{"a", "b", "rptr"}},
		{[]string{"a", "rptr", "file"}, []string{"a", "rptr", "file"}},
	}
	for _, tc := range tests {
		if got := insertBefore(tc.list, "file", "rptr"); !slices.Equal(got, tc.want) {
			t.Errorf("insertBefore(%v) = %v, want %v", tc.list, got, tc.want)
		}
	}
}
