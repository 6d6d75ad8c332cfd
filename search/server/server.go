// Package server serves ColBERT search over HTTP with a JSON API:
//
//	POST /search  {"query": "...", "k": 10}     → ranked passages (ids, pids, scores, texts)
//	POST /search  {"queries": ["...", …], "k": 10} → one ranking per query
//	POST /rerank  {"query": "...", "ids": [...]} (or "texts") → those passages by exact MaxSim
//	POST /passages {"passages": [{"id": …, "text": …}, …]} → appended and served (with Config.Updates)
//	DELETE /passages {"ids": [...]} → deleted (with Config.Updates)
//	GET  /healthz → {"status": "ok", "generation": …}
//	GET  /metrics → Prometheus text format (requests, latency, per-stage histograms)
//	GET  /openapi.json → an OpenAPI 3 description of all of these
//
// Each request answers from the index snapshot current when it starts (a
// Source: engine.Live swaps in a new generation without a restart).
// Concurrency is bounded (requests beyond the limit wait, then get 503),
// every request has a timeout, bad requests get a 4xx JSON error, and Serve
// shuts down gracefully when its context ends.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/colbert-go/colbert/search"
	"github.com/colbert-go/colbert/search/engine"
)

// Source gives each request the engine it answers from: the snapshot of
// the index current when the request starts, kept open until release is
// called. *engine.Live is one (and swaps in a new index generation on
// reload); Static serves one engine that never changes. Acquire returns a
// nil engine once the source is closed.
type Source interface {
	Acquire() (e *engine.Engine, release func())
}

// Static is a Source that always answers with the same engine.
type Static struct{ Engine *engine.Engine }

// Acquire returns the engine and a no-op release.
func (s Static) Acquire() (*engine.Engine, func()) { return s.Engine, func() {} }

// Config configures a Server. Source is required.
type Config struct {
	Source Source
	// Text returns a passage's text by its id, when the collection is
	// known (ids are stable across index generations; pids too).
	Text func(id string) (string, bool)
	// Params chooses PLAID settings for k (default search.DefaultParams).
	Params func(k int) search.Params
	// MaxK bounds k (default 1000); MaxBatch the queries of a batched
	// search (default 32); MaxRerank the ids or texts of a rerank (default
	// 1000); MaxQueryBytes each query text (default 4096); MaxBodyBytes the
	// request body (default 1 MiB).
	MaxK, MaxBatch, MaxRerank   int
	MaxQueryBytes, MaxBodyBytes int64
	// MaxConcurrent requests searching at once (default GOMAXPROCS); others
	// queue. A batched request takes one slot and searches its queries one
	// after another.
	MaxConcurrent int
	// Timeout per request, queueing included (default 10 s); updates are
	// not bounded by it.
	Timeout time.Duration
	// Updates, when set, answers POST and DELETE /passages (otherwise
	// they are 403); MaxUpdate bounds the passages or ids of one update
	// (default 1000).
	Updates   Updater
	MaxUpdate int
	// Logf, when set, hears of each update committed (one line each).
	Logf func(format string, a ...any)
}

// Server is an http.Handler; safe for concurrent use.
type Server struct {
	cfg     Config
	sem     chan struct{}
	mux     *http.ServeMux
	routes  []route
	metrics *metrics
	// addedTexts are the texts of passages added over HTTP (noteTexts).
	addedTexts atomic.Pointer[map[string]string]
	textsMu    sync.Mutex
}

// route is one endpoint the server answers: the mux's pattern and the
// methods it accepts (what /openapi.json describes).
type route struct {
	path    string
	methods []string
}

// New checks the configuration and fills defaults.
func New(cfg Config) (*Server, error) {
	if cfg.Source == nil {
		return nil, errors.New("server: Config.Source is required")
	}
	if cfg.Params == nil {
		cfg.Params = search.DefaultParams
	}
	if cfg.MaxK <= 0 {
		cfg.MaxK = 1000
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 32
	}
	if cfg.MaxRerank <= 0 {
		cfg.MaxRerank = 1000
	}
	if cfg.MaxQueryBytes <= 0 {
		cfg.MaxQueryBytes = 4096
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = runtime.GOMAXPROCS(0)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxUpdate <= 0 {
		cfg.MaxUpdate = 1000
	}
	s := &Server{cfg: cfg, sem: make(chan struct{}, cfg.MaxConcurrent), mux: http.NewServeMux()}
	s.handle("/search", s.handleSearch, http.MethodPost)
	s.handle("/rerank", s.handleRerank, http.MethodPost)
	s.handle("/passages", s.handlePassages, http.MethodPost, http.MethodDelete)
	s.handle("/healthz", s.handleHealth, http.MethodGet, http.MethodHead)
	s.handle("/metrics", s.handleMetrics, http.MethodGet)
	s.handle("/openapi.json", s.handleOpenAPI, http.MethodGet)
	paths := make([]string, len(s.routes))
	for i, r := range s.routes {
		paths[i] = r.path
	}
	s.metrics = newMetrics(paths)
	return s, nil
}

// handle registers h for path, answering 405 to other methods.
func (s *Server) handle(path string, h http.HandlerFunc, methods ...string) {
	s.routes = append(s.routes, route{path: path, methods: methods})
	s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		if !slices.Contains(methods, r.Method) {
			w.Header().Set("Allow", strings.Join(methods, ", "))
			writeError(w, http.StatusMethodNotAllowed, "use "+strings.Join(methods, " or "))
			return
		}
		h(w, r)
	})
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
	return ServeGracefully(ctx, ln, s, s.cfg.Timeout)
}

// ServeGracefully serves h on ln until ctx ends, then stops accepting and
// lets in-flight requests finish for up to timeout (also the read timeout;
// writes get twice that). The search server and the shard router both
// serve through it.
func ServeGracefully(ctx context.Context, ln net.Listener, h http.Handler, timeout time.Duration) error {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: timeout, WriteTimeout: 2 * timeout}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
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
