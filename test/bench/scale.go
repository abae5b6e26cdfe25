package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rptr-dns/rptr/reverse"
)

// usedMemory returns Redis's used_memory.
func (e *env) usedMemory() (float64, error) {
	c := e.redis.Client(0)
	defer c.Close()
	info, err := c.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, "used_memory:"); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("no used_memory in INFO")
}

// loadHashes writes n hash records (ptr and ttl) into Redis.
func (e *env) loadHashes(prefix string, n int) error {
	return e.load(prefix, n, func(p redis.Pipeliner, key string, i int) {
		p.HSet(ctx, key, "ptr", storedName(i), "ttl", "3600")
	})
}

func scale(e *env) error {
	big := 10_000_000
	if v := os.Getenv("RPTR_SCALE_RECORDS"); v != "" {
		big, _ = strconv.Atoi(v)
	}
	fmt.Printf("Machine: %s.\n\n", machine())

	// Redis memory per record, string and hash forms.
	c := e.redis.Client(0)
	defer c.Close()
	const sample = 1_000_000
	fmt.Println("| form | records | Redis memory | per record |")
	fmt.Println("| --- | ---: | ---: | ---: |")
	for _, form := range []string{"string", "hash"} {
		c.FlushAll(ctx)
		before, err := e.usedMemory()
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "loading %d %s records\n", sample, form)
		if form == "string" {
			err = e.loadRecords("rptr:", sample)
		} else {
			err = e.loadHashes("rptr:", sample)
		}
		if err != nil {
			return err
		}
		after, _ := e.usedMemory()
		fmt.Printf("| %s (`host-N.example.com.`%s) | %d | %.0f MiB | %.0f bytes |\n", form,
			map[string]string{"string": "", "hash": ", ttl"}[form], sample, (after-before)/(1<<20), (after-before)/sample)
	}

	fmt.Println()
	fmt.Println("| records in Redis | startup to first answer | q/s, cache on | q/s, cache off |")
	fmt.Println("| ---: | ---: | ---: | ---: |")
	for _, n := range []int{1_000, big} {
		c.FlushAll(ctx)
		fmt.Fprintf(os.Stderr, "loading %d records\n", n)
		start := time.Now()
		if err := e.loadRecords("rptr:", n); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "loaded in %v\n", time.Since(start))
		// Queries over 1,000 of the records, the same set at both sizes.
		r := rand.New(rand.NewPCG(5, 6))
		var q []string
		for range 100_000 {
			q = append(q, reverse.AddrName(storedAddr(r.IntN(1_000)))+" PTR")
		}
		file, err := e.writeFile(fmt.Sprintf("scale-%d.txt", n), q)
		if err != nil {
			return err
		}
		var qps [2]float64
		var startup time.Duration
		for i, cache := range []string{"", "cache 0"} {
			t0 := time.Now()
			s, err := e.start(fmt.Sprintf("scale-%d-%d", n, i), fmt.Sprintf(".:{dns} {\n    rptr 10.0.0.0/8 {\n        redis %s\n        %s\n    }\n}\n", e.redis.URL(0), cache))
			if err != nil {
				return err
			}
			if i == 0 {
				startup = time.Since(t0)
			}
			p, err := e.dnsperf(s.Addr, file, *duration, 0, false, 0)
			if err != nil {
				return err
			}
			qps[i] = p.qps
			s.Stop()
		}
		fmt.Printf("| %d | %v | %.0f | %.0f |\n", n, startup.Round(time.Millisecond), qps[0], qps[1])
	}
	return nil
}
