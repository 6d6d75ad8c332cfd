package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"time"

	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/search/engine"
)

// Updater changes the index a server's Source serves and serves the new
// generation before it returns: Append encodes and adds passages, Delete
// tombstones ids (pids stay stable). An id that collides or is unknown is
// an error wrapping engine.ErrIDConflict, and nothing is changed.
// LiveUpdater is one.
type Updater interface {
	Append(ctx context.Context, passages []data.Passage) (*engine.Updated, error)
	Delete(ctx context.Context, ids []string) (*engine.Updated, error)
}

// LiveUpdater updates the index of an engine.Live, encoding appended
// passages with Options.
type LiveUpdater struct {
	Live    *engine.Live
	Options engine.AppendOptions
}

// Append adds passages through Live.Append.
func (u LiveUpdater) Append(ctx context.Context, passages []data.Passage) (*engine.Updated, error) {
	return u.Live.Append(ctx, passages, u.Options)
}

// Delete tombstones ids through Live.Delete.
func (u LiveUpdater) Delete(ctx context.Context, ids []string) (*engine.Updated, error) {
	return u.Live.Delete(ctx, ids)
}

// AddPassagesRequest is the body of POST /passages: passages as corpus.jsonl
// records ("_id" or "id", "text", optional "title"; other fields are
// metadata that filters can name).
type AddPassagesRequest struct {
	Passages []json.RawMessage `json:"passages"`
}

// DeletePassagesRequest is the body of DELETE /passages.
type DeletePassagesRequest struct {
	IDs []string `json:"ids"`
}

// UpdateResponse is the body of a successful POST or DELETE /passages: the
// passages added or deleted and the generation now served.
type UpdateResponse struct {
	Added      int     `json:"added,omitempty"`
	Deleted    int     `json:"deleted,omitempty"`
	Generation int     `json:"generation"`
	Passages   int     `json:"passages"` // live passages now served
	TookMS     float64 `json:"took_ms"`
}

// handlePassages answers POST /passages (append) and DELETE /passages. An
// update is not bounded by the search timeout (encoding many passages
// takes a while) but ends with the request: a client that goes away
// cancels it, and a cancelled update changes nothing. Updates run one at
// a time; searches keep answering from the generation before until the
// update's generation is served.
func (s *Server) handlePassages(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if s.cfg.Updates == nil {
		writeError(w, http.StatusForbidden, "this server is read-only: start `colbert serve` with --writable to add or delete passages over HTTP")
		return
	}
	var (
		u     *engine.Updated
		err   error
		added []data.Passage
		ids   []string
	)
	if r.Method == http.MethodPost {
		var req AddPassagesRequest
		if !s.decode(w, r, &req) {
			return
		}
		if added, err = s.checkAdd(req); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		u, err = s.cfg.Updates.Append(r.Context(), added)
	} else {
		var req DeletePassagesRequest
		if !s.decode(w, r, &req) {
			return
		}
		if err = s.checkUpdateSize("ids", len(req.IDs)); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		ids = req.IDs
		u, err = s.cfg.Updates.Delete(r.Context(), ids)
	}
	switch {
	case errors.Is(err, engine.ErrIDConflict):
		writeError(w, http.StatusConflict, err.Error())
		return
	case errors.Is(err, engine.ErrUpdating):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusServiceUnavailable, "the update was cancelled and changed nothing: "+err.Error())
		return
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.noteTexts(added, ids)
	out := UpdateResponse{Added: len(added), Deleted: len(ids), Generation: u.Generation, Passages: u.Live, TookMS: millis(time.Since(start))}
	if s.cfg.Logf != nil {
		what := fmt.Sprintf("added %d", len(added))
		if r.Method == http.MethodDelete {
			what = fmt.Sprintf("deleted %d", len(ids))
		}
		s.cfg.Logf("serve: %s /passages %s passages in %s: generation %d, %d passages", r.Method, what,
			time.Since(start).Round(time.Millisecond), u.Generation, u.Live)
	}
	writeJSON(w, http.StatusOK, out)
}

// checkAdd decodes the passages of a POST /passages, naming the first bad one.
func (s *Server) checkAdd(req AddPassagesRequest) ([]data.Passage, error) {
	if err := s.checkUpdateSize("passages", len(req.Passages)); err != nil {
		return nil, err
	}
	ps := make([]data.Passage, len(req.Passages))
	for i, raw := range req.Passages {
		p, err := data.DecodePassage(raw)
		if err != nil {
			return nil, badRequest(`"passages"[%d]: %v`, i, err)
		}
		ps[i] = p
	}
	return ps, nil
}

// checkUpdateSize refuses an empty update and one larger than MaxUpdate.
func (s *Server) checkUpdateSize(field string, n int) error {
	switch {
	case n == 0:
		return badRequest("give a non-empty %q", field)
	case n > s.cfg.MaxUpdate:
		return badRequest("%d %s, more than the %d an update may carry (--max-update)", n, field, s.cfg.MaxUpdate)
	}
	return nil
}

// noteTexts keeps the texts of passages added over HTTP for the hits that
// return them (a collection file given at start does not have them) and
// forgets deleted ones. The map is replaced, never changed in place, so
// readers need no lock; updates are rare and run one at a time.
func (s *Server) noteTexts(added []data.Passage, deleted []string) {
	s.textsMu.Lock()
	defer s.textsMu.Unlock()
	old := s.addedTexts.Load()
	m := map[string]string{}
	if old != nil {
		m = maps.Clone(*old)
	}
	for _, p := range added {
		m[p.ID] = p.Content()
	}
	for _, id := range deleted {
		delete(m, id)
	}
	s.addedTexts.Store(&m)
}

// text is a passage's text: from Config.Text, else as added over HTTP.
func (s *Server) text(id string) string {
	if s.cfg.Text != nil {
		if t, ok := s.cfg.Text(id); ok {
			return t
		}
	}
	if m := s.addedTexts.Load(); m != nil {
		return (*m)[id]
	}
	return ""
}
