package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/search/engine"
)

// errUpdater answers every update with err (the real Updater,
// engine.Live, is exercised end to end by cmd/colbert's
// TestServeWritableCLI; this checks how the server maps its errors).
type errUpdater struct {
	err   error
	calls int
}

func (u *errUpdater) Append(_ context.Context, ps []data.Passage) (*engine.Updated, error) {
	u.calls++
	return nil, u.err
}

func (u *errUpdater) Delete(_ context.Context, ids []string) (*engine.Updated, error) {
	u.calls++
	return nil, u.err
}

// TestPassagesErrors: a read-only server answers 403 to updates; an id
// conflict is 409, another update holding the index is 503 with
// Retry-After, other failures are 500; malformed updates are refused
// before the updater is called.
func TestPassagesErrors(t *testing.T) {
	f := newFixture(t)
	do := func(srv *Server, method, body string) (int, string, http.Header) {
		req := httptest.NewRequest(method, "/passages", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String(), rec.Header()
	}
	add, del := `{"passages": [{"id": "x1", "text": "alpha beta"}]}`, `{"ids": ["x1"]}`
	ro := f.server(t, nil)
	for _, m := range []string{http.MethodPost, http.MethodDelete} {
		if code, body, _ := do(ro, m, del); code != http.StatusForbidden || !strings.Contains(body, "--writable") {
			t.Errorf("read-only %s: %d %s", m, code, body)
		}
	}
	for _, c := range []struct {
		err  error
		code int
	}{
		{fmt.Errorf("%w: \"x1\" already live", engine.ErrIDConflict), http.StatusConflict},
		{fmt.Errorf("index: update idx: %w", engine.ErrUpdating), http.StatusServiceUnavailable},
		{fmt.Errorf("index: disk full"), http.StatusInternalServerError},
	} {
		u := &errUpdater{err: c.err}
		srv := f.server(t, func(cfg *Config) { cfg.Updates = u })
		for _, r := range []struct{ method, body string }{{http.MethodPost, add}, {http.MethodDelete, del}} {
			code, body, h := do(srv, r.method, r.body)
			if code != c.code || !strings.Contains(body, c.err.Error()[:10]) {
				t.Errorf("%s with updater error %q: %d %s, want %d", r.method, c.err, code, body, c.code)
			}
			if c.code == http.StatusServiceUnavailable && h.Get("Retry-After") == "" {
				t.Errorf("%s while the index is being updated: no Retry-After", r.method)
			}
		}
	}
	u := &errUpdater{}
	srv := f.server(t, func(cfg *Config) { cfg.Updates = u; cfg.MaxUpdate = 2 })
	for _, r := range []struct{ method, body, says string }{
		{http.MethodPost, `{"passages": [{"text": "no id"}]}`, `\"passages\"[0]: missing id`},
		{http.MethodPost, `{"passages": []}`, "non-empty"},
		{http.MethodPost, `{"passages": [{"id": 1}, {"id": 2}, {"id": 3}]}`, "more than the 2"},
		{http.MethodPost, `{"passage": []}`, "unknown field"},
		{http.MethodDelete, `{"ids": []}`, "non-empty"},
		{http.MethodDelete, `{"ids": "x1"}`, "malformed JSON"},
		{http.MethodPut, add, "use POST or DELETE"},
	} {
		if code, body, _ := do(srv, r.method, r.body); code/100 != 4 || !strings.Contains(body, r.says) {
			t.Errorf("%s %s: %d %s, want 4xx saying %s", r.method, r.body, code, body, r.says)
		}
	}
	if u.calls != 0 {
		t.Errorf("malformed updates reached the updater %d times", u.calls)
	}
}
