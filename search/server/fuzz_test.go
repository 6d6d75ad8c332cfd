package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// FuzzSearchRequest feeds arbitrary bodies to POST /search: every answer
// must be 200 with results or a 4xx JSON error, never a 5xx or a panic.
func FuzzSearchRequest(f *testing.F) {
	for _, seed := range []string{
		`{"query": "alpha beta", "k": 5}`,
		`{"query": "alpha", "k": 10, "ncells": 2, "ndocs": 64, "threshold": 0.3}`,
		`{"query": ""}`, `{"query": "a", "k": -3}`, `{"query": "a", "k": 99999999999999999999}`,
		`{"query": "!!!"}`, `{"query": null}`, `{}`, `[]`, `{"query": "a"`, "\x00\xff", `{"query": "a", "x": 1}`,
		`{"query": "a", "threshold": "high"}`, `{"query": "a", "threshold": 0}`, `{"query": "a", "threshold": -1e39}`, `{"query": "\ud800"}`, `{"query": "a"} trailing`,
		`{"queries": ["alpha", "beta"], "k": 3}`, `{"queries": []}`, `{"queries": null}`, `{"queries": ["a", ""]}`, `{"queries": ["!!"]}`,
		`{"query": "a", "queries": ["b"]}`, `{"queries": [1]}`, `{"filter": "x"}`,
	} {
		f.Add(seed)
	}
	var once sync.Once
	var srv *Server
	f.Fuzz(func(t *testing.T, body string) {
		once.Do(func() { srv = newFixture(t).server(t, func(c *Config) { c.MaxBodyBytes = 1 << 12 }) })
		req := httptest.NewRequest(http.MethodPost, "/search", strings.NewReader(body))
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		switch {
		case rec.Code == 200:
			var r BatchResponse // a single-query Response decodes into it too
			if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || r.K < 1 || len(r.Results) == 0 {
				t.Fatalf("200 with bad body %q: %v", rec.Body, err)
			}
		case rec.Code >= 400 && rec.Code < 500:
			var e errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code != rec.Code || e.Error == "" {
				t.Fatalf("%d with bad error body %q", rec.Code, rec.Body)
			}
		default:
			t.Fatalf("body %q: status %d %s", body, rec.Code, rec.Body)
		}
	})
}

// FuzzRerankRequest feeds arbitrary bodies to POST /rerank: every answer
// must be 200 with every given passage ranked, or a 4xx JSON error.
func FuzzRerankRequest(f *testing.F) {
	for _, seed := range []string{
		`{"query": "alpha beta", "ids": ["doc1", "doc2"]}`, `{"query": "alpha", "texts": ["alpha", "beta gamma", ""]}`,
		`{"query": "alpha", "ids": ["doc1", "doc1"]}`, `{"query": "alpha", "ids": ["nope"]}`, `{"query": "alpha", "ids": []}`,
		`{"query": "alpha", "ids": ["doc1"], "texts": ["a"]}`, `{"query": "!!", "ids": ["doc3"]}`, `{"query": "a", "ids": null}`,
		`{"query": "a", "ids": ["doc-1", "doc300", "doc299"]}`, `{"ids": ["doc1"]}`, `{"query": "a", "texts": [null]}`, `[]`, `{`,
	} {
		f.Add(seed)
	}
	var once sync.Once
	var srv *Server
	f.Fuzz(func(t *testing.T, body string) {
		once.Do(func() { srv = newFixture(t).server(t, func(c *Config) { c.MaxBodyBytes = 1 << 12; c.MaxRerank = 50 }) })
		req := httptest.NewRequest(http.MethodPost, "/rerank", strings.NewReader(body))
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		switch {
		case rec.Code == 200:
			var in RerankRequest
			var r RerankResponse
			if err := json.Unmarshal([]byte(body), &in); err != nil {
				t.Fatalf("200 for a body that does not decode: %q", body)
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || len(r.Results) != len(in.IDs)+len(in.Texts) {
				t.Fatalf("200 with bad body %q for %q: %v", rec.Body, body, err)
			}
		case rec.Code >= 400 && rec.Code < 500:
			var e errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code != rec.Code || e.Error == "" {
				t.Fatalf("%d with bad error body %q", rec.Code, rec.Body)
			}
		default:
			t.Fatalf("body %q: status %d %s", body, rec.Code, rec.Body)
		}
	})
}
