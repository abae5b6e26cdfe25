// Package redistest starts real redis-server processes on free loopback
// ports for tests. It never uses the default port 6379.
package redistest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a running redis-server.
type Server struct {
	// Addr is host:port on 127.0.0.1.
	Addr string
	dir  string
	args []string
	// password and tls are what a client needs to reach this server;
	// the readiness ping and Client use them.
	password string
	tls      *tls.Config
	// onStart holds commands sent after every start, once PING answers,
	// for settings that cannot go on the command line.
	onStart [][]any
	cmd     *exec.Cmd
	// exited is closed when cmd has been waited for.
	exited chan struct{}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start starts a redis-server without persistence on a free loopback port,
// with extra configuration arguments such as "--maxmemory", "10mb", and
// waits until it answers PING. Stop it with Stop.
func Start(extra ...string) (*Server, error) {
	dir, err := newDir()
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, password: requirepass(extra)}
	err = s.launch(func(port int) ([]string, error) {
		args := append([]string{"--port", strconv.Itoa(port)}, baseArgs(dir)...)
		return append(args, extra...), nil
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// newDir makes the temporary directory a server keeps its files in; Stop
// removes it.
func newDir() (string, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return "", fmt.Errorf("redis-server is not installed: run scripts/test, or apt-get install -y redis-server")
	}
	return os.MkdirTemp("", "redistest")
}

// baseArgs are the arguments, besides the port, that every data node gets:
// loopback only, no persistence, files in dir.
func baseArgs(dir string) []string {
	return []string{"--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no"}
}

// requirepass returns the value of "--requirepass" in args, so that the
// readiness ping and clients can authenticate.
func requirepass(args []string) string {
	pass := ""
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "--requirepass" {
			pass = args[i+1]
		}
	}
	return pass
}

// launch starts s with the arguments args returns for a free loopback
// port. It tries a few ports, since another process may take the port
// between probe and bind.
func (s *Server) launch(args func(port int) ([]string, error)) error {
	var lastErr error
	for range 5 {
		port, err := FreePort()
		if err != nil {
			return err
		}
		s.Addr = "127.0.0.1:" + strconv.Itoa(port)
		if s.args, err = args(port); err != nil {
			return err
		}
		if lastErr = s.start(); lastErr == nil {
			return nil
		}
	}
	return lastErr
}

func (s *Server) start() error {
	// The server's own log goes to a file in its directory, so that a
	// failed start can say why.
	log, err := os.OpenFile(s.logFile(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer log.Close() // the child has its own copy
	s.cmd = exec.Command("redis-server", s.args...)
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	s.exited = exited
	go func() { s.cmd.Wait(); close(exited) }()
	o := s.options(0)
	o.MaxRetries = -1 // each poll is one attempt; the loop retries
	c := redis.NewClient(o)
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("redis-server on %s exited at start (%v):\n%s", s.Addr, s.cmd.ProcessState, s.logTail())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err = c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return s.runOnStart(c)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.kill()
	return fmt.Errorf("redis-server on %s did not answer PING within 10s: %w\n%s", s.Addr, err, s.logTail())
}

func (s *Server) logFile() string { return filepath.Join(s.dir, "redis.log") }

// logTail returns the last lines the server logged.
func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.logFile())
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-10):], "\n")
}

func (s *Server) runOnStart(c *redis.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, args := range s.onStart {
		if err := c.Do(ctx, args...).Err(); err != nil {
			s.kill()
			return fmt.Errorf("redis-server on %s: %v: %w", s.Addr, args, err)
		}
	}
	return nil
}

// Pid returns the process ID of the server.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// URL returns the URL of database db, with the password if the server
// has one. For a TLS server the scheme is rediss, and the caller still has
// to trust the test CA (see TLSFiles.ClientConfig).
func (s *Server) URL(db int) string {
	u := url.URL{Scheme: "redis", Host: s.Addr, Path: "/" + strconv.Itoa(db)}
	if s.tls != nil {
		u.Scheme = "rediss"
	}
	if s.password != "" {
		u.User = url.UserPassword("", s.password)
	}
	return u.String()
}

// Client returns a client for database db, with the server's password and
// TLS settings; the caller closes it.
func (s *Server) Client(db int) *redis.Client {
	return redis.NewClient(s.options(db))
}

func (s *Server) options(db int) *redis.Options {
	o := &redis.Options{Addr: s.Addr, DB: db, Password: s.password}
	if s.tls != nil {
		o.TLSConfig = s.tls.Clone()
	}
	return o
}

// Pause stops the server process with SIGSTOP: connections stay open and
// the kernel still accepts new ones, but nothing is answered, as with a
// hung Redis. Resume undoes it; Kill, Restart and Stop work while paused.
func (s *Server) Pause() error {
	return s.cmd.Process.Signal(syscall.SIGSTOP)
}

// Resume continues a server stopped by Pause.
func (s *Server) Resume() error {
	return s.cmd.Process.Signal(syscall.SIGCONT)
}

// Kill kills the server, as a crash would; Restart brings it back.
func (s *Server) Kill() { s.kill() }

// Restart kills the server and starts it again, empty, on the same port.
func (s *Server) Restart() error {
	s.kill()
	return s.start()
}

func (s *Server) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		// SIGKILL ends a process stopped by Pause as well, so no SIGCONT is
		// needed; an error means it has exited already.
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// Stop kills the server and removes its directory.
func (s *Server) Stop() {
	s.kill()
	os.RemoveAll(s.dir)
}

// Silent starts a loopback TCP server that accepts connections and never
// answers, as a hung Redis would, and returns its address; the listener
// and its connections close when the test ends.
func Silent(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never read from
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return l.Addr().String()
}

// waitFor polls cond, each call with a one-second context, until it
// returns nil or timeout has passed; the error then names what was awaited
// and carries cond's last complaint, which is what a failing test needs.
func waitFor(timeout time.Duration, what string, cond func(ctx context.Context) error) error {
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := cond(ctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %v: %w", what, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// infoField returns the value of field in the text of an INFO reply, or ""
// when it is missing.
func infoField(info, field string) string {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	return ""
}

// NewCluster is StartCluster for a test: a failure to start fails the
// test, and the cluster stops when the test ends.
func NewCluster(t testing.TB, masters int) *Cluster {
	t.Helper()
	c, err := StartCluster(masters)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// NewTLS is GenerateTLS and StartTLS for a test: the files live in the
// test's temporary directory, a failure fails the test, and the server
// stops when the test ends.
func NewTLS(t testing.TB, requireClientCert bool) (*Server, *TLSFiles) {
	t.Helper()
	files, err := GenerateTLS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := StartTLS(files, requireClientCert)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s, files
}
