package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	pkgtls "github.com/coredns/coredns/plugin/pkg/tls"
	"github.com/redis/go-redis/v9"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/rptr-dns/rptr/ptrstore"
)

// Exit codes, for scripts.
const (
	exitOK       = 0 // done, and nothing was wrong
	exitProblems = 1 // done, and something was found wrong: a failed check, a rejected line, a lint finding
	exitUsage    = 2 // bad arguments or options
	exitFailure  = 3 // could not do the work: Redis unreachable, a file unreadable
)

// exitError carries the exit code of a command's failure.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf is an error in the command line.
func usageErrorf(format string, a ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

// problems ends a command that did its work and found n problems, already
// reported.
func problems(n int, what string) error {
	if n == 0 {
		return nil
	}
	return &exitError{code: exitProblems, err: fmt.Errorf("%d %s", n, what)}
}

// app is what every command shares: where output goes, and how to reach
// Redis.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	redisURL, mode, prefix string
	tlsCA, tlsCert, tlsKey string
	tlsServerName          string
	timeout                time.Duration
	json                   bool

	admin *ptrstore.Admin // made on first use by store
}

// store returns the Admin of the configured Redis, checking first that it
// answers, so that an unreachable Redis fails with one clear error.
func (a *app) store(ctx context.Context) (*ptrstore.Admin, error) {
	if a.admin != nil {
		return a.admin, nil
	}
	mode := a.mode
	if mode == "server" {
		mode = ptrstore.ModeServer
	}
	url := a.redisURL
	if url == "" {
		url = envOr("RPTR_REDIS_URL", ptrstore.DefaultURL)
	}
	r, err := ptrstore.ParseRedis(mode, url)
	if err != nil {
		return nil, usageErrorf("--redis: %v", err)
	}
	if a.tlsCA != "" || a.tlsCert != "" || a.tlsKey != "" || a.tlsServerName != "" {
		var args []string
		if a.tlsCert != "" || a.tlsKey != "" {
			args = append(args, a.tlsCert, a.tlsKey)
		}
		if a.tlsCA != "" {
			args = append(args, a.tlsCA)
		}
		cfg, err := pkgtls.NewTLSConfigFromArgs(args...)
		if err != nil {
			return nil, usageErrorf("TLS: %v", err)
		}
		cfg.ServerName = a.tlsServerName
		r.SetTLS(cfg)
	}
	admin := ptrstore.NewAdmin(r, a.prefix)
	pctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	if err := admin.Ping(pctx); err != nil {
		admin.Close()
		return nil, &exitError{code: exitFailure, err: fmt.Errorf("cannot reach %s: %v", r, err)}
	}
	a.admin = admin
	return admin, nil
}

// close closes the connections store made.
func (a *app) close() {
	if a.admin != nil {
		a.admin.Close()
	}
}

// printJSON writes v as one line of JSON.
func (a *app) printJSON(v any) error {
	return json.NewEncoder(a.stdout).Encode(v)
}

// interactive reports whether progress may be drawn: stderr is a terminal
// and the output is not for a script.
func (a *app) interactive() bool {
	f, ok := a.stderr.(*os.File)
	return ok && !a.json && term.IsTerminal(int(f.Fd()))
}

// progress returns a progress bar of total steps (-1 when unknown) on
// stderr, or one that draws nothing when stderr is no terminal.
func (a *app) progress(total int64, what string) *progressbar.ProgressBar {
	if !a.interactive() {
		return progressbar.DefaultSilent(total, what)
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(a.stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

func init() {
	// go-redis logs its own doings (each sentinel it asks, each failed
	// dial) on stderr; rptrctl reports what failed in its own words.
	redis.SetLogger(silentLogger{})
}

type silentLogger struct{}

func (silentLogger) Printf(context.Context, string, ...any) {}

// commands are the subcommands; each file adds its own in an init func.
var commands []func(a *app) *cobra.Command

// newRoot returns the root command with every subcommand, writing to a.
func newRoot(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "rptrctl",
		Short: "Manage rptr's PTR records in Redis",
		Long: `rptrctl validates and writes PTR records, lists, imports and exports them,
lints the keyspace and checks forward-confirmed reverse DNS. It reads and
writes the keys and values the rptr plugin serves: <prefix>ptr:<ip>, a
string (the host name) or a hash (ptr, ttl, disabled).

Exit codes: 0 done; 1 done, and problems were found (a failed check, a
rejected line, a lint finding); 2 bad arguments; 3 could not work (Redis
unreachable, a file unreadable).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	f := root.PersistentFlags()
	// The environment is read when the flag is not given, not as the
	// flag's default: --help would print a URL's password.
	f.StringVar(&a.redisURL, "redis", "",
		"Redis URL, as in the plugin's redis option (default: $RPTR_REDIS_URL, else "+ptrstore.DefaultURL+")")
	f.StringVar(&a.mode, "mode", "server", "how --redis reaches Redis: server, sentinel or cluster")
	f.StringVar(&a.prefix, "prefix", ptrstore.DefaultPrefix, "key prefix, as in the plugin's prefix option")
	f.StringVar(&a.tlsCA, "tls-ca", "", "CA file that signed Redis's certificate (turns TLS on)")
	f.StringVar(&a.tlsCert, "tls-cert", "", "client certificate file (with --tls-key)")
	f.StringVar(&a.tlsKey, "tls-key", "", "client key file")
	f.StringVar(&a.tlsServerName, "tls-servername", "", "name Redis's certificate must hold, default the URL's host")
	f.DurationVar(&a.timeout, "timeout", 10*time.Second, "how long to wait for Redis to answer the first command, and each batch of import")
	f.BoolVar(&a.json, "json", false, "write JSON, one object per line, for scripts")
	for _, c := range commands {
		root.AddCommand(c(a))
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErrorf("%v", err) })
	return root
}

// run runs rptrctl with args and returns its exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	defer a.close()
	root := newRoot(a)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "rptrctl: %v\n", err)
	var e *exitError
	switch {
	case errors.As(err, &e):
		return e.code
	case isUsage(err):
		return exitUsage
	}
	return exitFailure
}

// isUsage reports whether err is cobra's complaint about an unknown
// command; flag and argument errors are usage errors already.
func isUsage(err error) bool {
	return strings.Contains(err.Error(), "unknown command")
}

// exactArgs and rangeArgs check the number of arguments, as usage errors.
func exactArgs(n int) cobra.PositionalArgs { return rangeArgs(n, n) }

func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || (hi >= 0 && len(args) > hi) {
			return usageErrorf("%s: wrong number of arguments; usage: %s", cmd.Name(), cmd.UseLine())
		}
		return nil
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
