// Package router fans POST /search out to N `colbert serve` shards over
// HTTP and merges their answers into the global top k:
//
//	POST /search  {"query": "...", "k": 10}  → the shards' hits merged by score
//	POST /search  {"queries": [...], "k": 10} → one merged ranking per query
//	GET  /healthz → every shard's /healthz
//	GET  /metrics → Prometheus text format (requests, shard errors, latency)
//
// Each shard serves its own index over a disjoint slice of the collection
// (`colbert index build --shard i/N`). A shard's scores are exact MaxSim of
// the query against its passages, so the global top k is among the union of
// the shards' top k, and merging by score (ties by passage id, unique across
// shards) gives it exactly. The request body is forwarded as is, so any
// field a shard accepts reaches it; a hit carries the index of the shard it
// came from (its "pid" is that shard's).
//
// A shard that cannot be reached, times out or answers 5xx fails the
// request with 502 naming the shard (PolicyFail), or is left out of a
// result flagged "partial" that names it (PolicyPartial); a 4xx from a
// shard is the client's mistake and is passed back as is. Requests in
// flight are bounded (others wait, then get 503), every shard call has its
// own timeout, and Serve shuts down gracefully when its context ends.
package router

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/colbert-go/colbert/search/server"
)

// Policy is what a request does when a shard fails.
type Policy string

const (
	// PolicyFail answers 502 naming the failed shards.
	PolicyFail Policy = "fail"
	// PolicyPartial answers the merged hits of the shards that answered,
	// flagged "partial" with the failed shards named; 502 if none answered.
	PolicyPartial Policy = "partial"
)

// ParsePolicy accepts "fail" and "partial".
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(strings.ToLower(strings.TrimSpace(s))); p {
	case PolicyFail, PolicyPartial:
		return p, nil
	}
	return "", fmt.Errorf("router: on-shard-error %q: want %s or %s", s, PolicyFail, PolicyPartial)
}

// ParseShards splits a comma-separated list of shard base URLs
// (http://host:port or https://…, an optional path prefix) and checks each.
func ParseShards(list string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimRight(strings.TrimSpace(s), "/")
		if s == "" {
			continue
		}
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("router: shard %q: %w", s, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("router: shard %q: want http://host:port or https://host:port", s)
		}
		if slices.Contains(out, s) {
			return nil, fmt.Errorf("router: shard %s listed twice", s)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, errors.New("router: no shard URLs given")
	}
	return out, nil
}

// Config configures a Router. Shards is required.
type Config struct {
	// Shards are the base URLs of the `colbert serve` shards.
	Shards []string
	// OnShardError is PolicyFail ("" too) or PolicyPartial.
	OnShardError Policy
	// ShardTimeout bounds each shard call (default 5 s); Timeout bounds a
	// whole request, queueing included (default 10 s).
	ShardTimeout, Timeout time.Duration
	// MaxConcurrent routed requests at once (default 4·GOMAXPROCS: a
	// router waits on the network, not the CPU); others queue.
	MaxConcurrent int
	// MaxConnsPerShard bounds the connections to one shard (default
	// MaxConcurrent).
	MaxConnsPerShard int
	// MaxBodyBytes bounds the request body (default 64 KiB, as the server).
	MaxBodyBytes int64
	// Client overrides the HTTP client (tests); its Timeout is not used,
	// ShardTimeout is.
	Client *http.Client
}

// Router is an http.Handler; safe for concurrent use.
type Router struct {
	cfg     Config
	client  *http.Client
	sem     chan struct{}
	mux     *http.ServeMux
	metrics *metrics
}

// New checks the configuration and fills defaults.
func New(cfg Config) (*Router, error) {
	if len(cfg.Shards) == 0 {
		return nil, errors.New("router: no shards")
	}
	for i, s := range cfg.Shards {
		cfg.Shards[i] = strings.TrimRight(s, "/")
	}
	if cfg.OnShardError == "" {
		cfg.OnShardError = PolicyFail
	}
	if _, err := ParsePolicy(string(cfg.OnShardError)); err != nil {
		return nil, err
	}
	if cfg.ShardTimeout <= 0 {
		cfg.ShardTimeout = 5 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = 4 * runtime.GOMAXPROCS(0)
	}
	if cfg.MaxConnsPerShard <= 0 {
		cfg.MaxConnsPerShard = cfg.MaxConcurrent
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 10
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{Transport: &http.Transport{
			Proxy:               nil, // shards are addressed directly
			DialContext:         (&net.Dialer{Timeout: cfg.ShardTimeout, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        cfg.MaxConnsPerShard * len(cfg.Shards),
			MaxIdleConnsPerHost: cfg.MaxConnsPerShard,
			MaxConnsPerHost:     cfg.MaxConnsPerShard,
			IdleConnTimeout:     90 * time.Second,
		}}
	}
	r := &Router{cfg: cfg, client: client, sem: make(chan struct{}, cfg.MaxConcurrent), mux: http.NewServeMux(),
		metrics: newMetrics(len(cfg.Shards))}
	r.mux.HandleFunc("/search", r.handleSearch)
	r.mux.HandleFunc("/healthz", r.handleHealth)
	r.mux.HandleFunc("/metrics", r.metrics.serve)
	return r, nil
}

// Shards returns the shard base URLs.
func (r *Router) Shards() []string { return slices.Clone(r.cfg.Shards) }

// ServeHTTP routes requests, recovering from panics as 500s.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			writeError(rec, http.StatusInternalServerError, fmt.Sprintf("internal error: %v", p), nil)
		}
		r.metrics.observe(req.URL.Path, rec.code, time.Since(start))
	}()
	r.mux.ServeHTTP(rec, req)
}

// Serve answers on ln until ctx ends, then stops accepting, lets in-flight
// requests finish (up to the request timeout) and returns.
func (r *Router) Serve(ctx context.Context, ln net.Listener) error {
	return server.ServeGracefully(ctx, ln, r, r.cfg.Timeout)
}

// Hit is one merged passage: the shard's result and the shard's index in
// Config.Shards (its PID is that shard's internal pid).
type Hit struct {
	server.Result
	Shard int `json:"shard"`
}

// ShardError names a shard that failed a request.
type ShardError struct {
	Shard int    `json:"shard"`
	URL   string `json:"url"`
	Error string `json:"error"`
}

// Response is the body of a routed single-query POST /search: the
// server's response shape with merged hits, the number of shards, each
// shard's index generation (−1 for a shard that failed) and, when a shard
// failed under PolicyPartial, "partial": true and the failed shards.
type Response struct {
	Query        string       `json:"query"`
	K            int          `json:"k"`
	Results      []Hit        `json:"results"`
	TookMS       float64      `json:"took_ms"`
	Shards       int          `json:"shards"`
	Generations  []int        `json:"generations"`
	Partial      bool         `json:"partial,omitempty"`
	FailedShards []ShardError `json:"failed_shards,omitempty"`
	// UnknownIDs are filter_ids no answering shard holds (only when the
	// request said "filter_ids_missing": "ignore", or a shard failed).
	UnknownIDs []string `json:"unknown_ids,omitempty"`
}

// QueryResults are one query's merged ranking in a batch.
type QueryResults struct {
	Query   string `json:"query"`
	Results []Hit  `json:"results"`
}

// BatchResponse is the body of a routed batched POST /search: the merged
// rankings in the order of the request's queries (the server's batch
// shape), with the fields of Response about the shards.
type BatchResponse struct {
	K            int            `json:"k"`
	Results      []QueryResults `json:"results"`
	TookMS       float64        `json:"took_ms"`
	Shards       int            `json:"shards"`
	Generations  []int          `json:"generations"`
	Partial      bool           `json:"partial,omitempty"`
	FailedShards []ShardError   `json:"failed_shards,omitempty"`
	UnknownIDs   []string       `json:"unknown_ids,omitempty"`
}

type errorBody struct {
	Error        string       `json:"error"`
	Code         int          `json:"code"`
	FailedShards []ShardError `json:"failed_shards,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string, failed []ShardError) {
	writeJSON(w, code, errorBody{Error: msg, Code: code, FailedShards: failed})
}

// shardAnswer is one shard's outcome: a response (body), a client error
// to pass back (status 4xx with the shard's body), or a failure.
type shardAnswer struct {
	body       []byte
	clientCode int
	err        error
}

func (r *Router) handleSearch(w http.ResponseWriter, req *http.Request) {
	start := time.Now()
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeError(w, http.StatusMethodNotAllowed, "use POST with a JSON body", nil)
		return
	}
	if ct := req.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json", nil)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", r.cfg.MaxBodyBytes), nil)
			return
		}
		writeError(w, http.StatusBadRequest, "reading the body: "+err.Error(), nil)
		return
	}
	// Malformed JSON is refused here, without a round trip to every
	// shard; the shards check the fields' values.
	var sr server.Request
	if err := json.Unmarshal(body, &sr); err != nil {
		writeError(w, http.StatusBadRequest, "malformed JSON: "+err.Error(), nil)
		return
	}

	ctx, cancel := context.WithTimeout(req.Context(), r.cfg.Timeout)
	defer cancel()
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		writeError(w, http.StatusServiceUnavailable, "router busy: no slot before the timeout", nil)
		return
	}
	defer func() { <-r.sem }()

	batch := sr.Queries != nil // the server's rule: "queries" present, even empty
	if sr.FilterIDs != nil {
		// Each shard holds only its part of the collection: it leaves out
		// the ids it does not hold and names them; an id no shard holds is
		// the client's error, decided after the merge.
		if body, err = withField(body, "filter_ids_missing", server.FilterIDsIgnore); err != nil {
			writeError(w, http.StatusBadRequest, "malformed JSON: "+err.Error(), nil)
			return
		}
	}
	answers := make([]shardAnswer, len(r.cfg.Shards))
	var wg sync.WaitGroup
	for i := range r.cfg.Shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = r.callShard(ctx, i, body)
		}()
	}
	wg.Wait()

	var failed []ShardError
	for _, a := range answers {
		if a.err == nil && a.clientCode != 0 {
			// The request is wrong for every shard alike: the client's error.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(a.clientCode)
			w.Write(a.body)
			return
		}
	}
	// Decode each answer in the shape asked for; one that does not decode
	// is a failed shard.
	single := make([]server.Response, len(answers))
	batched := make([]server.BatchResponse, len(answers))
	gens := make([]int, len(answers))
	for i := range answers {
		a := &answers[i]
		gens[i] = -1
		if a.err != nil {
			continue
		}
		var err error
		if batch {
			if err = json.Unmarshal(a.body, &batched[i]); err == nil && len(batched[i].Results) != len(sr.Queries) {
				err = fmt.Errorf("%d rankings for %d queries", len(batched[i].Results), len(sr.Queries))
			}
			gens[i] = batched[i].Generation
		} else {
			err = json.Unmarshal(a.body, &single[i])
			gens[i] = single[i].Generation
		}
		if err != nil {
			a.err, gens[i] = fmt.Errorf("malformed answer: %w", err), -1
		}
	}
	for i, a := range answers {
		if a.err != nil {
			failed = append(failed, ShardError{Shard: i, URL: r.cfg.Shards[i], Error: a.err.Error()})
			r.metrics.shardError(i)
		}
	}
	if len(failed) > 0 && (r.cfg.OnShardError == PolicyFail || len(failed) == len(answers)) {
		msgs := make([]string, len(failed))
		for j, f := range failed {
			msgs[j] = fmt.Sprintf("shard %d (%s): %s", f.Shard, f.URL, f.Error)
		}
		writeError(w, http.StatusBadGateway, fmt.Sprintf("%d of %d shards failed: %s", len(failed), len(answers), strings.Join(msgs, "; ")), failed)
		return
	}
	var unknown []string // filter ids no answering shard holds
	if sr.FilterIDs != nil {
		sets := make([][]string, 0, len(answers))
		for i, a := range answers {
			if a.err == nil {
				if batch {
					sets = append(sets, batched[i].UnknownIDs)
				} else {
					sets = append(sets, single[i].UnknownIDs)
				}
			}
		}
		unknown = intersectAll(sets)
		if len(unknown) > 0 && len(failed) == 0 && sr.FilterIDsMissing != server.FilterIDsIgnore {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("filter: %d of %d ids name no live passage on any of the %d shards: %q",
				len(unknown), len(sr.FilterIDs), len(answers), unknown[:min(len(unknown), 5)]), nil)
			return
		}
	}
	if len(failed) > 0 {
		r.metrics.partial()
	}
	took := func() float64 { return float64(time.Since(start).Microseconds()) / 1000 }
	if batch {
		resp := BatchResponse{Shards: len(answers), Generations: gens, Partial: len(failed) > 0, FailedShards: failed,
			Results: make([]QueryResults, len(sr.Queries)), UnknownIDs: unknown}
		for q := range sr.Queries {
			lists := make([][]server.Result, len(answers))
			for i, a := range answers {
				if a.err == nil {
					lists[i] = batched[i].Results[q].Results
					resp.K = batched[i].K // the shards agree on k (they got the same body)
					resp.Results[q].Query = batched[i].Results[q].Query
				}
			}
			resp.Results[q].Results = Merge(lists, resp.K)
		}
		resp.TookMS = took()
		writeJSON(w, http.StatusOK, resp)
		return
	}
	resp := Response{Query: sr.Query, Shards: len(answers), Generations: gens, Partial: len(failed) > 0, FailedShards: failed, UnknownIDs: unknown}
	lists := make([][]server.Result, len(answers))
	for i, a := range answers {
		if a.err == nil {
			lists[i] = single[i].Results
			resp.K = single[i].K
			resp.Query = single[i].Query
		}
	}
	resp.Results = Merge(lists, resp.K)
	resp.TookMS = took()
	writeJSON(w, http.StatusOK, resp)
}

// shardFaults are the 4xx statuses that say the shard, not the request, is
// wrong (not a `colbert serve`, overloaded, too slow).
var shardFaults = []int{http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusRequestTimeout, http.StatusTooManyRequests}

// callShard posts body to shard i's /search with the shard timeout.
func (r *Router) callShard(ctx context.Context, i int, body []byte) shardAnswer {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.ShardTimeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.Shards[i]+"/search", bytes.NewReader(body))
	if err != nil {
		return shardAnswer{err: err}
	}
	hr.Header.Set("Content-Type", "application/json")
	res, err := r.client.Do(hr)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return shardAnswer{err: fmt.Errorf("no answer within %s", r.cfg.ShardTimeout)}
		}
		return shardAnswer{err: err}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return shardAnswer{err: fmt.Errorf("reading the answer: %w", err)}
	}
	switch {
	case res.StatusCode == http.StatusOK:
	case res.StatusCode >= 400 && res.StatusCode < 500 && !slices.Contains(shardFaults, res.StatusCode):
		return shardAnswer{clientCode: res.StatusCode, body: b}
	default:
		var e struct{ Error string }
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return shardAnswer{err: fmt.Errorf("status %d: %s", res.StatusCode, e.Error)}
		}
		return shardAnswer{err: fmt.Errorf("status %d", res.StatusCode)}
	}
	return shardAnswer{body: b}
}

// Merge returns the top k of the shards' ranked lists by score, ties by
// passage id, ranked 1…; lists[i] are shard i's results.
func Merge(lists [][]server.Result, k int) []Hit {
	var all []Hit
	for i, l := range lists {
		for _, res := range l {
			all = append(all, Hit{Result: res, Shard: i})
		}
	}
	slices.SortFunc(all, func(a, b Hit) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return cmp.Compare(a.Shard, b.Shard)
	})
	if k >= 0 && len(all) > k {
		all = all[:k]
	}
	for i := range all {
		all[i].Rank = i + 1
	}
	if all == nil {
		all = []Hit{}
	}
	return all
}

// ShardHealth is one shard's /healthz outcome.
type ShardHealth struct {
	Shard int    `json:"shard"`
	URL   string `json:"url"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// handleHealth asks every shard's /healthz: 200 "ok" when all answer, 200
// "degraded" when some do under PolicyPartial, 503 otherwise.
func (r *Router) handleHealth(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		writeError(w, http.StatusMethodNotAllowed, "use GET", nil)
		return
	}
	hs := make([]ShardHealth, len(r.cfg.Shards))
	var wg sync.WaitGroup
	for i, s := range r.cfg.Shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hs[i] = ShardHealth{Shard: i, URL: s, OK: true}
			ctx, cancel := context.WithTimeout(req.Context(), r.cfg.ShardTimeout)
			defer cancel()
			hr, err := http.NewRequestWithContext(ctx, http.MethodGet, s+"/healthz", nil)
			if err == nil {
				var res *http.Response
				if res, err = r.client.Do(hr); err == nil {
					io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", res.StatusCode)
					}
				}
			}
			if err != nil {
				hs[i].OK, hs[i].Error = false, err.Error()
			}
		}()
	}
	wg.Wait()
	up := 0
	for _, h := range hs {
		if h.OK {
			up++
		}
	}
	status, code := "ok", http.StatusOK
	switch {
	case up == len(hs):
	case up > 0 && r.cfg.OnShardError == PolicyPartial:
		status = "degraded"
	default:
		status, code = "down", http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"status": status, "shards": hs})
}

type statusRecorder struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.wroteHeader {
		return
	}
	r.code, r.wroteHeader = code, true
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	return r.ResponseWriter.Write(b)
}

// withField sets a top-level field of a JSON object body to a string.
func withField(body []byte, key, value string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	v, _ := json.Marshal(value)
	m[key] = v
	return json.Marshal(m)
}

// intersectAll is the sorted set of strings present in every list (none
// for no lists).
func intersectAll(lists [][]string) []string {
	if len(lists) == 0 {
		return nil
	}
	count := map[string]int{}
	for _, l := range lists {
		seen := map[string]bool{}
		for _, s := range l {
			if !seen[s] {
				seen[s] = true
				count[s]++
			}
		}
	}
	var out []string
	for s, n := range count {
		if n == len(lists) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}
