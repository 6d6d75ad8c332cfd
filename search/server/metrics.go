package server

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/colbert-go/colbert/search"
)

// latencyBuckets are the upper bounds in seconds of the request latency
// histogram.
var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// stageBuckets are the upper bounds in seconds of the per-stage histograms:
// a stage of a small query takes microseconds.
var stageBuckets = []float64{1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10}

// histogram is a Prometheus histogram: cumulative counts per bucket.
type histogram struct {
	bounds  []float64
	buckets []uint64
	count   uint64
	sum     float64
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, buckets: make([]uint64, len(bounds))}
}

func (h *histogram) observe(sec float64) {
	h.count++
	h.sum += sec
	for i, ub := range h.bounds {
		if sec <= ub {
			h.buckets[i]++
		}
	}
}

// write prints the histogram's series; labels is "" or `name="value",`.
func (h *histogram) write(w io.Writer, name, labels string) {
	for i, ub := range h.bounds {
		fmt.Fprintf(w, "%s_bucket{%sle=\"%g\"} %d\n", name, labels, ub, h.buckets[i])
	}
	fmt.Fprintf(w, "%s_bucket{%sle=\"+Inf\"} %d\n", name, labels, h.count)
	if labels != "" {
		labels = "{" + labels[:len(labels)-1] + "}"
	}
	fmt.Fprintf(w, "%s_sum%s %g\n", name, labels, h.sum)
	fmt.Fprintf(w, "%s_count%s %d\n", name, labels, h.count)
}

// metrics counts requests by path and status, keeps the latency histogram
// of /search and one histogram per query stage (search.StageNames), and
// exposes them in the Prometheus text format.
type metrics struct {
	paths    []string // the server's routes; other paths are counted as "other"
	mu       sync.Mutex
	requests map[[2]string]uint64 // {path, code} → count
	latency  *histogram
	stages   [len(search.StageNames)]*histogram
	inflight atomic.Int64
}

func newMetrics(paths []string) *metrics {
	m := &metrics{paths: paths, requests: map[[2]string]uint64{}, latency: newHistogram(latencyBuckets)}
	for i := range m.stages {
		m.stages[i] = newHistogram(stageBuckets)
	}
	return m
}

func (m *metrics) observe(path string, code int, d time.Duration) {
	if !slices.Contains(m.paths, path) {
		path = "other" // bounded label values
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[[2]string{path, fmt.Sprint(code)}]++
	if path == "/search" {
		m.latency.observe(d.Seconds())
	}
}

// observeStages records one query's stage times.
func (m *metrics) observeStages(t search.StageTimes) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := 0
	t.Each(func(_ string, d time.Duration) {
		m.stages[i].observe(d.Seconds())
		i++
	})
}

// write answers GET /metrics; generation and passages describe the index
// served now (-1 when it is closed).
func (m *metrics) write(w http.ResponseWriter, generation, passages int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	WriteRequestCounts(w, "colbert_http_requests_total", "HTTP requests by path and status code.", m.requests)
	fmt.Fprintln(w, "# HELP colbert_search_duration_seconds Latency of POST /search (a batched request counts once).")
	fmt.Fprintln(w, "# TYPE colbert_search_duration_seconds histogram")
	m.latency.write(w, "colbert_search_duration_seconds", "")
	fmt.Fprintln(w, "# HELP colbert_search_stage_seconds Time of each stage of a query: encode, candidates (centroid scores and IVF lists), pruned_interaction, full_interaction, decompress, maxsim.")
	fmt.Fprintln(w, "# TYPE colbert_search_stage_seconds histogram")
	for i, h := range m.stages {
		h.write(w, "colbert_search_stage_seconds", fmt.Sprintf("stage=%q,", search.StageNames[i]))
	}
	fmt.Fprintln(w, "# HELP colbert_search_inflight Searches running now.")
	fmt.Fprintln(w, "# TYPE colbert_search_inflight gauge")
	fmt.Fprintf(w, "colbert_search_inflight %d\n", m.inflight.Load())
	fmt.Fprintln(w, "# HELP colbert_index_generation Generation of the index served now (-1: closed).")
	fmt.Fprintln(w, "# TYPE colbert_index_generation gauge")
	fmt.Fprintf(w, "colbert_index_generation %d\n", generation)
	fmt.Fprintln(w, "# HELP colbert_index_passages Live passages of the index served now.")
	fmt.Fprintln(w, "# TYPE colbert_index_passages gauge")
	fmt.Fprintf(w, "colbert_index_passages %d\n", passages)
}

// WriteRequestCounts writes a Prometheus counter of requests by {path,
// code}, sorted, in the text format (the server's and the router's).
func WriteRequestCounts(w io.Writer, name, help string, counts map[[2]string]uint64) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", name, help, name)
	keys := make([][2]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		fmt.Fprintf(w, "%s{path=%q,code=%q} %d\n", name, k[0], k[1], counts[k])
	}
}
