package router

import (
	"fmt"
	"github.com/colbert-go/colbert/search/server"
	"net/http"
	"sync"
	"time"
)

// latencyBuckets are the histogram upper bounds in seconds (as the server's).
var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// metrics counts routed requests by path and status, shard failures by
// shard and partial answers, and keeps a latency histogram of /search, in
// the Prometheus text format.
type metrics struct {
	mu       sync.Mutex
	requests map[[2]string]uint64
	shardErr []uint64
	partials uint64
	buckets  []uint64
	count    uint64
	sum      float64
}

func newMetrics(shards int) *metrics {
	return &metrics{requests: map[[2]string]uint64{}, shardErr: make([]uint64, shards), buckets: make([]uint64, len(latencyBuckets))}
}

func (m *metrics) observe(path string, code int, d time.Duration) {
	switch path {
	case "/search", "/healthz", "/metrics":
	default:
		path = "other"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[[2]string{path, fmt.Sprint(code)}]++
	if path != "/search" {
		return
	}
	sec := d.Seconds()
	m.count++
	m.sum += sec
	for i, ub := range latencyBuckets {
		if sec <= ub {
			m.buckets[i]++
		}
	}
}

func (m *metrics) shardError(i int) {
	m.mu.Lock()
	m.shardErr[i]++
	m.mu.Unlock()
}

func (m *metrics) partial() {
	m.mu.Lock()
	m.partials++
	m.mu.Unlock()
}

func (m *metrics) serve(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	server.WriteRequestCounts(w, "colbert_router_requests_total", "Routed HTTP requests by path and status code.", m.requests)
	fmt.Fprintln(w, "# HELP colbert_router_shard_errors_total Shard calls that failed (unreachable, timeout, 5xx, malformed answer).")
	fmt.Fprintln(w, "# TYPE colbert_router_shard_errors_total counter")
	for i, n := range m.shardErr {
		fmt.Fprintf(w, "colbert_router_shard_errors_total{shard=\"%d\"} %d\n", i, n)
	}
	fmt.Fprintln(w, "# HELP colbert_router_partial_total Searches answered without every shard (on-shard-error partial).")
	fmt.Fprintln(w, "# TYPE colbert_router_partial_total counter")
	fmt.Fprintf(w, "colbert_router_partial_total %d\n", m.partials)
	fmt.Fprintln(w, "# HELP colbert_router_search_seconds Latency of routed POST /search.")
	fmt.Fprintln(w, "# TYPE colbert_router_search_seconds histogram")
	for i, ub := range latencyBuckets {
		fmt.Fprintf(w, "colbert_router_search_seconds_bucket{le=\"%g\"} %d\n", ub, m.buckets[i])
	}
	fmt.Fprintf(w, "colbert_router_search_seconds_bucket{le=\"+Inf\"} %d\n", m.count)
	fmt.Fprintf(w, "colbert_router_search_seconds_sum %g\n", m.sum)
	fmt.Fprintf(w, "colbert_router_search_seconds_count %d\n", m.count)
}
