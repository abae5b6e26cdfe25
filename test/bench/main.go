// Command bench measures rptr on this machine: throughput and latency side
// by side with stock CoreDNS plugins (throughput), how fast a change made in
// Redis shows in answers (propagation), the cache's memory (memory), and
// startup and query cost with many records (scale). Run it through the
// scripts beside it, which install what it needs.
//
// Every server runs the custom CoreDNS binary built from this repository,
// pinned to one core; dnsperf runs pinned to the other. All traffic stays on
// 127.0.0.1.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rptr-dns/rptr/internal/corednstest"
	"github.com/rptr-dns/rptr/internal/redistest"
)

var (
	duration = flag.Duration("duration", 8*time.Second, "length of one dnsperf run")
	rounds   = flag.Int("rounds", 3, "A/B rounds per comparison")
	records  = flag.Int("records", 100_000, "stored PTR records")
)

func main() {
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: bench [flags] throughput|propagation|memory|scale\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	mode := flag.Arg(0)
	if mode == "" {
		mode = "throughput"
	}
	env, err := newEnv()
	if err != nil {
		fail(err)
	}
	defer env.close()
	switch mode {
	case "throughput":
		err = throughput(env)
	case "propagation":
		err = propagation(env)
	case "memory":
		err = memory(env)
	case "scale":
		err = scale(env)
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

// env is what every mode uses: a work directory, the binary, a Redis, and
// the cores to pin servers and load to.
type env struct {
	dir       string
	binary    string
	redis     *redistest.Server
	serverCPU []string // command prefix pinning a server, or nil
	loadCPU   []string // command prefix pinning the load generator, or nil
	servers   []*corednstest.Server
}

func newEnv() (*env, error) {
	dir, err := os.MkdirTemp("", "rptr-bench")
	if err != nil {
		return nil, err
	}
	e := &env{dir: dir}
	fmt.Fprintln(os.Stderr, "building the custom CoreDNS binary")
	if e.binary, err = corednstest.Build(dir); err != nil {
		return nil, err
	}
	if e.redis, err = redistest.Start(); err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("taskset"); err == nil && runtime.NumCPU() >= 2 {
		e.serverCPU = []string{"taskset", "-c", "0"}
		e.loadCPU = []string{"taskset", "-c", "1"}
		// Redis serves the server's lookups: it shares the server's core.
		e.pinRedis("0")
	}
	return e, nil
}

// pinRedis moves redis-server to core.
func (e *env) pinRedis(core string) {
	exec.Command("taskset", "-pc", core, strconv.Itoa(e.redis.Pid())).Run()
}

func (e *env) close() {
	for _, s := range e.servers {
		s.Stop()
	}
	if e.redis != nil {
		e.redis.Stop()
	}
	os.RemoveAll(e.dir)
}

// start runs a server from corefile ({dns} and the extra ports are filled
// in) pinned to the server core.
func (e *env) start(name, corefile string, extraPorts ...string) (*corednstest.Server, error) {
	dir := filepath.Join(e.dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s, err := corednstest.Launch(dir, e.serverCPU, e.binary, corefile, extraPorts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	e.servers = append(e.servers, s)
	return s, nil
}

// writeFile writes lines into a file of the work directory.
func (e *env) writeFile(name string, lines []string) (string, error) {
	path := filepath.Join(e.dir, name)
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	w := bufio.NewWriter(f)
	for _, l := range lines {
		w.WriteString(l)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return "", err
	}
	return path, f.Close()
}

// perf is what one dnsperf run measured.
type perf struct {
	qps       float64
	avg       time.Duration
	p50, p99  time.Duration // only when latencies were asked for
	completed float64       // percent
	noerror   float64       // percent of responses
}

var (
	qpsRe       = regexp.MustCompile(`Queries per second:\s+([0-9.]+)`)
	avgRe       = regexp.MustCompile(`Average Latency \(s\):\s+([0-9.]+)`)
	completedRe = regexp.MustCompile(`Queries completed:\s+\d+ \(([0-9.]+)%\)`)
	noerrorRe   = regexp.MustCompile(`NOERROR \d+ \(([0-9.]+)%\)`)
)

// dnsperf runs dnsperf against addr with the queries of file. rate > 0
// limits the queries per second; latencies asks for every query's latency
// to compute percentiles. runs > 0 stops after that many passes over the
// file instead of after the duration.
func (e *env) dnsperf(addr, file string, d time.Duration, rate int, latencies bool, runs int) (perf, error) {
	host, port, _ := strings.Cut(addr, ":")
	args := append(append([]string(nil), e.loadCPU...), "dnsperf", "-s", host, "-p", port, "-d", file,
		"-c", "8", "-q", "200", "-t", "2")
	if runs > 0 {
		args = append(args, "-n", strconv.Itoa(runs))
	} else {
		args = append(args, "-l", strconv.Itoa(int(d.Seconds())))
	}
	if rate > 0 {
		args = append(args, "-Q", strconv.Itoa(rate))
	}
	if latencies {
		args = append(args, "-v")
	}
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return perf{}, fmt.Errorf("dnsperf: %v: %s", err, out)
	}
	var p perf
	text := string(out)
	p.qps = matchFloat(qpsRe, text)
	p.avg = time.Duration(matchFloat(avgRe, text) * float64(time.Second))
	p.completed = matchFloat(completedRe, text)
	p.noerror = matchFloat(noerrorRe, text)
	if latencies {
		var lat []time.Duration
		for _, line := range strings.Split(text, "\n") {
			if !strings.HasPrefix(line, "> ") {
				continue
			}
			f := strings.Fields(line)
			if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
				lat = append(lat, time.Duration(v*float64(time.Second)))
			}
		}
		p.p50, p.p99 = percentile(lat, 50), percentile(lat, 99)
	}
	return p, nil
}

func matchFloat(re *regexp.Regexp, text string) float64 {
	m := re.FindStringSubmatch(text)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// percentile returns the p-th percentile of d (nearest rank).
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// machine describes where the numbers were taken.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				_, model, _ = strings.Cut(l, ": ")
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, %s, %s", model, runtime.NumCPU(), runtime.Version(), time.Now().UTC().Format("2006-01-02"))
}

// ctx is the context of the Redis calls of the modes.
var ctx = context.Background()
