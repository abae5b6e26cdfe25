package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/rptr-dns/rptr/internal/redistest"
)

// ctlWith runs rptrctl with connection options of its own.
func ctlWith(t *testing.T, conn []string, args ...string) (string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append(append([]string(nil), conn...), args...), strings.NewReader(""), &out, &errOut)
	if code != exitOK {
		t.Logf("rptrctl %v: exit %d\n%s", args, code, errOut.String())
	}
	return out.String(), code
}

// roundTrip writes three records through conn and checks get and list read
// them back.
func roundTrip(t *testing.T, conn []string) {
	t.Helper()
	for i := 1; i <= 3; i++ {
		if _, code := ctlWith(t, conn, "set", fmt.Sprintf("192.0.2.%d", i), fmt.Sprintf("h%d.example.com", i), "--ttl", "60"); code != exitOK {
			t.Fatalf("set: exit %d", code)
		}
	}
	if out, code := ctlWith(t, conn, "get", "192.0.2.2"); code != exitOK || !strings.HasPrefix(out, "192.0.2.2\th2.example.com.\t60\t") {
		t.Errorf("get: exit %d, %q", code, out)
	}
	if out, code := ctlWith(t, conn, "list"); code != exitOK || strings.Count(out, "\n") != 3 {
		t.Errorf("list: exit %d:\n%s", code, out)
	}
}

// TestConnections: rptrctl reaches Redis with each of the plugin's ways:
// TLS with a client certificate, through sentinels, and a cluster (whose
// records list from every master).
func TestConnections(t *testing.T) {
	t.Run("tls", func(t *testing.T) {
		srv, files := redistest.NewTLS(t, true)
		roundTrip(t, []string{"--redis", "rediss://" + srv.Addr + "/0", "--tls-ca", files.CA, "--tls-cert", files.ClientCert, "--tls-key", files.ClientKey})
		// Without the client certificate the server refuses: exit 3.
		if _, code := ctlWith(t, []string{"--redis", "rediss://" + srv.Addr + "/0", "--tls-ca", files.CA}, "list"); code != exitFailure {
			t.Errorf("TLS without the client certificate: exit %d, want %d", code, exitFailure)
		}
	})
	t.Run("sentinel", func(t *testing.T) {
		sn, err := redistest.StartSentinel(redistest.SentinelOptions{Name: "dns", Password: "data-pw", SentinelPassword: "sentinel-pw"})
		if err != nil {
			t.Fatal(err)
		}
		defer sn.Stop()
		roundTrip(t, []string{"--mode", "sentinel", "--redis", sn.URL(0)})
	})
	t.Run("cluster", func(t *testing.T) {
		cl := redistest.NewCluster(t, 3)
		roundTrip(t, []string{"--mode", "cluster", "--redis", cl.URL()})
	})
}
