// Package test holds rptr's end-to-end tests: they build the custom CoreDNS
// binary, run it from a Corefile against a real redis-server, and query it
// over UDP and TCP on loopback.
package test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/rptr-dns/rptr/internal/corednstest"
	"github.com/rptr-dns/rptr/internal/redistest"

	// Not used here, but it makes this test binary depend on all of the
	// plugin's code, so that go test does not replay a cached result after
	// a change to code that only the CoreDNS binary built by TestMain holds.
	_ "github.com/rptr-dns/rptr/plugin"
)

var (
	coredns  string            // path of the custom binary
	rdb      *redistest.Server // shared by the tests; each uses its own key prefix
	buildDir string            // where binaries built for the tests go
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if buildDir, err = os.MkdirTemp("", "rptr-e2e"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(buildDir)
	if coredns, err = corednstest.Build(buildDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if rdb, err = redistest.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer rdb.Stop()
	return m.Run()
}

// prefixFor returns a key prefix of the test's own.
func prefixFor(t *testing.T) string {
	return "e2e-" + strings.ReplaceAll(t.Name(), "/", "-") + ":"
}

// query sends one question over net and fails the test when no reply comes.
func query(t *testing.T, s *corednstest.Server, net, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(1232, false)
	r, err := s.Exchange(net, m)
	if err != nil {
		t.Fatalf("%s %s over %s: %v", name, dns.TypeToString[qtype], net, err)
	}
	return r
}
