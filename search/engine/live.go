package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/colbert-go/colbert/codec/index"
	"github.com/colbert-go/colbert/codec/sparse"
	"github.com/colbert-go/colbert/data"
)

// Live holds the engine a long-running service answers from and lets a new
// generation of the index replace it while requests run. A request
// Acquires the current engine and releases it when it is done, so it
// answers from one generation from start to end; Swap (or Reload) installs
// a new engine at once for the requests that start afterwards, and the
// engine it replaces is closed when its last request releases it. Safe for
// concurrent use.
type Live struct {
	mu     sync.RWMutex
	cur    *held // nil after Close
	reload sync.Mutex
	// swaps and failures count the generations taken up and the reloads
	// that failed (Reloads).
	swaps, failures atomic.Int64
	// closeErr keeps the first error of closing a retired engine.
	closeErr atomic.Pointer[error]
}

// held is an engine with its count of references: one for being current,
// one per request holding it.
type held struct {
	e    *Engine
	refs atomic.Int64
	live *Live
}

func (h *held) release() {
	if h.refs.Add(-1) == 0 {
		if err := h.e.Close(); err != nil {
			err = fmt.Errorf("engine: close generation %d of %s: %w", h.e.stats.Generation, h.e.dir, err)
			h.live.closeErr.CompareAndSwap(nil, &err)
		}
	}
}

// NewLive serves e; Live owns it from now on (closes it once replaced and
// released, or on Close).
func NewLive(e *Engine) *Live {
	l := &Live{}
	l.cur = l.hold(e)
	return l
}

func (l *Live) hold(e *Engine) *held {
	h := &held{e: e, live: l}
	h.refs.Store(1)
	return h
}

// Acquire returns the current engine and the function that releases it;
// the engine stays open until then, even if it is replaced meanwhile.
// Releasing twice is harmless. After Close it returns nil and a no-op.
func (l *Live) Acquire() (*Engine, func()) {
	l.mu.RLock()
	h := l.cur
	if h != nil {
		h.refs.Add(1) // under the read lock: Swap cannot retire h before this
	}
	l.mu.RUnlock()
	if h == nil {
		return nil, func() {}
	}
	var once atomic.Bool
	return h.e, func() {
		if once.CompareAndSwap(false, true) {
			h.release()
		}
	}
}

// Swap makes e the current engine (Live owns it) and retires the previous
// one, which is closed after its last request. After Close, e is closed at
// once.
func (l *Live) Swap(e *Engine) {
	l.mu.Lock()
	old := l.cur
	if old != nil {
		l.cur = l.hold(e)
		l.swaps.Add(1)
	}
	l.mu.Unlock()
	if old == nil {
		e.Close()
		return
	}
	old.release()
}

// Reloaded reports what Reload did.
type Reloaded struct {
	// From and To are the generations before and after; equal when the
	// index had not changed.
	From, To int
	Changed  bool
	// Passages is the number of live passages now served.
	Passages int
}

// reopenTries bounds Reload's attempts when an update commits while the
// index is being opened (its previous files are removed after the commit).
const reopenTries = 3

// Reload opens the index directory of the current engine again if its
// manifest names another generation, and swaps the new engine in. On
// error the current engine stays. Concurrent Reloads run one at a time.
func (l *Live) Reload() (Reloaded, error) {
	l.reload.Lock()
	defer l.reload.Unlock()
	r, err := l.reloadLocked()
	if err != nil {
		l.failures.Add(1)
	}
	return r, err
}

func (l *Live) reloadLocked() (Reloaded, error) {
	cur, release := l.Acquire()
	defer release()
	if cur == nil {
		return Reloaded{}, errors.New("engine: reload after Close")
	}
	r := Reloaded{From: cur.stats.Generation, To: cur.stats.Generation, Passages: cur.stats.Passages}
	if cur.dir == "" {
		return r, errors.New("engine: reload: the engine was not opened from a directory")
	}
	var err error
	for try := 0; try < reopenTries; try++ {
		var gen int
		if gen, err = Generation(cur.dir); err != nil {
			return r, err
		}
		if gen == cur.stats.Generation {
			return r, nil
		}
		var e *Engine
		if e, err = cur.Reopen(); err != nil {
			continue // an update may have replaced the files meanwhile: read the manifest again
		}
		l.Swap(e)
		r.To, r.Changed, r.Passages = e.stats.Generation, true, e.stats.Passages
		return r, nil
	}
	return r, fmt.Errorf("engine: reload %s: %w", cur.dir, err)
}

// Reloads counts the engines swapped in (by Reload or Swap) and the
// Reloads that failed, since NewLive.
func (l *Live) Reloads() (swapped, failed int64) { return l.swaps.Load(), l.failures.Load() }

// Generation reads the generation of the index in dir (residual or
// sparse) from its manifest, without opening the index.
func Generation(dir string) (int, error) {
	f, err := IndexFormat(dir)
	if err != nil {
		return 0, err
	}
	path := filepath.Join(dir, index.ManifestName)
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("engine: %w", err)
	}
	if f == CodecSparse {
		m, err := sparse.ParseManifest(path, b)
		if err != nil {
			return 0, err
		}
		return m.Generation, nil
	}
	m, err := index.ParseManifest(path, b)
	if err != nil {
		return 0, err
	}
	return m.Generation, nil
}

// Close retires the current engine (closed after its last request) and
// makes Acquire return nil. It returns the first error met closing an
// engine that was released before Close.
func (l *Live) Close() error {
	l.mu.Lock()
	old := l.cur
	l.cur = nil
	l.mu.Unlock()
	if old != nil {
		old.release()
	}
	if p := l.closeErr.Load(); p != nil {
		return *p
	}
	return nil
}

// ErrIDConflict is returned by Live.Append for a passage id that is already
// live in the index (or given twice), and by Live.Delete for an id that is
// not live (or given twice): the request names the passages wrongly and
// nothing was changed.
var ErrIDConflict = errors.New("engine: passage id conflict")

// Append encodes passages with the current engine's model, appends them to
// its index directory (engine.Append: a new generation, committed
// atomically) and serves that generation before it returns. Ids are
// checked against the current generation first (ErrIDConflict names the
// first few that collide). Appends, Deletes and Reloads run one at a time;
// requests keep answering from the current generation meanwhile. An
// append that fails or is cancelled changes nothing.
func (l *Live) Append(ctx context.Context, passages []data.Passage, opt AppendOptions) (*Updated, error) {
	return l.update(func(cur *Engine) (*Updated, error) {
		if cur.model == nil {
			return nil, errors.New("engine: append: the engine has no model to encode passages with")
		}
		ids := make([]string, len(passages))
		for i, p := range passages {
			ids[i] = p.ID
		}
		if err := checkIDs(cur, ids, true); err != nil {
			return nil, err
		}
		return Append(ctx, cur.model, cur.dir, passages, opt)
	})
}

// Delete tombstones ids in the current engine's index directory
// (engine.Delete: pids stay stable) and serves the new generation before
// it returns. An id that is not live in the current generation is
// ErrIDConflict and nothing is changed.
func (l *Live) Delete(ctx context.Context, ids []string) (*Updated, error) {
	return l.update(func(cur *Engine) (*Updated, error) {
		if err := checkIDs(cur, ids, false); err != nil {
			return nil, err
		}
		return Delete(ctx, cur.dir, ids)
	})
}

// update runs write on the current engine under the reload lock, then takes
// up the generation it committed.
func (l *Live) update(write func(cur *Engine) (*Updated, error)) (*Updated, error) {
	l.reload.Lock()
	defer l.reload.Unlock()
	cur, release := l.Acquire()
	if cur == nil {
		return nil, errors.New("engine: update after Close")
	}
	if cur.dir == "" {
		release()
		return nil, errors.New("engine: update: the engine was not opened from a directory")
	}
	u, err := write(cur)
	release()
	if err != nil {
		return nil, err
	}
	if _, err := l.reloadLocked(); err != nil {
		l.failures.Add(1)
		return u, fmt.Errorf("engine: generation %d is committed but not served yet (a reload will take it up): %w", u.Generation, err)
	}
	return u, nil
}

// checkIDs refuses ids listed twice and, when adding, ids live in e; when
// deleting, ids not live in e. The error names up to maxConflicts of them.
func checkIDs(e *Engine, ids []string, adding bool) error {
	const maxConflicts = 10
	var bad []string
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		_, live := e.PID(id)
		if seen[id] || live == adding {
			bad = append(bad, strconv.Quote(id))
		}
		seen[id] = true
	}
	if len(bad) == 0 {
		return nil
	}
	what := "not live in the index (unknown or already deleted), or listed twice"
	if adding {
		what = "already live in the index, or listed twice"
	}
	n, more := len(bad), ""
	if n > maxConflicts {
		more = fmt.Sprintf(" and %d more", n-maxConflicts)
		bad = bad[:maxConflicts]
	}
	return fmt.Errorf("%w: %s%s %s (%d of the %d given)", ErrIDConflict, strings.Join(bad, ", "), more, what, n, len(ids))
}
