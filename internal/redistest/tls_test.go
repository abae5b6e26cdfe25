package redistest

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestTLS(t *testing.T) {
	t.Parallel()
	files, err := GenerateTLS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	noCert, err := files.ClientConfig(false)
	if err != nil {
		t.Fatal(err)
	}
	withCert, err := files.ClientConfig(true)
	if err != nil {
		t.Fatal(err)
	}
	for _, require := range []bool{false, true} {
		t.Run(map[bool]string{false: "no client cert", true: "client cert required"}[require], func(t *testing.T) {
			t.Parallel()
			s, err := StartTLS(files, require)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Stop)
			ping := func(conf *tls.Config) error {
				c := redis.NewClient(&redis.Options{Addr: s.Addr, TLSConfig: conf, MaxRetries: -1,
					DialTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second})
				defer c.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				return c.Ping(ctx).Err()
			}
			if err := ping(nil); err == nil {
				t.Error("plain TCP PING on the TLS port answered")
			}
			// The system's roots do not include the test CA.
			if err := ping(&tls.Config{MinVersion: tls.VersionTLS12}); err == nil {
				t.Error("PING trusting only the system's roots answered")
			}
			if err := ping(withCert); err != nil {
				t.Errorf("PING with CA and client cert: %v", err)
			}
			err = ping(noCert)
			if require && err == nil {
				t.Error("PING without a client cert answered though one is required")
			}
			if !require && err != nil {
				t.Errorf("PING with the CA: %v", err)
			}

			if err := s.Restart(); err != nil {
				t.Fatal(err)
			}
			c := s.Client(0)
			defer c.Close()
			ctx := context.Background()
			if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
				t.Fatalf("SET through Client after Restart: %v", err)
			}
			if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
				t.Errorf("GET = %q, %v", got, err)
			}
		})
	}
}
