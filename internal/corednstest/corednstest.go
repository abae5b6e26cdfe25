// Package corednstest builds rptr's custom CoreDNS binary and runs it from a
// Corefile on free loopback ports, for end-to-end tests.
package corednstest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Package is the import path of the custom binary's main package.
const Package = "github.com/rptr-dns/rptr/cmd/coredns"

// Build compiles the custom CoreDNS binary into dir and returns its path.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "coredns")
	cmd := exec.Command("go", "build", "-o", bin, Package)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building %s: %w", Package, err)
	}
	return bin, nil
}

// FreePort returns a loopback port that was free for both UDP and TCP a
// moment ago.
func FreePort() (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		l.Close()
		if err == nil {
			u.Close()
			return port, nil
		}
	}
	return 0, fmt.Errorf("no port free for both UDP and TCP")
}

// Server is a running CoreDNS process.
type Server struct {
	// Addr is the DNS listener, 127.0.0.1:port, for UDP and TCP.
	Addr string
	// Ports holds the extra ports handed to the Corefile, by placeholder.
	Ports map[string]int
	cmd   *exec.Cmd
	out   *syncBuffer
	done  chan struct{}
}

// Start runs binary with corefile and waits until it answers DNS. In
// corefile, {dns} stands for the DNS port and any other {name} listed in
// extraPorts for a free port of its own (for prometheus, health, ready).
// The server is stopped when the test ends.
func Start(t testing.TB, binary, corefile string, extraPorts ...string) *Server {
	t.Helper()
	s, err := Launch(t.TempDir(), nil, binary, corefile, extraPorts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Launch is Start for programs that are not tests: it writes the Corefile
// into dir and runs binary behind the command prefix (such as taskset -c 0),
// and the caller stops the server.
func Launch(dir string, prefix []string, binary, corefile string, extraPorts ...string) (*Server, error) {
	var lastErr error
	for range 3 { // a port may be taken between probe and bind
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(port), Ports: map[string]int{}, out: &syncBuffer{}, done: make(chan struct{})}
		text := strings.ReplaceAll(corefile, "{dns}", strconv.Itoa(port))
		for _, name := range extraPorts {
			p, err := FreePort()
			if err != nil {
				return nil, err
			}
			s.Ports[name] = p
			text = strings.ReplaceAll(text, "{"+name+"}", strconv.Itoa(p))
		}
		conf := filepath.Join(dir, "Corefile")
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			return nil, err
		}
		argv := append(append([]string(nil), prefix...), binary, "-conf", conf)
		s.cmd = exec.Command(argv[0], argv[1:]...)
		s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
		if err := s.cmd.Start(); err != nil {
			return nil, err
		}
		go func() { s.cmd.Wait(); close(s.done) }()
		if lastErr = s.waitReady(); lastErr == nil {
			return s, nil
		}
		s.Stop()
	}
	return nil, lastErr
}

// waitReady waits until the server answers a query over UDP.
func (s *Server) waitReady() error {
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	m := new(dns.Msg)
	m.SetQuestion("readiness.probe.invalid.", dns.TypeA)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("coredns exited at start: %s", s.Output())
		default:
		}
		if _, _, err := c.Exchange(m, s.Addr); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("coredns did not answer on %s within 20s: %s", s.Addr, s.Output())
}

// Output returns everything the server has logged so far.
func (s *Server) Output() string { return s.out.String() }

// Stop ends the server with SIGTERM, as an operator would, and waits for it.
func (s *Server) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// Signal sends sig to the server process (SIGUSR1 reloads the Corefile).
func (s *Server) Signal(sig os.Signal) error { return s.cmd.Process.Signal(sig) }

// Run runs binary with corefile until it exits or timeout passes, and
// returns its output and error; for Corefiles that must fail at startup.
func Run(t testing.TB, binary, corefile string, timeout time.Duration) (string, error) {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "Corefile")
	if err := os.WriteFile(conf, []byte(corefile), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "-conf", conf)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		return out.String(), fmt.Errorf("still running after %v", timeout)
	}
}

// Exchange sends m over net ("udp" or "tcp") and returns the reply.
func (s *Server) Exchange(net string, m *dns.Msg) (*dns.Msg, error) {
	c := &dns.Client{Net: net, Timeout: 3 * time.Second}
	r, _, err := c.Exchange(m, s.Addr)
	return r, err
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
