package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/model/colbert"
	"github.com/colbert-go/colbert/search"
	"github.com/colbert-go/colbert/search/engine"
	"github.com/colbert-go/colbert/search/internal/searchtest"
)

const dim = 64

// wordEncoder maps each word of the text to a word vector of the synthetic
// collection (by hash), like a bag-of-words ColBERT; a query without
// letters has no tokens and is refused with colbert.ErrNoTokens naming the
// query, as the real query encoder (colbert.Model.EncodeQueries, behind
// `colbert serve`) refuses it, not answered with an empty matrix.
type wordEncoder struct {
	words []float32
	delay time.Duration
	block chan struct{} // when set, encoding waits for it, ignoring ctx
	// entered, when set, hears of each query batch as its encoding starts, so
	// a test knows a request is in flight without guessing with a sleep.
	entered chan struct{}
}

func (e *wordEncoder) Dim() int { return dim }

func (e *wordEncoder) encode(text string) []float32 {
	nw := len(e.words) / dim
	var out []float32
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) }) {
		h := fnv.New32a()
		h.Write([]byte(w))
		i := int(h.Sum32() % uint32(nw))
		out = append(out, e.words[i*dim:(i+1)*dim]...)
	}
	return out
}

func (e *wordEncoder) EncodeQueries(ctx context.Context, qs []data.Query) ([][]float32, error) {
	if e.entered != nil {
		select {
		case e.entered <- struct{}{}:
		default:
		}
	}
	if e.block != nil {
		<-e.block
	}
	if e.delay > 0 {
		time.Sleep(e.delay)
	}
	out := make([][]float32, len(qs))
	for i, q := range qs {
		if out[i] = e.encode(q.Text); len(out[i]) == 0 {
			return nil, fmt.Errorf("colbert: query %q (%q): %w", q.ID, q.Text, colbert.ErrNoTokens)
		}
	}
	return out, nil
}

// EncodePassages encodes texts word by word; a text without words has no
// vectors (the real encoder keeps its [CLS] and [D] markers; nothing here
// depends on that).
func (e *wordEncoder) EncodePassages(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = e.encode(t)
	}
	return out, nil
}

// query encodes one query text as the engine does.
func (e *wordEncoder) query(t testing.TB, text string) []float32 {
	qv, err := e.EncodeQueries(context.Background(), []data.Query{{ID: "q", Text: text}})
	if err != nil {
		t.Fatal(err)
	}
	return qv[0]
}

type fixture struct {
	idx *searchtest.Index
	s   *search.Searcher
	enc *wordEncoder
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	coll := searchtest.Synthesize(searchtest.SynthOptions{Passages: 300, Dim: dim, Topics: 6, WordsPerTopic: 10, MinLen: 5, MaxLen: 40, TopicsPerPassage: 2, Seed: 2})
	idx, err := searchtest.Build(context.Background(), coll.Vecs, coll.Doclens, dim, searchtest.Options{K: 32, Seed: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := search.NewSearcher(idx)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{idx: idx, s: s, enc: &wordEncoder{words: coll.Words}}
}

// engine assembles an engine over the fixture's index with enc (nil: the
// fixture's encoder), passage ids "doc<pid>".
func (f *fixture) engine(t testing.TB, enc engine.Encoder, parts func(*engine.Parts)) *engine.Engine {
	t.Helper()
	if enc == nil {
		enc = f.enc
	}
	p := engine.Parts{Encoder: enc, Store: f.idx, ID: func(pid int) string { return fmt.Sprintf("doc%d", pid) }}
	if parts != nil {
		parts(&p)
	}
	e, err := engine.New(p)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (f *fixture) server(t testing.TB, mod func(*Config)) *Server {
	cfg := Config{
		Source: Static{f.engine(t, nil, nil)},
		Text:   func(id string) (string, bool) { return "text of " + id, true },
	}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// withEncoder serves the fixture's index with another encoder.
func (f *fixture) withEncoder(t testing.TB, enc engine.Encoder) func(*Config) {
	return func(c *Config) { c.Source = Static{f.engine(t, enc, nil)} }
}

func post(t testing.TB, h http.Handler, body string) (int, []byte) {
	req := httptest.NewRequest(http.MethodPost, "/search", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func TestSearchMatchesSearcher(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, nil)
	code, body := post(t, srv, `{"query": "alpha beta gamma delta", "k": 5}`)
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	var resp Response
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	want, _ := f.s.Search(f.enc.query(t, "alpha beta gamma delta"), dim, search.DefaultParams(5))
	if len(resp.Results) != len(want) || len(want) != 5 {
		t.Fatalf("%d results, want %d", len(resp.Results), len(want))
	}
	for i, r := range resp.Results {
		if r.Rank != i+1 || r.PID != want[i].PID || r.Score != want[i].Score || r.ID != fmt.Sprintf("doc%d", r.PID) || r.Text != "text of "+r.ID {
			t.Errorf("result %d = %+v, want %+v", i, r, want[i])
		}
	}
	// k defaults to 10
	code, body = post(t, srv, `{"query": "alpha"}`)
	json.Unmarshal(body, &resp)
	if code != 200 || resp.K != 10 || len(resp.Results) != 10 {
		t.Errorf("default k: %d %s", code, body)
	}
}

func TestBadRequests(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, func(c *Config) { c.MaxBodyBytes = 200; c.MaxK = 100 })
	cases := []struct {
		name, body string
		code       int
	}{
		{"malformed", `{"query": "a"`, 400},
		{"not an object", `[1,2]`, 400},
		{"unknown field", `{"query": "a", "kk": 3}`, 400},
		{"trailing data", `{"query": "a"} {}`, 400},
		{"empty query", `{"query": "  ", "k": 3}`, 400},
		{"missing query", `{"k": 3}`, 400},
		{"no tokens", `{"query": "!!! ???"}`, 400},
		{"control characters only", `{"query": "\u0007\u0007"}`, 400},
		{"negative k", `{"query": "a", "k": -1}`, 400},
		{"huge k", `{"query": "a", "k": 1000000}`, 400},
		{"negative ncells", `{"query": "a", "ncells": -2}`, 400},
		{"wrong type", `{"query": 5}`, 400},
		{"oversized body", `{"query": "` + strings.Repeat("a ", 200) + `"}`, 413},
	}
	for _, c := range cases {
		code, body := post(t, srv, c.body)
		var e errorBody
		if code != c.code || json.Unmarshal(body, &e) != nil || e.Code != c.code || e.Error == "" {
			t.Errorf("%s: status %d body %s, want %d with a JSON error", c.name, code, body, c.code)
		}
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/search", nil))
	if rec.Code != 405 {
		t.Errorf("GET /search: %d", rec.Code)
	}
	req := httptest.NewRequest(http.MethodPost, "/search", strings.NewReader(`{"query":"a"}`))
	req.Header.Set("Content-Type", "text/plain")
	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code != 415 {
		t.Errorf("text/plain body: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/nope", nil))
	if rec.Code != 404 {
		t.Errorf("unknown path: %d", rec.Code)
	}
	// the server still answers after all that
	if code, body := post(t, srv, `{"query": "alpha"}`); code != 200 {
		t.Errorf("after bad requests: %d %s", code, body)
	}
}

// TestQueryWithoutTokensIs400: a query the encoder finds no token in (control
// characters, punctuation) is the client's mistake, answered 400 with a
// message saying so, not a 500.
func TestQueryWithoutTokensIs400(t *testing.T) {
	srv := newFixture(t).server(t, nil)
	for _, body := range []string{`{"query": "\u0007\u0007"}`, `{"query": "!!! ???", "k": 3}`} {
		code, b := post(t, srv, body)
		var e errorBody
		if err := json.Unmarshal(b, &e); err != nil || code != http.StatusBadRequest || e.Code != code || !strings.Contains(e.Error, "no tokens") {
			t.Errorf("%s: status %d body %s, want 400 saying the query has no tokens", body, code, b)
		}
	}
}

func TestHealthAndMetrics(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, nil)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"ok"`) {
		t.Errorf("healthz: %d %s", rec.Code, rec.Body)
	}
	post(t, srv, `{"query": "alpha"}`)
	post(t, srv, `{"query": "alpha"}`)
	post(t, srv, `{"query": ""}`)
	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	m := rec.Body.String()
	for _, want := range []string{
		`colbert_http_requests_total{path="/search",code="200"} 2`,
		`colbert_http_requests_total{path="/search",code="400"} 1`,
		`colbert_http_requests_total{path="/healthz",code="200"} 1`,
		`colbert_search_duration_seconds_count 3`,
		`colbert_search_duration_seconds_bucket{le="+Inf"} 3`,
		`colbert_search_inflight 0`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q:\n%s", want, m)
		}
	}
}

func TestConcurrentClients(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, func(c *Config) { c.MaxConcurrent = 4 })
	ts := httptest.NewServer(srv)
	defer ts.Close()
	queries := []string{"alpha beta", "gamma", "delta epsilon zeta", "eta theta"}
	want := map[string][]int{}
	for _, q := range queries {
		hits, _ := f.s.Search(f.enc.query(t, q), dim, search.DefaultParams(10))
		for _, h := range hits {
			want[q] = append(want[q], h.PID)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 32*8)
	for c := 0; c < 32; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; i < 8; i++ {
				q := queries[(c+i)%len(queries)]
				resp, err := http.Post(ts.URL+"/search", "application/json", strings.NewReader(fmt.Sprintf(`{"query": %q}`, q)))
				if err != nil {
					errs <- err
					return
				}
				var r Response
				err = json.NewDecoder(resp.Body).Decode(&r)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 {
					errs <- fmt.Errorf("status %d: %v", resp.StatusCode, err)
					continue
				}
				var got []int
				for _, x := range r.Results {
					got = append(got, x.PID)
				}
				if !slices.Equal(got, want[q]) {
					errs <- fmt.Errorf("query %q: %v want %v", q, got, want[q])
				}
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestTimeoutAndBusy(t *testing.T) {
	f := newFixture(t)
	slow := &wordEncoder{words: f.enc.words, delay: 300 * time.Millisecond}
	srv := f.server(t, func(c *Config) { f.withEncoder(t, slow)(c); c.Timeout = 50 * time.Millisecond })
	if code, body := post(t, srv, `{"query": "alpha"}`); code != 504 {
		t.Errorf("slow search: %d %s", code, body)
	}
	blocked := &wordEncoder{words: f.enc.words, block: make(chan struct{}), entered: make(chan struct{}, 1)}
	srv = f.server(t, func(c *Config) { f.withEncoder(t, blocked)(c); c.MaxConcurrent = 1; c.Timeout = time.Second })
	first := make(chan int)
	go func() {
		code, _ := post(t, srv, `{"query": "alpha"}`)
		first <- code
	}()
	<-blocked.entered // the first request holds the only slot until its timeout
	if code, body := post(t, srv, `{"query": "beta"}`); code != 503 {
		t.Errorf("second request while busy: %d %s", code, body)
	}
	if code := <-first; code != 504 {
		t.Errorf("blocked request: %d", code)
	}
	close(blocked.block)
}

func TestGracefulShutdown(t *testing.T) {
	f := newFixture(t)
	slow := &wordEncoder{words: f.enc.words, delay: 200 * time.Millisecond, entered: make(chan struct{}, 1)}
	srv := f.server(t, f.withEncoder(t, slow))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String() + "/search"
	got := make(chan int, 1)
	go func() {
		resp, err := http.Post(url, "application/json", strings.NewReader(`{"query":"alpha"}`))
		if err != nil {
			got <- -1
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	<-slow.entered // request in flight
	cancel()
	if code := <-got; code != 200 {
		t.Errorf("in-flight request during shutdown: %d", code)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := http.Post(url, "application/json", strings.NewReader(`{"query":"alpha"}`)); err == nil {
		t.Error("server still accepting after shutdown")
	}
}

// BenchmarkServerLoad drives the server over loopback with 1, 8 and 32
// concurrent clients and reports throughput and p50/p99 latency; any
// non-200 answer fails the benchmark.
func BenchmarkServerLoad(b *testing.B) {
	f := newFixture(b)
	srv := f.server(b, nil)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	for _, clients := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			tr := &http.Transport{MaxIdleConnsPerHost: clients}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			const perClient = 50
			lat := make([][]time.Duration, clients)
			var failed sync.Map
			for b.Loop() {
				var wg sync.WaitGroup
				for c := 0; c < clients; c++ {
					wg.Add(1)
					go func(c int) {
						defer wg.Done()
						for i := 0; i < perClient; i++ {
							body := fmt.Sprintf(`{"query": "w%d x%d y%d", "k": 10}`, c, i, i*c)
							t0 := time.Now()
							resp, err := client.Post(ts.URL+"/search", "application/json", bytes.NewReader([]byte(body)))
							if err != nil {
								failed.Store(c, err)
								return
							}
							io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
							if resp.StatusCode != 200 {
								failed.Store(c, resp.StatusCode)
							}
							lat[c] = append(lat[c], time.Since(t0))
						}
					}(c)
				}
				wg.Wait()
			}
			failed.Range(func(k, v any) bool { b.Fatalf("client %v: %v", k, v); return false })
			var all []time.Duration
			for _, l := range lat {
				all = append(all, l...)
			}
			sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
			b.ReportMetric(float64(len(all))/b.Elapsed().Seconds(), "req/s")
			b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
