// Command loadgen sends POST /search requests to a `colbert serve` (an
// index or a router) on loopback from a fixed number of concurrent
// clients and prints the error count and the latency percentiles: the Go
// stand-in for `wrk -c N` where wrk is not installed.
//
//	go run ./experiments/loadgen -url http://127.0.0.1:8080 -queries queries.jsonl -clients 32 -requests 2000
//
// Each client sends its next request as soon as the previous one is
// answered (closed loop); queries are taken round-robin from the file. A
// request counts as an error when it fails, answers non-200, or answers a
// router's "partial": true. Only loopback addresses are accepted.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/colbert-go/colbert/data"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "base URL of colbert serve (loopback only)")
	queries := flag.String("queries", "", "queries.jsonl (BEIR)")
	k := flag.Int("k", 10, "k of each request")
	clients := flag.Int("clients", 32, "concurrent clients")
	requests := flag.Int("requests", 2000, "requests in all (after the warm-up)")
	warmup := flag.Int("warmup", 64, "requests sent first and not measured")
	flag.Parse()
	u, err := url.Parse(*base)
	if err != nil {
		log.Fatal(err)
	}
	if ip := net.ParseIP(u.Hostname()); (ip == nil || !ip.IsLoopback()) && u.Hostname() != "localhost" {
		log.Fatalf("loadgen: %s is not a loopback address", u.Hostname())
	}
	qs, err := data.ReadQueriesJSONL(*queries)
	if err != nil || len(qs) == 0 {
		log.Fatalf("loadgen: queries %s: %v (%d queries)", *queries, err, len(qs))
	}
	bodies := make([][]byte, len(qs))
	for i, q := range qs {
		bodies[i], _ = json.Marshal(map[string]any{"query": q.Text, "k": *k})
	}
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *clients, MaxConnsPerHost: *clients}}
	one := func(i int) (time.Duration, string) {
		start := time.Now()
		resp, err := client.Post(*base+"/search", "application/json", bytes.NewReader(bodies[i%len(bodies)]))
		if err != nil {
			return 0, err.Error()
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if err != nil {
			return d, err.Error()
		}
		if resp.StatusCode != 200 {
			return d, fmt.Sprintf("status %d: %.200s", resp.StatusCode, b)
		}
		var r struct{ Partial bool }
		if json.Unmarshal(b, &r) != nil || r.Partial {
			return d, fmt.Sprintf("partial or malformed answer: %.200s", b)
		}
		return d, ""
	}
	run := func(n int) ([]time.Duration, []string, time.Duration) {
		var next atomic.Int64
		lat := make([]time.Duration, n)
		errs := make([]string, n)
		var wg sync.WaitGroup
		start := time.Now()
		for c := 0; c < *clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					lat[i], errs[i] = one(i)
				}
			}()
		}
		wg.Wait()
		return lat, errs, time.Since(start)
	}
	run(*warmup)
	lat, errs, wall := run(*requests)
	nerr := 0
	first := ""
	for _, e := range errs {
		if e != "" {
			if nerr == 0 {
				first = e
			}
			nerr++
		}
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	fmt.Printf("%s: %d requests, %d clients, k %d: %.1f req/s, %d errors; latency ms p50 %.1f, p90 %.1f, p99 %.1f, max %.1f\n",
		*base, *requests, *clients, *k, float64(*requests)/wall.Seconds(), nerr, pct(0.50), pct(0.90), pct(0.99), pct(1))
	if nerr > 0 {
		fmt.Fprintf(os.Stderr, "first error: %s\n", first)
		os.Exit(1)
	}
}
