package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/search/server"
	"github.com/urfave/cli/v2"
)

// TestServeWritableCLI serves a 60-passage index with --writable and
// updates it over HTTP while clients search: POST /passages appends 20
// (served at once: the appended passage's own text ranks it first, with its
// text, and its metadata is filterable), every concurrent search answers
// 200 from generation 0 or 1 with that generation's passages, colliding
// ids are 409 and change nothing, DELETE /passages takes a passage out
// with the other pids stable, and the index on disk has the updates (a
// plain `colbert search` sees them). A server without --writable answers
// 403.
func TestServeWritableCLI(t *testing.T) {
	ck, _, idx, ps := servedIndex(t, 60)
	errw := &syncBuffer{}
	app := &cli.App{Name: "colbert", Writer: &bytes.Buffer{}, ErrWriter: errw, Commands: serveCommands()}

	client := &http.Client{Timeout: 60 * time.Second}
	call := func(base, method, path string, body any, v any) (int, string) {
		t.Helper()
		raw, _ := json.Marshal(body)
		req, err := http.NewRequest(method, base+path, bytes.NewReader(raw))
		must(t, err)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		must(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusOK {
			if v != nil {
				must(t, json.Unmarshal(b, v))
			}
			return resp.StatusCode, string(b)
		}
		var e struct{ Error string }
		if json.Unmarshal(b, &e) != nil {
			return resp.StatusCode, string(b)
		}
		return resp.StatusCode, e.Error
	}

	readOnly, stopRO := startServe(t, app, errw, "--index", idx, "--checkpoint", ck, "--threads", "1")
	for _, m := range []string{http.MethodPost, http.MethodDelete} {
		if code, msg := call(readOnly, m, "/passages", map[string]any{"ids": []string{ps[0].ID}}, nil); code != http.StatusForbidden || !strings.Contains(msg, "--writable") {
			t.Errorf("%s /passages on a read-only server: %d %s", m, code, msg)
		}
	}
	must(t, stopRO())

	errw2 := &syncBuffer{}
	app2 := &cli.App{Name: "colbert", Writer: &bytes.Buffer{}, ErrWriter: errw2, Commands: append(append(indexCommands(), searchCommands()...), serveCommands()...)}
	base, stop := startServe(t, app2, errw2, "--index", idx, "--checkpoint", ck, "--threads", "2", "--writable", "--max-update", "25")

	record := func(p data.Passage, meta map[string]any) map[string]any {
		r := map[string]any{"_id": p.ID, "title": p.Title, "text": p.Text}
		for k, v := range meta {
			r[k] = v
		}
		return r
	}
	var adds []map[string]any
	for i, p := range ps[60:80] {
		adds = append(adds, record(p, map[string]any{"year": 2000 + i}))
	}
	target := ps[70] // year 2010
	query := map[string]any{"query": target.Text, "k": 80, "ncells": 32, "ndocs": 400}

	// Bad updates change nothing.
	for _, bad := range []struct {
		method string
		body   any
		code   int
		says   string
	}{
		{http.MethodPost, map[string]any{"passages": []any{adds[0], record(ps[5], nil)}}, http.StatusConflict, ps[5].ID},
		{http.MethodPost, map[string]any{"passages": []any{adds[0], adds[0]}}, http.StatusConflict, ps[60].ID},
		{http.MethodPost, map[string]any{"passages": []any{adds[0], map[string]any{"text": "no id"}}}, http.StatusBadRequest, `"passages"[1]: missing id`},
		{http.MethodPost, map[string]any{"passages": []any{}}, http.StatusBadRequest, "non-empty"},
		{http.MethodPost, map[string]any{"passages": append(adds, adds...)}, http.StatusBadRequest, "more than the 25"},
		{http.MethodPost, map[string]any{"docs": adds}, http.StatusBadRequest, "unknown field"},
		{http.MethodDelete, map[string]any{"ids": []string{ps[1].ID, "no-such-id"}}, http.StatusConflict, `"no-such-id"`},
	} {
		if code, msg := call(base, bad.method, "/passages", bad.body, nil); code != bad.code || !strings.Contains(msg, bad.says) {
			t.Errorf("%s /passages %.80v: %d %s, want %d naming %s", bad.method, bad.body, code, msg, bad.code, bad.says)
		}
	}
	var h struct{ Generation, Passages int }
	if code, _ := call(base, http.MethodGet, "/healthz", nil, &h); code != http.StatusOK || h.Generation != 0 || h.Passages != 60 {
		t.Fatalf("after refused updates: %d %+v", code, h)
	}

	// Searches run while the append is committed and swapped in.
	stopSearch := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[int]int{}
	var failures []string
	for c := 0; c < 2; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stopSearch:
					return
				default:
				}
				var r server.Response
				code, msg := call(base, http.MethodPost, "/search", query, &r)
				mu.Lock()
				if want := 60 + 20*r.Generation; code != http.StatusOK || r.Generation > 1 || len(r.Results) != want {
					failures = append(failures, msg)
				}
				seen[r.Generation]++
				mu.Unlock()
			}
		}()
	}
	var u server.UpdateResponse
	code, msg := call(base, http.MethodPost, "/passages", map[string]any{"passages": adds}, &u)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := seen[1]
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break // a search answered from generation 1 (or the check below fails)
		}
	}
	close(stopSearch)
	wg.Wait()
	if code != http.StatusOK || u.Added != 20 || u.Generation != 1 || u.Passages != 80 {
		t.Fatalf("POST /passages: %d %s", code, msg)
	}
	if len(failures) > 0 || seen[1] == 0 {
		t.Errorf("searches during the append: by generation %v; failures %v", seen, failures)
	}
	var r server.Response
	if code, msg := call(base, http.MethodPost, "/search", query, &r); code != http.StatusOK || r.Generation != 1 || len(r.Results) != 80 {
		t.Fatalf("after the append: %d %s", code, msg)
	}
	if r.Results[0].ID != target.ID || r.Results[0].PID != 70 || r.Results[0].Text != target.Content() {
		t.Errorf("after the append, its own text ranks %+v first, want %s (pid 70) with its text", r.Results[0], target.ID)
	}
	pidOf := map[string]int{}
	for _, hit := range r.Results {
		pidOf[hit.ID] = hit.PID
	}
	filtered := map[string]any{"query": target.Text, "k": 10, "filter": "year >= 2010 AND year < 2012"}
	if code, msg := call(base, http.MethodPost, "/search", filtered, &r); code != http.StatusOK || len(r.Results) != 2 || r.Results[0].ID != target.ID {
		t.Errorf("filter on the appended passages' metadata: %d %s", code, msg)
	}

	if code, msg := call(base, http.MethodDelete, "/passages", map[string]any{"ids": []string{target.ID}}, &u); code != http.StatusOK || u.Deleted != 1 || u.Generation != 2 || u.Passages != 79 {
		t.Fatalf("DELETE /passages: %d %s", code, msg)
	}
	if code, msg := call(base, http.MethodPost, "/search", query, &r); code != http.StatusOK || r.Generation != 2 || len(r.Results) != 79 {
		t.Fatalf("after the delete: %d %s", code, msg)
	}
	for _, hit := range r.Results {
		if hit.ID == target.ID {
			t.Errorf("deleted passage %s returned", target.ID)
		}
		if pidOf[hit.ID] != hit.PID {
			t.Errorf("passage %s moved from pid %d to %d", hit.ID, pidOf[hit.ID], hit.PID)
		}
	}
	must(t, stop())
	for _, line := range []string{"serve: POST /passages added 20 passages in ", ": generation 1, 80 passages", "serve: DELETE /passages deleted 1 passages in ", ": generation 2, 79 passages"} {
		if !strings.Contains(errw2.String(), line) {
			t.Errorf("the server's log lacks %q:\n%s", line, errw2.String())
		}
	}

	// The updates are on disk, for the next server and every other command.
	var out bytes.Buffer
	app3 := &cli.App{Name: "colbert", Writer: &out, ErrWriter: &bytes.Buffer{}, Commands: indexCommands()}
	must(t, app3.Run([]string{"colbert", "index", "info", idx}))
	if s := out.String(); !strings.Contains(s, "passages    80 (79 live, 1 deleted)") || !strings.Contains(s, "generation 2") {
		t.Errorf("index info after the updates:\n%s", s)
	}
}
