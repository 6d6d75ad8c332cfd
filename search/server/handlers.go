package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/model/colbert"
	"github.com/colbert-go/colbert/search"
	"github.com/colbert-go/colbert/search/engine"
)

// Request is the body of POST /search: one query ("query") or a batch
// ("queries"), never both. Optional fields override the PLAID defaults for
// k.
type Request struct {
	Query     string   `json:"query,omitempty"`
	Queries   []string `json:"queries,omitempty"`
	K         int      `json:"k"`
	NCells    int      `json:"ncells,omitempty"`
	NDocs     int      `json:"ndocs,omitempty"`
	Threshold *float32 `json:"threshold,omitempty"`

	// Filter is a SQL condition over the index's metadata columns
	// ("year >= 2020 AND source = 'pubmed'"); FilterIDs a list of passage
	// ids. Only passages satisfying both are searched; a bad filter is 400
	// naming the problem (engine.ErrBadFilter).
	Filter    string   `json:"filter,omitempty"`
	FilterIDs []string `json:"filter_ids,omitempty"`
	// FilterIDsMissing is what an id of filter_ids that the index does not
	// hold does: "error" ("" too) answers 400 naming it; "ignore" leaves
	// it out and lists it in the response's unknown_ids (the router asks
	// each shard so, as a shard holds only its part of the collection).
	FilterIDsMissing string `json:"filter_ids_missing,omitempty"`

	// kSet records that the body named "k", so that an explicit 0 is
	// refused while an absent k takes the default; batch that it named
	// "queries" (an empty list is refused, not taken for a single query).
	kSet, batch bool
}

// UnmarshalJSON decodes a request strictly (unknown fields are errors) and
// remembers whether "k" and "queries" were given.
func (r *Request) UnmarshalJSON(b []byte) error {
	type plain Request
	var aux struct {
		plain
		K       *int      `json:"k"`
		Queries *[]string `json:"queries"`
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
	if aux.Queries != nil {
		r.Queries, r.batch = *aux.Queries, true
	}
	return nil
}

// Result is one ranked passage (a hit).
type Result struct {
	Rank  int     `json:"rank"`
	ID    string  `json:"id"`
	PID   int     `json:"pid"`
	Score float32 `json:"score"`
	Text  string  `json:"text,omitempty"`
}

// Response is the body of a successful single-query POST /search.
// Generation is the index generation that answered.
type Response struct {
	Query      string   `json:"query"`
	K          int      `json:"k"`
	Results    []Result `json:"results"`
	Generation int      `json:"generation"`
	TookMS     float64  `json:"took_ms"`
	// UnknownIDs are filter_ids the index does not hold (only with
	// "filter_ids_missing": "ignore").
	UnknownIDs []string `json:"unknown_ids,omitempty"`
}

// QueryResults are one query's ranking in a batch.
type QueryResults struct {
	Query   string   `json:"query"`
	Results []Result `json:"results"`
}

// BatchResponse is the body of a successful batched POST /search: the
// rankings in the order of the request's queries, all from one index
// generation.
type BatchResponse struct {
	K          int            `json:"k"`
	Results    []QueryResults `json:"results"`
	Generation int            `json:"generation"`
	TookMS     float64        `json:"took_ms"`
	UnknownIDs []string       `json:"unknown_ids,omitempty"`
}

// RerankRequest is the body of POST /rerank: a query and either the ids of
// indexed passages or texts to score.
type RerankRequest struct {
	Query string   `json:"query"`
	IDs   []string `json:"ids,omitempty"`
	Texts []string `json:"texts,omitempty"`
}

// RerankResponse is the body of a successful POST /rerank: every given
// passage, best first. For "texts", a result's id is the text's position
// in the request and its pid is -1.
type RerankResponse struct {
	Query      string   `json:"query"`
	Results    []Result `json:"results"`
	Generation int      `json:"generation"`
	TookMS     float64  `json:"took_ms"`
}

type errorBody struct {
	Error string `json:"error"`
	Code  int    `json:"code"`
}

// httpError is an error answered with its status code.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, a ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, a...)}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Error: msg, Code: code})
}

// decode reads a JSON request body into v strictly; false when it answered
// an error.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", s.cfg.MaxBodyBytes))
			return false
		}
		writeError(w, http.StatusBadRequest, "malformed JSON: "+err.Error())
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "malformed JSON: trailing data after the object")
		return false
	}
	return true
}

// checkQuery refuses an empty or oversized query text; name is how the
// request calls it.
func (s *Server) checkQuery(name, q string) error {
	if strings.TrimSpace(q) == "" {
		return badRequest("%s must be a non-empty string", name)
	}
	if int64(len(q)) > s.cfg.MaxQueryBytes {
		return badRequest("%s longer than %d bytes", name, s.cfg.MaxQueryBytes)
	}
	return nil
}

// run does work on the engine snapshot current when a search slot is free,
// bounded by the request timeout, and answers its result (200) or error.
func (s *Server) run(w http.ResponseWriter, r *http.Request, work func(ctx context.Context, e *engine.Engine) (any, error)) {
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
		v   any
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		// The slot (and the snapshot) is held until the work really ends,
		// even after a timeout answered the client, so the bound on
		// concurrent searches holds and the index is not closed under it.
		// Both are released before the result is handed over, so that a
		// client that got its answer never sees its own search in flight.
		var o outcome
		func() {
			defer func() {
				s.metrics.inflight.Add(-1)
				<-s.sem
			}()
			e, release := s.cfg.Source.Acquire()
			defer release()
			if e == nil {
				o.err = &httpError{http.StatusServiceUnavailable, "the index is closed (the server is shutting down)"}
				return
			}
			o.v, o.err = work(ctx, e)
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
		var he *httpError
		switch {
		case errors.As(out.err, &he):
			writeError(w, he.code, he.msg)
		case errors.Is(out.err, colbert.ErrNoTokens), errors.Is(out.err, search.ErrEmptyQuery):
			writeError(w, http.StatusBadRequest, "a query has no tokens: the tokenizer found nothing to encode in it (control characters or spaces only?): "+out.err.Error())
		case errors.Is(out.err, engine.ErrBadFilter), errors.Is(out.err, engine.ErrUnsupported):
			writeError(w, http.StatusBadRequest, out.err.Error())
		case errors.Is(out.err, context.DeadlineExceeded):
			writeError(w, http.StatusGatewayTimeout, "search timed out")
		default:
			writeError(w, http.StatusInternalServerError, out.err.Error())
		}
		return
	}
	writeJSON(w, http.StatusOK, out.v)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	e, release := s.cfg.Source.Acquire()
	defer release()
	if e == nil {
		writeError(w, http.StatusServiceUnavailable, "the index is closed")
		return
	}
	st := e.Stats()
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "generation": st.Generation, "passages": st.Passages})
}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req Request
	if !s.decode(w, r, &req) {
		return
	}
	if err := s.checkSearch(&req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
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
	texts := req.Queries
	if !req.batch {
		texts = []string{req.Query}
	}
	s.run(w, r, func(ctx context.Context, e *engine.Engine) (any, error) {
		qs := make([]data.Query, len(texts))
		for i, t := range texts {
			qs[i] = data.Query{ID: "query", Text: t}
			if req.batch {
				qs[i].ID = fmt.Sprintf("queries[%d]", i)
			}
		}
		res, err := e.Search(ctx, qs, p, engine.SearchOptions{Threads: 1, Filter: engine.Filter{Where: req.Filter, IDs: req.FilterIDs,
			SkipUnknownIDs: req.FilterIDsMissing == FilterIDsIgnore}})
		if err != nil {
			return nil, err
		}
		for _, q := range res.PerQuery {
			s.metrics.observeStages(q.Trace.Time)
		}
		gen := e.Stats().Generation
		if !req.batch {
			return Response{Query: req.Query, K: req.K, Results: s.results(e, res.PerQuery[0].Hits), Generation: gen,
				TookMS: millis(time.Since(start)), UnknownIDs: res.UnknownIDs}, nil
		}
		out := BatchResponse{K: req.K, Results: make([]QueryResults, len(texts)), Generation: gen, UnknownIDs: res.UnknownIDs}
		for i, t := range texts {
			out.Results[i] = QueryResults{Query: t, Results: s.results(e, res.PerQuery[i].Hits)}
		}
		out.TookMS = millis(time.Since(start))
		return out, nil
	})
}

// Values of Request.FilterIDsMissing.
const (
	FilterIDsError  = "error"
	FilterIDsIgnore = "ignore"
)

// checkSearch validates a search request and fills k's default.
func (s *Server) checkSearch(req *Request) error {
	switch {
	case req.FilterIDsMissing != "" && req.FilterIDsMissing != FilterIDsError && req.FilterIDsMissing != FilterIDsIgnore:
		return badRequest(`"filter_ids_missing" is %q: want %q or %q`, req.FilterIDsMissing, FilterIDsError, FilterIDsIgnore)
	case req.batch && req.Query != "":
		return badRequest(`give "query" or "queries", not both`)
	case req.batch && len(req.Queries) == 0:
		return badRequest(`"queries" must hold at least one query`)
	case req.batch && len(req.Queries) > s.cfg.MaxBatch:
		return badRequest(`"queries" holds %d queries, more than the %d a request may batch`, len(req.Queries), s.cfg.MaxBatch)
	case req.batch:
		for i, q := range req.Queries {
			if err := s.checkQuery(fmt.Sprintf(`"queries"[%d]`, i), q); err != nil {
				return err
			}
		}
	default:
		if err := s.checkQuery(`"query"`, req.Query); err != nil {
			return err
		}
	}
	if !req.kSet {
		req.K = 10
	}
	if req.K <= 0 || req.K > s.cfg.MaxK {
		return badRequest(`"k" must be in [1, %d], got %d`, s.cfg.MaxK, req.K)
	}
	if req.NCells < 0 || req.NDocs < 0 {
		return badRequest(`"ncells" and "ndocs" must be positive`)
	}
	return nil
}

// results turns hits of e into ranked results with ids and texts.
func (s *Server) results(e *engine.Engine, hits []search.Hit) []Result {
	out := make([]Result, len(hits))
	for i, h := range hits {
		out[i] = Result{Rank: i + 1, ID: e.PassageID(h.PID), PID: h.PID, Score: h.Score}
		out[i].Text = s.text(out[i].ID)
	}
	return out
}

// maxNamed bounds the ids an error message lists.
const maxNamed = 10

func (s *Server) handleRerank(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req RerankRequest
	if !s.decode(w, r, &req) {
		return
	}
	if err := s.checkRerank(&req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.run(w, r, func(ctx context.Context, e *engine.Engine) (any, error) {
		out := RerankResponse{Query: req.Query, Generation: e.Stats().Generation}
		if req.Texts != nil {
			hits, err := e.ScoreTexts(ctx, req.Query, req.Texts)
			if err != nil {
				return nil, err
			}
			out.Results = make([]Result, len(hits))
			for i, h := range hits {
				out.Results[i] = Result{Rank: i + 1, ID: strconv.Itoa(h.PID), PID: -1, Score: h.Score, Text: req.Texts[h.PID]}
			}
		} else {
			// Ids are looked up in the snapshot that scores them, so a
			// passage deleted by a reload meanwhile is unknown, not an error.
			pids := make([]int, len(req.IDs))
			var unknown []string
			for i, id := range req.IDs {
				pid, ok := e.PID(id)
				if !ok {
					unknown = append(unknown, strconv.Quote(id))
				}
				pids[i] = pid
			}
			if n := len(unknown); n > 0 {
				more := ""
				if len(unknown) > maxNamed {
					more = fmt.Sprintf(" and %d more", len(unknown)-maxNamed)
					unknown = unknown[:maxNamed]
				}
				return nil, badRequest(`%d of the "ids" are not in the index (or were deleted): %s%s`, n, strings.Join(unknown, ", "), more)
			}
			hits, err := e.Score(ctx, req.Query, pids)
			if err != nil {
				return nil, err
			}
			out.Results = s.results(e, hits)
		}
		out.TookMS = millis(time.Since(start))
		return out, nil
	})
}

// checkRerank validates a rerank request.
func (s *Server) checkRerank(req *RerankRequest) error {
	if err := s.checkQuery(`"query"`, req.Query); err != nil {
		return err
	}
	n := len(req.IDs) + len(req.Texts)
	switch {
	case req.IDs != nil && req.Texts != nil:
		return badRequest(`give "ids" or "texts", not both`)
	case n == 0:
		return badRequest(`give the passages to score: a non-empty "ids" or "texts"`)
	case n > s.cfg.MaxRerank:
		return badRequest("%d passages to score, more than the %d a request may rerank", n, s.cfg.MaxRerank)
	}
	seen := make(map[string]bool, len(req.IDs))
	for _, id := range req.IDs {
		if seen[id] {
			return badRequest(`"ids" lists %q twice`, id)
		}
		seen[id] = true
	}
	return nil
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	gen, passages := -1, -1
	if e, release := s.cfg.Source.Acquire(); e != nil {
		st := e.Stats()
		gen, passages = st.Generation, st.Passages
		release()
	}
	s.metrics.write(w, gen, passages)
	if rc, ok := s.cfg.Source.(ReloadCounter); ok {
		swapped, failed := rc.Reloads()
		fmt.Fprintln(w, "# HELP colbert_index_reloads_total Index generations taken up (ok) and reloads that failed (error).")
		fmt.Fprintln(w, "# TYPE colbert_index_reloads_total counter")
		fmt.Fprintf(w, "colbert_index_reloads_total{result=\"ok\"} %d\n", swapped)
		fmt.Fprintf(w, "colbert_index_reloads_total{result=\"error\"} %d\n", failed)
	}
}

// ReloadCounter is a Source that counts its reloads (engine.Live):
// /metrics then exports colbert_index_reloads_total.
type ReloadCounter interface {
	Reloads() (swapped, failed int64)
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
