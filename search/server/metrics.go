package server

import (
	"fmt"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// latencyBuckets are the histogram upper bounds in seconds.
var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// metrics counts requests by path and status and keeps a latency histogram
// of /search, exposed in the Prometheus text format.
type metrics struct {
	mu       sync.Mutex
	requests map[[2]string]uint64 // {path, code} → count
	buckets  []uint64             // cumulative counts per latencyBuckets
	count    uint64
	sum      float64
	inflight atomic.Int64
}

func newMetrics() *metrics {
	return &metrics{requests: map[[2]string]uint64{}, buckets: make([]uint64, len(latencyBuckets))}
}

func (m *metrics) observe(path string, code int, d time.Duration) {
	switch path {
	case "/search", "/healthz", "/metrics":
	default:
		path = "other" // bounded label values
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

func (m *metrics) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "use GET")
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintln(w, "# HELP colbert_http_requests_total HTTP requests by path and status code.")
	fmt.Fprintln(w, "# TYPE colbert_http_requests_total counter")
	keys := make([][2]string, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		fmt.Fprintf(w, "colbert_http_requests_total{path=%q,code=%q} %d\n", k[0], k[1], m.requests[k])
	}
	fmt.Fprintln(w, "# HELP colbert_search_duration_seconds Latency of POST /search.")
	fmt.Fprintln(w, "# TYPE colbert_search_duration_seconds histogram")
	for i, ub := range latencyBuckets {
		fmt.Fprintf(w, "colbert_search_duration_seconds_bucket{le=\"%g\"} %d\n", ub, m.buckets[i])
	}
	fmt.Fprintf(w, "colbert_search_duration_seconds_bucket{le=\"+Inf\"} %d\n", m.count)
	fmt.Fprintf(w, "colbert_search_duration_seconds_sum %g\n", m.sum)
	fmt.Fprintf(w, "colbert_search_duration_seconds_count %d\n", m.count)
	fmt.Fprintln(w, "# HELP colbert_search_inflight Searches running now.")
	fmt.Fprintln(w, "# TYPE colbert_search_inflight gauge")
	fmt.Fprintf(w, "colbert_search_inflight %d\n", m.inflight.Load())
}
