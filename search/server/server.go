// Package server serves PLAID search over HTTP with a JSON API:
//
//	POST /search  {"query": "...", "k": 10}  → ranked ids, scores, texts
//	GET  /healthz → {"status": "ok"}
//	GET  /metrics → Prometheus text format (requests, latency histogram)
//
// Concurrency is bounded (requests beyond the limit wait, then get 503),
// every request has a timeout, bad requests get a 4xx JSON error, and Serve
// shuts down gracefully when its context ends. The query encoder is behind
// an interface so that tests can plug in a fake one.
package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/colbert-go/colbert/model/colbert"
	"github.com/colbert-go/colbert/search"
)

// Encoder turns query text into a row-major nq×dim matrix of unit vectors.
// Text without any token is refused with an error wrapping
// colbert.ErrNoTokens (as colbert.Model's is), which the server answers 400.
type Encoder interface {
	EncodeQuery(ctx context.Context, text string) (vecs []float32, dim int, err error)
}

// EncoderFunc adapts a function to Encoder.
type EncoderFunc func(ctx context.Context, text string) ([]float32, int, error)

// EncodeQuery calls f.
func (f EncoderFunc) EncodeQuery(ctx context.Context, text string) ([]float32, int, error) {
	return f(ctx, text)
}

// Config configures a Server. Searcher and Encoder are required.
type Config struct {
	Searcher *search.Searcher
	Encoder  Encoder
	// ID maps a pid to the passage's string id (default: the decimal pid).
	ID func(pid int) string
	// Text returns a passage's text when the collection is known.
	Text func(pid int) (string, bool)
	// Params chooses PLAID settings for k (default search.DefaultParams).
	Params func(k int) search.Params
	// MaxK bounds k (default 1000); MaxQueryBytes bounds the query text
	// (default 4096); MaxBodyBytes bounds the request body (default 64 KiB).
	MaxK                        int
	MaxQueryBytes, MaxBodyBytes int64
	// MaxConcurrent searches at once (default GOMAXPROCS); others queue.
	MaxConcurrent int
	// Timeout per request, queueing included (default 10 s).
	Timeout time.Duration
}

// Server is an http.Handler; safe for concurrent use.
type Server struct {
	cfg     Config
	sem     chan struct{}
	mux     *http.ServeMux
	metrics *metrics
}

// New checks the configuration and fills defaults.
func New(cfg Config) (*Server, error) {
	if cfg.Searcher == nil || cfg.Encoder == nil {
		return nil, errors.New("server: Searcher and Encoder are required")
	}
	if cfg.ID == nil {
		cfg.ID = func(pid int) string { return fmt.Sprint(pid) }
	}
	if cfg.Params == nil {
		cfg.Params = search.DefaultParams
	}
	if cfg.MaxK <= 0 {
		cfg.MaxK = 1000
	}
	if cfg.MaxQueryBytes <= 0 {
		cfg.MaxQueryBytes = 4096
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 10
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = runtime.GOMAXPROCS(0)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	s := &Server{cfg: cfg, sem: make(chan struct{}, cfg.MaxConcurrent), mux: http.NewServeMux(), metrics: newMetrics()}
	s.mux.HandleFunc("/search", s.handleSearch)
	s.mux.HandleFunc("/healthz", s.handleHealth)
	s.mux.HandleFunc("/metrics", s.metrics.serve)
	return s, nil
}

// ServeHTTP routes requests, recovering from panics as 500s.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			writeError(rec, http.StatusInternalServerError, fmt.Sprintf("internal error: %v", p))
		}
		s.metrics.observe(r.URL.Path, rec.code, time.Since(start))
	}()
	s.mux.ServeHTTP(rec, r)
}

// Serve answers on ln until ctx ends, then stops accepting, lets in-flight
// requests finish (up to the request timeout) and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: s.cfg.Timeout, WriteTimeout: 2 * s.cfg.Timeout}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Request is the body of POST /search. Optional fields override the
// defaults for k.
type Request struct {
	Query     string   `json:"query"`
	K         int      `json:"k"`
	NCells    int      `json:"ncells,omitempty"`
	NDocs     int      `json:"ndocs,omitempty"`
	Threshold *float32 `json:"threshold,omitempty"`

	// kSet records that the body named "k", so that an explicit 0 is
	// refused while an absent k takes the default.
	kSet bool
}

// UnmarshalJSON decodes a request strictly (unknown fields are errors) and
// remembers whether "k" was given.
func (r *Request) UnmarshalJSON(b []byte) error {
	type plain Request
	var aux struct {
		plain
		K *int `json:"k"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&aux); err != nil {
		return err
	}
	*r = Request(aux.plain)
	if aux.K != nil {
		r.K, r.kSet = *aux.K, true
	}
	return nil
}

// Result is one ranked passage.
type Result struct {
	Rank  int     `json:"rank"`
	ID    string  `json:"id"`
	PID   int     `json:"pid"`
	Score float32 `json:"score"`
	Text  string  `json:"text,omitempty"`
}

// Response is the body of a successful POST /search.
type Response struct {
	Query   string   `json:"query"`
	K       int      `json:"k"`
	Results []Result `json:"results"`
	TookMS  float64  `json:"took_ms"`
}

type errorBody struct {
	Error string `json:"error"`
	Code  int    `json:"code"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Error: msg, Code: code})
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, http.StatusMethodNotAllowed, "use GET")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeError(w, http.StatusMethodNotAllowed, "use POST with a JSON body")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	var req Request
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", s.cfg.MaxBodyBytes))
			return
		}
		writeError(w, http.StatusBadRequest, "malformed JSON: "+err.Error())
		return
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "malformed JSON: trailing data after the object")
		return
	}
	if strings.TrimSpace(req.Query) == "" {
		writeError(w, http.StatusBadRequest, `"query" must be a non-empty string`)
		return
	}
	if int64(len(req.Query)) > s.cfg.MaxQueryBytes {
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`"query" longer than %d bytes`, s.cfg.MaxQueryBytes))
		return
	}
	if !req.kSet {
		req.K = 10
	}
	if req.K <= 0 || req.K > s.cfg.MaxK {
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`"k" must be in [1, %d], got %d`, s.cfg.MaxK, req.K))
		return
	}
	if req.NCells < 0 || req.NDocs < 0 {
		writeError(w, http.StatusBadRequest, `"ncells" and "ndocs" must be positive`)
		return
	}
	p := s.cfg.Params(req.K)
	p.K = req.K
	if req.NCells > 0 {
		p.NCells = req.NCells
	}
	if req.NDocs > 0 {
		p.NDocs = req.NDocs
	}
	if req.Threshold != nil {
		p.Threshold = new(*req.Threshold) // 0 is a threshold; nil keeps the default
	}

	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
	defer cancel()
	select { // bounded concurrency: wait for a slot until the deadline
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		writeError(w, http.StatusServiceUnavailable, "server busy: no search slot before the timeout")
		return
	}
	s.metrics.inflight.Add(1)

	type outcome struct {
		hits []search.Hit
		err  error
	}
	done := make(chan outcome, 1)
	go func() {
		// The slot is held until the work really ends, even after a timeout
		// answered the client, so the bound on concurrent searches holds. It
		// is released before the result is handed over, so that a client
		// that got its answer never sees its own search counted in flight.
		var o outcome
		func() {
			defer func() {
				s.metrics.inflight.Add(-1)
				<-s.sem
			}()
			vecs, dim, err := s.cfg.Encoder.EncodeQuery(ctx, req.Query)
			if err != nil {
				o.err = err
				return
			}
			o.hits, o.err = s.cfg.Searcher.Search(vecs, dim, p)
		}()
		done <- o
	}()
	var out outcome
	select {
	case out = <-done:
	case <-ctx.Done():
		writeError(w, http.StatusGatewayTimeout, "search timed out")
		return
	}
	if out.err != nil {
		switch {
		case errors.Is(out.err, colbert.ErrNoTokens), errors.Is(out.err, search.ErrEmptyQuery):
			writeError(w, http.StatusBadRequest, `"query" has no tokens: the tokenizer found nothing to encode in it (control characters or spaces only?)`)
		case errors.Is(out.err, search.ErrDimMismatch):
			writeError(w, http.StatusInternalServerError, out.err.Error())
		case errors.Is(out.err, context.DeadlineExceeded):
			writeError(w, http.StatusGatewayTimeout, "search timed out")
		default:
			writeError(w, http.StatusInternalServerError, out.err.Error())
		}
		return
	}
	resp := Response{Query: req.Query, K: req.K, Results: make([]Result, len(out.hits))}
	for i, h := range out.hits {
		res := Result{Rank: i + 1, ID: s.cfg.ID(h.PID), PID: h.PID, Score: h.Score}
		if s.cfg.Text != nil {
			res.Text, _ = s.cfg.Text(h.PID)
		}
		resp.Results[i] = res
	}
	resp.TookMS = float64(time.Since(start).Microseconds()) / 1000
	writeJSON(w, http.StatusOK, resp)
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
